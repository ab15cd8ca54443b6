// The board's keys: "/" search, "j"/"k" move, Enter open, "?" help.
(function () {
  "use strict";
  var selectedHref = null;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#board-table tbody tr[data-href]")); }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (!row) return;
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    row.scrollIntoView({block: "nearest"});
    selectedHref = row.dataset.href;
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.findIndex(function (r) { return r.dataset.href === selectedHref; });
    index = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[index]);
  }

  function typing(target) {
    return target && (/INPUT|TEXTAREA|SELECT/.test(target.tagName) || target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var help = document.getElementById("keyboard-help");
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "/") {
      event.preventDefault();
      var search = document.getElementById("board-search");
      if (search) { search.focus(); search.select(); }
    } else if (event.key === "j") {
      move(1);
    } else if (event.key === "k") {
      move(-1);
    } else if (event.key === "Enter" && selectedHref) {
      window.location.assign(selectedHref);
    } else if (event.key === "?" && help && !help.open) {
      help.showModal();
    }
  });

  // The live refresh replaces the table: keep the selection on the same incident.
  document.addEventListener("live:refreshed", function () {
    var again = rows().find(function (r) { return r.dataset.href === selectedHref; });
    if (again) select(again);
  });
})();
