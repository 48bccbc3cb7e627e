/* Progressive enhancement around htmx. Everything works without this file:
   it keeps aria-invalid in step with the error lines that live checks swap,
   announces new errors politely, re-checks a field that shows an error while
   it is being corrected (so the error goes the moment it is fixed), and checks
   a field that was edited back to its old value when it is left, and adds
   the show/hide control to password fields. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function controlsOf(errorLine) {
    return document.querySelectorAll('[aria-describedby~="' + errorLine.id + '"]');
  }

  function sync(errorLine, announce) {
    var hasError = errorLine.textContent.trim() !== "";
    controlsOf(errorLine).forEach(function (control) {
      control.setAttribute("aria-invalid", hasError ? "true" : "false");
    });
    var wrapper = errorLine.closest(".field");
    if (wrapper) wrapper.classList.toggle("field--error", hasError);
    if (announce && hasError) {
      var live = document.getElementById("live-region");
      if (live) live.textContent = errorLine.textContent.trim();
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    var line = target && target.id ? document.getElementById(target.id) : null;
    if (line && line.classList.contains("field-error")) sync(line, true);
    if (line && line.id === "contract-region") syncContract(line);
  });

  // The contract number input is preserved across the toggle's swap (so typing
  // is never lost); its required state follows the region the server sent.
  function syncContract(region) {
    var input = region.querySelector("input");
    if (input) input.setAttribute("aria-required", region.dataset.state === "yes" ? "true" : "false");
    region.querySelectorAll(".field-error").forEach(function (line) { sync(line, false); });
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var line = event.detail.target;
    if (line && line.classList && line.classList.contains("field-error")) sync(line, false);
  });

  // Show/hide on password fields: the buttons come hidden from the server
  // (useless without this script); the input's type follows aria-pressed.
  function enhancePasswords(scope) {
    scope.querySelectorAll(".password__toggle[hidden]").forEach(function (button) {
      if (document.getElementById(button.getAttribute("aria-controls"))) button.hidden = false;
    });
  }
  function showPassword(button, show) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) return;
    input.type = show ? "text" : "password";
    button.setAttribute("aria-pressed", show ? "true" : "false");
  }
  enhancePasswords(document);
  document.addEventListener("htmx:load", function (event) { enhancePasswords(event.detail.elt); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".password__toggle");
    if (button) showPassword(button, button.getAttribute("aria-pressed") !== "true");
  });
  // Hidden again before sending, so password managers see a password field.
  document.addEventListener("submit", function (event) {
    event.target.querySelectorAll('.password__toggle[aria-pressed="true"]').forEach(function (button) {
      showPassword(button, false);
    });
  }, true);

  var timers = new WeakMap();
  document.addEventListener("input", function (event) {
    var control = event.target;
    if (!control.matches || !control.matches('[aria-invalid="true"][hx-post]')) return;
    clearTimeout(timers.get(control));
    timers.set(control, setTimeout(function () {
      if (window.htmx) window.htmx.trigger(control, "revalidate");
    }, 300));
  });

  // Typed in and then cleared back to what it was, a field fires no "change"
  // when it is left, yet it was edited: check it on leaving all the same.
  var edited = new WeakSet();
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[hx-post]")) edited.add(event.target);
  });
  document.addEventListener("change", function (event) {
    edited.delete(event.target);
  }, true);
  document.addEventListener("focusout", function (event) {
    var control = event.target;
    if (!edited.has(control)) return;
    edited.delete(control);
    if (window.htmx) window.htmx.trigger(control, "revalidate");
  });

  // The registration funnel counts a form as started on its first live check
  // (webapp/funnel/counting.py): once that check has left with the form's
  // values, the page is marked started at once, so checks sent together (an
  // autofill changes several fields) do not each count it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var control = event.detail.elt;
    if (!control.hasAttribute || !control.hasAttribute("data-live-check") || !control.form) return;
    var started = control.form.querySelector("#funnel-started");
    if (started) started.value = "started";
  });

  // The utility's service worker shows an offline page when the network is gone.
  // Embedded forms have no manifest link (and <body class="embed">): they live in
  // another site's frame, where an offline page of ours has no place.
  var manifest = document.querySelector("link[rel=manifest][data-service-worker]");
  var embedded = "embed" in root.dataset || document.body.classList.contains("embed");
  if (manifest && !embedded && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(manifest.getAttribute("data-service-worker"))
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        // The offline page then comes in the language of the pages read.
        registration.active.postMessage({ language: root.lang });
      })
      .catch(function () { /* no offline page: the site works the same */ });
  }
})();
