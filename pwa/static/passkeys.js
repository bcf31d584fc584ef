// Passkeys: enrolment, adding a passkey, and username-less sign-in (with autofill where the
// browser offers conditional mediation). Messages come from the page's data-msg-* attributes so
// they are translated with the templates. No inline scripts anywhere (CSP script-src 'self').
(function () {
  "use strict";

  // --- base64url <-> ArrayBuffer, for browsers without the JSON helpers (older iOS Safari) ---
  function toBuffer(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = toBuffer(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBuffer(json.user.id) });
    options.excludeCredentials = (json.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: toBuffer(c.id) });
    });
    return options;
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = toBuffer(json.challenge);
    options.allowCredentials = (json.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: toBuffer(c.id) });
    });
    return options;
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      try {
        return credential.toJSON();
      } catch (error) {
        // Some Safari versions throw here; fall through to the manual encoding.
      }
    }
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      if (typeof response.getTransports === "function") {
        json.response.transports = response.getTransports();
      }
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
    }
    return json;
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var message = data && data.error && data.error.message;
          var error = new Error(message || String(response.status));
          error.fromServer = Boolean(message);
          throw error;
        }
        return data;
      });
    });
  }

  function supported() {
    return typeof window.PublicKeyCredential === "function" && navigator.credentials;
  }

  function showError(form, error) {
    var box = form.querySelector(".form-error");
    if (!box) return;
    box.textContent = error && error.fromServer ? error.message : form.dataset.msgFailed;
    box.hidden = false;
  }

  function clearError(form) {
    var box = form.querySelector(".form-error");
    if (box) box.hidden = true;
  }

  function setBusy(form, busy) {
    form.querySelectorAll("button").forEach(function (button) { button.disabled = busy; });
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  // --- registration: enrolment link or "add a passkey" ---
  function setUpRegistration(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearError(form);
      if (!supported()) {
        showError(form, { fromServer: true, message: form.dataset.msgUnsupported });
        return;
      }
      var nameInput = form.querySelector("input[name=name]");
      setBusy(form, true);
      postJSON(form.dataset.optionsUrl)
        .then(function (options) {
          return navigator.credentials.create({ publicKey: creationOptions(options) });
        })
        .then(function (credential) {
          return postJSON(form.dataset.verifyUrl, {
            credential: credentialJSON(credential),
            name: nameInput ? nameInput.value : "",
          });
        })
        .then(function (result) {
          window.location.assign(result.redirect || "/");
        })
        .catch(function (error) {
          setBusy(form, false);
          showError(form, error);
        });
    });
  }

  // --- sign-in: autofill (conditional mediation) plus the explicit button ---
  function setUpSignIn(form) {
    var pending = null; // the conditional request, aborted when the button is used
    var controller = null;

    function finish(credential) {
      return postJSON(form.dataset.verifyUrl, credentialJSON(credential)).then(function (result) {
        window.location.assign(result.redirect || "/");
      });
    }

    function startConditional() {
      if (!supported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") {
        return;
      }
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) return;
        controller = new AbortController();
        var signal = controller.signal;
        pending = postJSON(form.dataset.optionsUrl)
          .then(function (options) {
            return navigator.credentials.get({
              mediation: "conditional",
              publicKey: requestOptions(options),
              signal: signal,
            });
          })
          .then(function (credential) {
            if (credential) return finish(credential);
          })
          .catch(function (error) {
            if (!signal.aborted) showError(form, error);
          });
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearError(form);
      if (!supported()) {
        showError(form, { fromServer: true, message: form.dataset.msgUnsupported });
        return;
      }
      setBusy(form, true);
      if (controller) controller.abort();
      Promise.resolve(pending)
        .catch(function () {})
        .then(function () { return postJSON(form.dataset.optionsUrl); })
        .then(function (options) {
          return navigator.credentials.get({ publicKey: requestOptions(options) });
        })
        .then(finish)
        .catch(function (error) {
          setBusy(form, false);
          showError(form, error);
        });
    });

    startConditional();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var register = document.getElementById("passkey-register");
    if (register) setUpRegistration(register);
    var signIn = document.getElementById("passkey-signin");
    if (signIn) setUpSignIn(signIn);
  });
})();
