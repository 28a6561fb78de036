/*
 * Idle logoff on a shared ward tablet: a page left alone signs its user out after the
 * session's idle time (the server enforces the same limit). A minute before, a warning with a
 * "Stay signed in" button appears; the page's own requests (not background polling) restart
 * the clock, as they do on the server.
 */
(function () {
  "use strict";
  var WARN_BEFORE_MS = 60 * 1000;

  function csrfToken() {
    var field = document.querySelector("#idle-logout input[name='csrfmiddlewaretoken']");
    return field ? field.value : "";
  }

  function start() {
    var idleSeconds = Number(document.body.dataset.idleSeconds);
    var warning = document.getElementById("session-warning");
    var logoutForm = document.getElementById("idle-logout");
    if (!idleSeconds || !warning || !logoutForm) {
      return;
    }
    var left = warning.querySelector("[data-session-left]");
    var stay = warning.querySelector("[data-stay-signed-in]");
    var deadline = Date.now() + idleSeconds * 1000;
    var signingOut = false;

    function restart() {
      deadline = Date.now() + idleSeconds * 1000;
      warning.hidden = true;
    }

    function tick() {
      var remaining = deadline - Date.now();
      if (remaining <= 0) {
        if (!signingOut) {
          signingOut = true;
          logoutForm.submit();
        }
        return;
      }
      if (remaining <= WARN_BEFORE_MS) {
        left.textContent = String(Math.ceil(remaining / 1000));
        if (warning.hidden) {
          warning.hidden = false;
          stay.focus();
        }
      }
    }

    stay.addEventListener("click", function () {
      fetch(stay.dataset.keepaliveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() },
      }).then(function (response) {
        if (response.ok) {
          restart();
        } else {
          logoutForm.submit();
        }
      });
    });

    // A request the user made restarts the clock; polling marks itself X-Background.
    document.addEventListener("htmx:afterRequest", function (event) {
      var headers = (event.detail && event.detail.requestConfig && event.detail.requestConfig.headers) || {};
      if (headers["X-Background"] !== "1") {
        restart();
      }
    });

    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
