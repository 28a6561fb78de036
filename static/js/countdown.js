/*
 * Live countdowns (bag stability, earliest stop, observation) without reloading the page.
 *
 * Markup: <span data-countdown-to="ISO time" data-warn-seconds="3600" data-done-text="Expired">.
 * The server writes its own "now" at render time in data-server-now (on <body>, or on an
 * htmx fragment); the difference from the browser's clock is the skew, so a ward tablet
 * whose clock is wrong still counts down to the server's deadline.
 *
 * The nearest [data-countdown-scope] ancestor gets the state classes is-warning / is-done,
 * and its [data-show-when-done] / [data-hide-when-done] children are shown or hidden at zero.
 */
(function () {
  "use strict";

  function skewOf(element) {
    if (element.dataset.skewMs === undefined) {
      // Measured once, when the element is first seen: right after it arrived from the server.
      var holder = element.closest("[data-server-now]");
      var serverNow = holder ? Date.parse(holder.dataset.serverNow) : NaN;
      element.dataset.skewMs = isNaN(serverNow) ? "0" : String(serverNow - Date.now());
    }
    return Number(element.dataset.skewMs);
  }

  function format(seconds) {
    var total = Math.max(0, Math.floor(seconds));
    var hours = Math.floor(total / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var secs = total % 60;
    var mm = String(minutes).padStart(2, "0");
    var ss = String(secs).padStart(2, "0");
    return hours ? hours + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  function setState(element, state) {
    var scope = element.closest("[data-countdown-scope]") || element;
    var targets = scope === element ? [element] : [scope, element];
    targets.forEach(function (target) {
      target.classList.toggle("is-warning", state === "warning");
      target.classList.toggle("is-done", state === "done");
    });
    if (scope.dataset.countdownState === state) {
      return;
    }
    scope.dataset.countdownState = state;
    scope.querySelectorAll("[data-show-when-done]").forEach(function (node) {
      node.hidden = state !== "done";
    });
    scope.querySelectorAll("[data-hide-when-done]").forEach(function (node) {
      node.hidden = state === "done";
    });
    scope.querySelectorAll("[data-show-when-warning]").forEach(function (node) {
      node.hidden = state !== "warning";
    });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown-to]").forEach(function (element) {
      var target = Date.parse(element.dataset.countdownTo);
      if (isNaN(target)) {
        return;
      }
      var left = (target - (now + skewOf(element))) / 1000;
      var warn = Number(element.dataset.warnSeconds || 0);
      var text;
      var state;
      if (left <= 0) {
        state = "done";
        text = element.dataset.doneText || format(0);
      } else {
        state = warn && left <= warn ? "warning" : "ok";
        text = format(left);
      }
      if (element.textContent !== text) {
        element.textContent = text;
      }
      setState(element, state);
    });
  }

  function start() {
    tick();
    window.setInterval(tick, 1000);
    // A fragment swapped in by htmx brings its own countdowns: show them at once.
    document.body.addEventListener("htmx:afterSwap", tick);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
