// The live console: countdowns that tick every second, regions that refresh when someone else
// changes something (short polling of /live/changes with If-None-Match: nearly always a 304),
// and a banner (optional sound and desktop notification) for a new level-1 or major incident
// or a breached deadline. Every page still works without it.
(function () {
  "use strict";
  var body = document.body;

  // --- countdowns ------------------------------------------------------------------------
  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function durationText(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var days = Math.floor(s / 86400), hours = Math.floor(s % 86400 / 3600);
    var minutes = Math.floor(s % 3600 / 60), secs = s % 60;
    if (days) return days + "天" + hours + "小时";
    if (hours) return hours + "小时" + pad(minutes) + "分";
    return minutes + "分" + pad(secs) + "秒";
  }

  // <… data-due="ISO"> shows "剩余 …" until the due time, then "<data-overdue-text> …" and the
  // closest [data-overdue-scope] turns red at once (the server's judge follows within seconds).
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var left = (Date.parse(el.dataset.due) - now) / 1000;
      var overdue = left <= 0;
      el.textContent = overdue ? (el.dataset.overdueText || "已逾期") + " " + durationText(-left)
                               : "剩余 " + durationText(left);
      var scope = el.closest("[data-overdue-scope]") || el;
      scope.classList.toggle("overdue", overdue);
    });
    document.querySelectorAll("[data-late-since]").forEach(function (el) {
      el.textContent = (el.dataset.lateLabel || "") + " 已超时 " + durationText((now - Date.parse(el.dataset.lateSince)) / 1000);
    });
  }
  tick();
  setInterval(tick, 1000);

  // --- live regions ----------------------------------------------------------------------
  var pollUrl = body.dataset.liveUrl;
  if (!pollUrl) return;
  var interval = parseInt(body.dataset.liveInterval, 10) || 2000;
  var incidentId = body.dataset.liveIncident || "";
  var cursor = body.dataset.liveCursor || "";
  var etag = null, seen = null, refreshing = false;

  function busy(region) {
    // Never replace what the person is typing into.
    var active = document.activeElement;
    if (active && region.contains(active) && /INPUT|TEXTAREA|SELECT/.test(active.tagName)) return true;
    return region.querySelector("details[open] form") !== null;
  }

  function refreshRegions(names) {
    if (refreshing) return;
    refreshing = true;
    fetch(window.location.href, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (region) {
          if (names.indexOf(region.dataset.liveRegion.split(":")[0]) < 0) return;
          var replacement = fresh.querySelector('[data-live-region="' + region.dataset.liveRegion + '"]');
          if (!replacement) return;
          if (busy(region)) { region.classList.add("stale"); return; }
          region.replaceWith(document.importNode(replacement, true));
        });
        tick();
        document.dispatchEvent(new CustomEvent("live:refreshed"));
      })
      .catch(function () { /* the next change tries again */ })
      .then(function () { refreshing = false; });
  }

  // --- alarms ----------------------------------------------------------------------------
  var banner = document.getElementById("live-banner");
  var soundBox = banner && banner.querySelector("[data-live-sound]");
  var desktopBox = banner && banner.querySelector("[data-live-desktop]");
  var audio = null;

  function remember(box, key) {
    if (!box) return;
    box.checked = window.localStorage.getItem(key) === "1";
    box.addEventListener("change", function () {
      window.localStorage.setItem(key, box.checked ? "1" : "0");
      if (box === soundBox && box.checked && !audio && window.AudioContext) audio = new AudioContext();
      if (box === desktopBox && box.checked && window.Notification && Notification.permission === "default") {
        Notification.requestPermission();
      }
    });
  }
  remember(soundBox, "noc-alarm-sound");
  remember(desktopBox, "noc-alarm-desktop");

  function beep() {
    if (!audio) return;
    var osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain); gain.connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + 0.4);
  }

  function raise(alarms) {
    if (!banner || !alarms.length) return;
    var list = banner.querySelector("ul");
    alarms.forEach(function (alarm) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = alarm.url;
      link.textContent = alarm.number + "「" + alarm.title + "」";
      var what = document.createElement("span");
      what.className = "alarm-kind";
      what.textContent = alarm.kind === "deadline_breached" ? "时限超时" : (alarm.level === 1 ? "一级故障" : "重大服务中断");
      item.appendChild(what);
      item.appendChild(link);
      if (alarm.kind === "deadline_breached") {
        var detail = document.createElement("span");
        detail.className = "alarm-detail";
        detail.textContent = alarm.message.replace(/\s*\([^)]*\)\s*$/, "");
        item.appendChild(detail);
      }
      list.insertBefore(item, list.firstChild);
      if (desktopBox && desktopBox.checked && window.Notification && Notification.permission === "granted") {
        new Notification("NOC 告警：" + what.textContent, {body: alarm.number + " " + alarm.title});
      }
    });
    banner.hidden = false;
    if (soundBox && soundBox.checked) beep();
  }
  if (banner) {
    banner.querySelector("[data-live-dismiss]").addEventListener("click", function () {
      banner.hidden = true;
      banner.querySelector("ul").textContent = "";
    });
  }

  // --- the poll --------------------------------------------------------------------------
  function poll() {
    var url = pollUrl + "?since=" + encodeURIComponent(cursor) + (incidentId ? "&incident=" + incidentId : "");
    var headers = {"Accept": "application/json"};
    if (etag) headers["If-None-Match"] = etag;
    fetch(url, {credentials: "same-origin", cache: "no-store", headers: headers})
      .then(function (r) {
        if (r.status === 304 || !r.ok) return null;
        etag = r.headers.get("ETag");
        return r.json();
      })
      .then(function (data) {
        if (!data) return;
        raise(data.alarms || []);
        var names = [];
        if (seen ? data.board !== seen.board : String(data.cursor) !== cursor) names.push("board");
        if (seen ? data.incident !== seen.incident : String(data.cursor) !== cursor) names.push("incident");
        // Every open console sees the same change at once: spread their page reads over a second.
        if (names.length) setTimeout(function () { refreshRegions(names); }, Math.random() * 1000);
        cursor = String(data.cursor);
        seen = data;
      })
      .catch(function () { /* offline for a moment: keep polling */ })
      .then(function () { setTimeout(poll, interval); });
  }
  poll();
})();
