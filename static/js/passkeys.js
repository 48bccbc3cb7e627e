/* Passkeys (WebAuthn) for the forms of templates/factors/_passkey_form.html:
   add one on the security page, log in with one (a button, and the email
   field's autofill through conditional mediation), or use one as the second
   step. Our own small script, no library: the options come from the server
   as JSON (py_webauthn's options_to_json), binary fields in base64url; the
   answer goes back as a form post with the CSRF token. Without this script
   (or without passkeys in the browser) the forms stay hidden and everything
   else works. */
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function publicKey(options) {
    options.challenge = toBytes(options.challenge);
    if (options.user) options.user.id = toBytes(options.user.id);
    if (options.excludeCredentials) options.excludeCredentials = descriptors(options.excludeCredentials);
    if (options.allowCredentials) options.allowCredentials = descriptors(options.allowCredentials);
    return options;
  }

  function answer(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      json.response.userHandle = response.userHandle ? toText(response.userHandle) : null;
    }
    return JSON.stringify(json);
  }

  function post(url, form) {
    return fetch(url, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "HX-Request": "true" },
      credentials: "same-origin"
    });
  }

  function say(form, text) {
    var line = form.querySelector("[data-passkey-error]");
    if (line) line.textContent = text || "";
  }

  function options(form) {
    return post(form.dataset.options, form).then(function (response) {
      if (!response.ok) throw new Error("options refused");
      return response.json();
    });
  }

  function finish(form, credential) {
    form.elements.credential.value = answer(credential);
    return post(form.action, form).then(function (response) {
      var next = response.headers.get("HX-Redirect");
      if (next) {
        window.location.assign(next);
        return;
      }
      return response.json().then(function (body) {
        say(form, body.error || form.dataset.failed);
      });
    });
  }

  var waiting = null; // the conditional (autofill) request of the login page
  // Settles once that request has ended: the button's request starts after it,
  // since Chromium refuses a second request while the first is still ending.
  var settled = Promise.resolve();

  function run(form) {
    say(form, "");
    if (waiting) waiting.abort();
    waiting = null;
    return settled
      .then(function () { return options(form); })
      .then(function (json) {
        var key = publicKey(json);
        if (form.dataset.passkey === "register") return navigator.credentials.create({ publicKey: key });
        return navigator.credentials.get({ publicKey: key });
      })
      .then(function (credential) {
        if (credential) return finish(form, credential);
      })
      .catch(function () {
        say(form, form.dataset.failed);
      });
  }

  function autofill(form) {
    var available = PublicKeyCredential.isConditionalMediationAvailable;
    if (!available) return;
    available.call(PublicKeyCredential).then(function (yes) {
      if (!yes) return;
      waiting = new AbortController();
      var signal = waiting.signal;
      settled = options(form)
        .then(function (json) {
          return navigator.credentials.get({ publicKey: publicKey(json), mediation: "conditional", signal: signal });
        })
        .then(function (credential) {
          if (credential) return finish(form, credential);
        })
        .catch(function () {
          /* aborted for the button, or dismissed: nothing to say */
        });
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      run(form);
    });
    if (form.dataset.passkey === "login") autofill(form);
  });
})();
