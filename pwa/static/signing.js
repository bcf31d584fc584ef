// The leader's signing sheet: open the confirmation sheet the server rendered, confirm with a
// passkey (the challenge commits to exactly what is signed), show the outcome, cancel. Also the
// return sheet. No inline scripts (CSP script-src 'self'); messages come from data-msg-*, the
// URLs to call from data-*-url on the sheet the server rendered.
(function () {
  "use strict";

  var webauthn = window.eofficeWebAuthn;
  var requestOptions = webauthn.requestOptions;
  var assertionJSON = webauthn.credentialJSON;
  var post = webauthn.postJSON;

  function status(sheet, text, kind) {
    var el = sheet.querySelector(".sheet__status");
    el.textContent = text;
    el.className = "sheet__status" + (kind ? " sheet__status--" + kind : "");
  }

  var busy = false;

  function confirmPasskey(sheet, button) {
    if (busy) return; // a double tap makes one request
    busy = true;
    button.disabled = true;
    var tx = sheet.dataset.tx;
    var progress = sheet.querySelector(".sheet__progress");
    var source = null;
    if (progress) {
      // Per-document progress of a batch, pushed as each document is signed.
      source = new EventSource(sheet.dataset.liveUrl);
      source.addEventListener("signing-item", function (event) {
        var data = JSON.parse(event.data);
        if (data.transaction === tx) progress.value = progress.value + 1;
      });
    }
    post(sheet.dataset.optionsUrl)
      .then(function (options) {
        return navigator.credentials.get({ publicKey: requestOptions(options) });
      })
      .then(function (credential) {
        status(sheet, sheet.dataset.msgSigning, "busy");
        return post(sheet.dataset.confirmUrl, { credential: assertionJSON(credential) });
      })
      .then(function (result) {
        if (source) source.close();
        if (result.documents.length > 1) {
          var signed = result.documents.filter(function (d) { return d.result === "signed"; });
          if (progress) progress.value = result.documents.length;
          status(sheet, sheet.dataset.msgCount.replace("{n}", signed.length)
            .replace("{total}", result.documents.length), signed.length ? "ok" : "error");
          var list = sheet.querySelector(".sheet__results");
          result.documents.forEach(function (d) {
            var li = document.createElement("li");
            li.dataset.document = d.id;
            li.dataset.result = d.result;
            li.textContent = "#" + d.id + ": " + (d.result === "signed" ? "✓" : "✗ " + d.error);
            list.appendChild(li);
          });
        } else if (result.status === "completed") {
          status(sheet, sheet.dataset.msgDone, "ok");
          window.location.assign(sheet.dataset.doneUrl);
        } else {
          status(sheet, sheet.dataset.msgFailed + " " + (result.documents[0].error || ""), "error");
        }
      })
      .catch(function (error) {
        status(sheet, sheet.dataset.msgFailed + " " + error.message, "error");
        button.disabled = false;
      })
      .finally(function () { busy = false; });
  }

  // No passkey yet on this account (a demo's "sign in as", a first sign-in by link on another
  // device): create one here with the platform authenticator, then confirm with it.
  function createThenConfirm(sheet, button) {
    if (busy) return;
    busy = true;
    button.disabled = true;
    post(button.dataset.createOptionsUrl)
      .then(function (options) {
        return navigator.credentials.create({ publicKey: webauthn.creationOptions(options) });
      })
      .then(function (credential) {
        return post(button.dataset.createUrl, {
          credential: assertionJSON(credential),
          name: button.dataset.deviceName || "",
        });
      })
      .then(function () {
        busy = false;
        confirmPasskey(sheet, button);
      })
      .catch(function (error) {
        status(sheet, sheet.dataset.msgFailed + " " + error.message, "error");
        button.disabled = false;
        busy = false;
      });
  }

  // htmx 4 names it htmx:after:swap; the sheet opens as soon as the server's sheet arrives.
  function openSwappedSheet() {
    var sheet = document.querySelector("#sign-sheet-slot dialog.sheet");
    if (sheet && !sheet.open) {
      sheet.showModal();
      if (sheet.id === "sim-sheet") watchSim(sheet);
      if (sheet.id === "sim-batch-sheet") watchBatch(sheet);
    }
  }

  // SIM-PKI: the status comes over SSE (any server process may hold the MSSP's answer), the
  // countdown runs here; the final state sends the leader to the signed document.
  function watchSim(sheet) {
    var tx = sheet.dataset.tx;
    var left = parseInt(sheet.dataset.seconds, 10);
    var countdown = sheet.querySelector("#sim-countdown");
    var statusEl = sheet.querySelector("#sim-status");
    var timer = setInterval(function () {
      left = Math.max(0, left - 1);
      countdown.textContent = String(left);
    }, 1000);
    var source = new EventSource(sheet.dataset.liveUrl);
    function finish() { clearInterval(timer); source.close(); }
    source.addEventListener("signing-status", function (event) {
      var data = JSON.parse(event.data);
      if (data.transaction !== tx) return;
      var text = sheet.dataset["msg" + data.status.charAt(0).toUpperCase() + data.status.slice(1)]
        || sheet.dataset["msg_" + data.status] || data.status;
      statusEl.textContent = text + (data.message ? " " + data.message : "");
      statusEl.dataset.status = data.status;
      if (data.status === "completed") {
        finish();
        window.location.assign(sheet.dataset.doneUrl);
      } else if (["failed", "expired", "cancelled"].indexOf(data.status) >= 0) {
        finish();
      }
    });
    sheet.addEventListener("close", finish);
  }
  // A SIM batch: one phone confirmation per document, sent one after another by the server.
  // Each row follows its document (queued → sent → waiting for the PIN, with the control code
  // → signing → signed | failed | expired | cancelled) from the SSE events; a status never moves
  // back, so a late event or the catch-up request after (re)connecting cannot undo a newer one.
  var RANK = { queued: 0, sent: 1, waiting_pin: 2, signing: 3,
    completed: 4, failed: 4, expired: 4, cancelled: 4 };

  function watchBatch(sheet) {
    var batch = sheet.dataset.batch;
    var progress = sheet.querySelector(".sheet__progress");
    var source = new EventSource(sheet.dataset.liveUrl);
    function msg(state) {
      return sheet.dataset["msg" + state.charAt(0).toUpperCase() + state.slice(1)] || state;
    }
    function summary() {
      var rows = Array.prototype.slice.call(sheet.querySelectorAll(".simbatch__row"));
      var signed = rows.filter(function (r) { return r.dataset.status === "completed"; }).length;
      var over = rows.every(function (r) { return RANK[r.dataset.status] === 4; });
      progress.value = signed;
      if (over) {
        source.close();
        status(sheet, sheet.dataset.msgCount.replace("{n}", signed).replace("{total}", rows.length),
          signed === rows.length ? "ok" : "error");
        sheet.querySelector("[data-cancel-batch]").hidden = true;
        sheet.querySelector("[data-close-batch]").hidden = false;
      }
    }
    function apply(d) {
      var row = sheet.querySelector('.simbatch__row[data-document="' + d.document + '"]');
      if (!row || !(d.status in RANK) || RANK[d.status] < RANK[row.dataset.status]) return;
      if (RANK[row.dataset.status] === 4) return; // an ended document stays as it ended
      row.dataset.status = d.status;
      row.querySelector(".simbatch__state").textContent = msg(d.status);
      if (d.code) row.querySelector(".simbatch__code").textContent = d.code;
      row.querySelector(".simbatch__error").textContent = d.message || d.error || "";
      if (d.status === "sent" || d.status === "waiting_pin") {
        row.scrollIntoView({ block: "nearest" });
      }
      summary();
    }
    function catchUp() {
      fetch(sheet.dataset.statusUrl, { credentials: "same-origin",
        headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (body) { (body.documents || []).forEach(apply); })
        .catch(function () {});
    }
    source.addEventListener("signing-status", function (event) {
      var data = JSON.parse(event.data);
      if (data.batch === batch) apply(data);
    });
    source.addEventListener("open", catchUp);
    sheet.eofficeApply = apply;
    sheet.addEventListener("close", function () {
      source.close();
      window.location.reload(); // the queue shows what is left to sign
    });
    summary();
  }

  // The "Chờ ký" list refreshes itself on live events; the leader's ticks survive it.
  var ticked = {};
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("#signqueue-live input[name=document_id]")) {
      ticked[box.value] = box.checked;
    }
  });
  function keepTicks() {
    document.querySelectorAll("#signqueue-live input[name=document_id]").forEach(function (box) {
      if (ticked[box.value]) box.checked = true;
    });
  }
  document.addEventListener("htmx:after:swap", keepTicks);
  document.addEventListener("htmx:afterSwap", keepTicks);

  document.addEventListener("htmx:after:swap", openSwappedSheet);
  document.addEventListener("htmx:afterSwap", openSwappedSheet);

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) return;
    var sheet = target.closest("dialog");
    if (target.hasAttribute("data-confirm-passkey")) {
      confirmPasskey(sheet, target);
    } else if (target.hasAttribute("data-create-passkey")) {
      createThenConfirm(sheet, target);
    } else if (target.hasAttribute("data-cancel-tx")) {
      post(sheet.dataset.cancelUrl).finally(function () { sheet.close(); });
    } else if (target.hasAttribute("data-cancel-batch")) {
      target.disabled = true;
      post(sheet.dataset.cancelUrl).then(function (body) {
        body.documents.forEach(sheet.eofficeApply);
      }).catch(function () { target.disabled = false; });
    } else if (target.hasAttribute("data-close-batch")) {
      sheet.close();
    } else if (target.hasAttribute("data-sign-sim") && sheet && sheet.id === "confirm-sheet") {
      // Switching to the SIM: the passkey request is withdrawn (the SIM has its own).
      post(sheet.dataset.cancelUrl).catch(function () {});
    } else if (target.hasAttribute("data-cancel-sim")) {
      post(sheet.dataset.cancelUrl);
    } else if (target.hasAttribute("data-open-sheet")) {
      document.getElementById(target.getAttribute("data-open-sheet")).showModal();
    } else if (target.hasAttribute("data-close-sheet")) {
      sheet.close();
    }
  });
})();
