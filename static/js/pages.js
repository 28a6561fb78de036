/*
 * After htmx swaps in a fragment (the infusion panel, an alert, a bag row), keyboard and
 * screen-reader users land on its heading instead of losing their place at the top.
 */
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (event) {
    // The page's own messages told of the last full load; the fragment brings its own.
    var stale = document.querySelector("#main > .messages");
    if (stale) {
      stale.remove();
    }
    var swapped = event.detail && event.detail.elt;
    if (!swapped || !swapped.isConnected) {
      swapped = document.getElementById(event.target.id) || event.target;
    }
    var heading = swapped.querySelector && swapped.querySelector("[tabindex='-1']");
    if (heading) {
      heading.focus();
    }
  });
})();
