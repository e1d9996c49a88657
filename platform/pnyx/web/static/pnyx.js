// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  function counters(root) {
    root.querySelectorAll("textarea[data-counter]").forEach(function (area) {
      var out = document.getElementById(area.dataset.counter);
      if (!out || area.dataset.counting) return;
      area.dataset.counting = "1";
      var max = parseInt(area.dataset.max, 10);
      var template = out.textContent.replace(/^\d+/, "{n}");
      function update() {
        out.textContent = template.replace("{n}", area.value.length);
        out.classList.toggle("field-error", area.value.length > max);
      }
      area.addEventListener("input", update);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { counters(document); });
  document.addEventListener("htmx:afterSwap", function (e) {
    counters(e.target);
    var heading = e.target.querySelector && e.target.querySelector(".proposal-text");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  });
})();
