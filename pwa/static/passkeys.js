// Passkeys: enrolment, adding a passkey, and username-less sign-in (with autofill where the
// browser offers conditional mediation). Messages come from the page's data-msg-* attributes so
// they are translated with the templates, URLs from its data-*-url attributes, and where to go
// afterwards from the server's answer ({redirect}). No inline scripts (CSP script-src 'self').
(function () {
  "use strict";

  var webauthn = window.eofficeWebAuthn;
  var creationOptions = webauthn.creationOptions;
  var requestOptions = webauthn.requestOptions;
  var credentialJSON = webauthn.credentialJSON;
  var postJSON = webauthn.postJSON;

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
          window.location.assign(result.redirect);
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
        window.location.assign(result.redirect);
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
