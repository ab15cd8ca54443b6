// Small helps for the console; every page works without them.
(function () {
  "use strict";

  // Confirm before irreversible actions (cancel, close, submit) — but an empty required field
  // (the cancel reason) is said at once, without a dialog. The server checks again.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      form.querySelectorAll("small.error.client").forEach(function (note) { note.remove(); });
      var empty = Array.prototype.filter.call(form.querySelectorAll("[required]"), function (input) {
        return !input.value.trim();
      });
      if (empty.length) {
        event.preventDefault();
        empty.forEach(function (input) {
          var note = document.createElement("small");
          note.className = "error client";
          note.textContent = "必填 (required)";
          input.setAttribute("aria-invalid", "true");
          input.insertAdjacentElement("afterend", note);
        });
        empty[0].focus();
        return;
      }
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // A link to an action further down the page (闭环条件 → 原因与责任认定) opens it.
  document.querySelectorAll("[data-open-details]").forEach(function (link) {
    link.addEventListener("click", function () {
      var target = document.getElementById(link.dataset.openDetails);
      if (target) target.open = true;
    });
  });

  // Declare: show the proposed grade as the scope is typed (the server computes it).
  var declare = document.querySelector("form[data-grade-preview]");
  if (declare) {
    var services = declare.querySelector("[name=services]");
    var regions = declare.querySelector("[name=regions]");
    var box = document.getElementById("grade-proposal");
    var labels = {1: "一级故障", 2: "二级故障", 3: "三级故障"};
    var timer = null;
    var refresh = function () {
      var url = declare.dataset.gradePreview + "?services=" + encodeURIComponent(services.value) +
        "&regions=" + encodeURIComponent(regions.value);
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          box.textContent = "";
          var label = document.createElement("span");
          label.className = "proposal-label";
          label.textContent = "建议定级";
          box.appendChild(label);
          if (data.proposed_level) {
            var badge = document.createElement("span");
            badge.className = "badge level level-" + data.proposed_level;
            badge.textContent = labels[data.proposed_level];
            box.appendChild(badge);
          }
          var hint = document.createElement("span");
          hint.className = "hint";
          hint.textContent = data.proposed_level
            ? "受影响用户约 " + Number(data.affected_subscribers).toLocaleString("zh-CN") + " 户"
            : data.label;
          box.appendChild(hint);
        })
        .catch(function () { /* the preview button still works */ });
    };
    [services, regions].forEach(function (input) {
      input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 350); });
    });
  }

  // Responsibility: sub-causes of the chosen category only, default party, running share total.
  document.querySelectorAll("form.responsibility-form").forEach(function (form) {
    var total = form.querySelector("[data-total]");
    var sum = function () {
      var value = 0, any = false;
      form.querySelectorAll(".cause-share").forEach(function (input) {
        if (input.value !== "") { value += parseInt(input.value, 10) || 0; any = true; }
      });
      total.textContent = any ? value + "%" : "—";
      total.classList.toggle("bad", any && value !== 100);
      total.classList.toggle("good", value === 100);
    };
    var parties = JSON.parse(form.dataset.defaultParties || "{}");
    form.querySelectorAll("tbody tr").forEach(function (row) {
      var category = row.querySelector(".cause-category");
      var sub = row.querySelector(".cause-sub");
      var party = row.querySelector(".cause-party");
      if (!category || !sub) return;
      var apply = function () {
        sub.querySelectorAll("optgroup").forEach(function (group) {
          var match = !category.value || group.dataset.category === category.value;
          group.hidden = !match;
          group.disabled = !match;
        });
        var chosen = sub.selectedOptions[0];
        if (chosen && chosen.parentElement.tagName === "OPTGROUP" && chosen.parentElement.disabled) sub.value = "";
        if (party) party.placeholder = parties[category.value] || "按原因类别默认";
      };
      category.addEventListener("change", apply);
      sub.addEventListener("change", function () {
        var group = sub.selectedOptions[0] && sub.selectedOptions[0].parentElement;
        if (group && group.dataset.category && !category.value) { category.value = group.dataset.category; apply(); }
      });
      apply();
    });
    form.addEventListener("input", sum);
    sum();
  });

  // Progress update: the SMS text and segment count, refreshed by the server as the message is typed.
  document.querySelectorAll("[data-sms-preview]").forEach(function (box) {
    var form = box.closest("form");
    var message = form && form.querySelector("textarea[name$=message]");
    var token = form && form.querySelector("input[name$=csrf_token]");
    if (!message || !token) return;
    var timer = null;
    var show = function (name, value) {
      var el = box.querySelector("[data-sms-" + name + "]");
      if (el) el.textContent = value;
    };
    var refresh = function () {
      var body = new URLSearchParams();
      body.set("message", message.value);
      fetch(box.dataset.smsPreview, {
        method: "POST", credentials: "same-origin", body: body,
        headers: {"Accept": "application/json", "X-CSRFToken": token.value}
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          show("text", data.text);
          show("segments", data.segments);
          show("characters", data.characters);
          show("encoding", data.encoding);
          show("per-segment", data.per_segment);
        })
        .catch(function () { /* the preview stays as last shown */ });
    };
    message.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 300); });
  });
})();
