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
  document.addEventListener("DOMContentLoaded", function () {
    counters(document);
    // A page sent back with errors: focus its first field in error, else its message, so that
    // the reader (and a screen reader) lands on what to fix, wherever it is on the page.
    var invalid = document.querySelector('main [aria-invalid="true"]');
    var alert = document.querySelector('main [role="alert"]');
    if (invalid) { invalid.focus(); }
    else if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    counters(e.target);
    if (!e.target.querySelector) return;
    // Focus follows the new card: its first field in error, else its proposal or its heading.
    var invalid = e.target.querySelector('[aria-invalid="true"]');
    var heading = e.target.querySelector(".proposal-text") || e.target.querySelector("h2");
    if (invalid) { invalid.focus(); }
    else if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  });
})();
