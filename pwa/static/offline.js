// eOffice offline: keeping the person's documents on the device (the service worker does the
// work, this page asks it to), the "saved at" banner on offline copies, the marks in the lists,
// the queue of actions made offline (IndexedDB, replayed on open and on `online`: iOS has no
// Background Sync), signing switched off without a network, and the wipe on sign-out.
(function () {
  "use strict";

  var DB = "eoffice-offline";
  var STORE = "outbox";
  var USER_PREFIX = "eoffice-user-";
  // Not a route: the key the service worker stores its index under in the person's cache.
  var INDEX_URL = "/__offline/index";

  function strip() { return document.getElementById("offline-strip"); }
  function msg(name) { var s = strip(); return (s && s.dataset[name]) || ""; }
  function userId() { return document.body.dataset.userId || ""; }

  // --- the queue (IndexedDB) ------------------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function allQueued() {
    return withStore("readonly", function (store) { return store.getAll(); }).then(function (rows) {
      return (rows || []).sort(function (a, b) { return a.created - b.created; });
    });
  }
  function putQueued(entry) { return withStore("readwrite", function (store) { store.put(entry); }); }
  function dropQueued(key) { return withStore("readwrite", function (store) { store.delete(key); }); }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // "sent", "rejected" (the server refused it: it will never go through), or "later".
  function send(entry) {
    var body = new URLSearchParams();
    entry.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    return fetch(entry.url, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "Idempotency-Key": entry.key, "Accept": "text/html" }
    }).then(function (response) {
      // Done: the server answers with a redirect to the document (not followed: not needed).
      if (response.type === "opaqueredirect" || response.ok) return { status: "sent" };
      if (response.status >= 400 && response.status < 500 &&
          [401, 408, 409, 425, 429].indexOf(response.status) < 0) {
        return response.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var found = page.querySelector(".notice--error p, .error p, main p");
          return { status: "rejected", message: found ? found.textContent.trim() : String(response.status) };
        });
      }
      return { status: "later" };
    }, function () { return { status: "later" }; });
  }

  var replaying = null;
  // `stay`: do not reload to show what was sent (signing out is about to leave the page).
  function replay(stay) {
    if (replaying || !userId() || !window.indexedDB) return replaying || Promise.resolve();
    replaying = allQueued().then(function (entries) {
      var sentHere = false;
      var chain = Promise.resolve(true);
      entries.forEach(function (entry) {
        chain = chain.then(function (goOn) {
          if (!goOn) return false;
          if (entry.user !== userId()) return dropQueued(entry.key).then(function () { return true; });
          return send(entry).then(function (outcome) {
            if (outcome.status === "later") return false;
            if (outcome.status === "rejected") say(msg("msgRejected") + " " + outcome.message, "error");
            if (entry.page === location.pathname) sentHere = true;
            return dropQueued(entry.key).then(function () { return true; });
          });
        });
      });
      return chain.then(function () { return sentHere; });
    }).then(function (sentHere) {
      return showQueue().then(function () {
        if (!sentHere || stay) return;
        if (editing()) { // never lose what is being typed: say so instead of reloading
          say(msg("msgSent"), "ok");
          return;
        }
        history.replaceState(null, "", location.pathname + location.search + "#xu-ly");
        location.reload(); // show the new step in the timeline
      });
    }).catch(function (error) { console.warn("offline queue", error); })
      .then(function () { replaying = null; });
    return replaying;
  }

  function editing() {
    return Array.prototype.some.call(
      document.querySelectorAll("main textarea, main input[type=text], main input[type=number]"),
      function (field) { return field.value !== field.defaultValue; }
    );
  }

  function showQueue() {
    var status = document.getElementById("outbox-status");
    if (!status || !window.indexedDB || !userId()) return Promise.resolve();
    return allQueued().then(function (entries) {
      var mine = entries.filter(function (e) { return e.user === userId(); });
      status.textContent = msg("msgPending").replace("{n}", mine.length);
      status.hidden = mine.length === 0;
      status.dataset.count = mine.length;
      showPending(mine);
    });
  }

  // What waits to be sent from this page, under the form it was written in.
  function showPending(entries) {
    document.querySelectorAll(".offline-note[data-key]").forEach(function (n) { n.remove(); });
    entries.forEach(function (entry) {
      var form = document.querySelector('form[action="' + entry.url + '"]');
      if (!form || entry.page !== location.pathname) return;
      var text = entry.fields.filter(function (p) {
        return ["note", "comment", "body"].indexOf(p[0]) >= 0 && p[1];
      }).map(function (p) { return "“" + p[1] + "”"; }).join(" ");
      var note = say(msg("msgQueued") + (text ? " " + text : ""), "warning", form);
      note.dataset.key = entry.key;
    });
  }

  function say(text, kind, near) {
    var note = document.createElement("p");
    note.className = "notice notice--" + (kind || "ok") + " offline-note";
    note.setAttribute("role", "status");
    note.textContent = text;
    var where = near || document.getElementById("main");
    if (near) near.insertAdjacentElement("afterend", note);
    else if (where) where.insertAdjacentElement("afterbegin", note);
    return note;
  }

  // Attributes, not form.method / form.action: a field named "method" or "action" shadows them.
  function formPath(form) {
    return new URL(form.getAttribute("action") || location.href, location.href).pathname;
  }

  // Which forms may wait offline, and which sign out, the templates say (data-offline-queue,
  // data-sign-out): no paths are known here.
  function queueable(form) {
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return false;
    return form.hasAttribute("data-offline-queue");
  }

  function hasFiles(form) {
    return Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (input) {
      return input.files && input.files.length > 0;
    });
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var path = formPath(form);
    if (form.hasAttribute("data-sign-out")) { event.preventDefault(); signOut(form); return; }
    if (!queueable(form) || !userId() || !window.indexedDB) return;
    // Files cannot wait in the queue: online they go the ordinary way, offline they must wait.
    if (hasFiles(form)) {
      if (navigator.onLine) return;
      event.preventDefault();
      say(msg("msgNetwork"), "warning", form);
      return;
    }
    event.preventDefault();
    var fields = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && name !== "client_key") fields.push([name, value]);
    });
    var entry = { key: newKey(), user: userId(), url: path, page: location.pathname,
                  created: Date.now(), fields: fields };
    entry.fields.push(["client_key", entry.key]);
    var button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    putQueued(entry).then(function () {
      if (!navigator.onLine) return { status: "later" };
      return send(entry);
    }).then(function (outcome) {
      if (outcome.status === "later") {
        form.reset();
        return showQueue();
      }
      return dropQueued(entry.key).then(function () {
        if (outcome.status === "rejected") {
          say(msg("msgRejected") + " " + outcome.message, "error", form);
          return showQueue();
        }
        history.replaceState(null, "", location.pathname + location.search + "#xu-ly");
        location.reload();
      });
    }).catch(function (error) {
      console.warn("offline queue", error);
      form.submit(); // IndexedDB unusable (private mode): the ordinary way
    }).then(function () { if (button) button.disabled = false; });
  }

  // Sign-out: send what is still queued if we can, then leave nothing behind on this device.
  function signOut(form) {
    var done = function () { form.submit(); };
    var before = navigator.onLine ? replay(true) : Promise.resolve();
    before.then(wipe).then(done, done);
  }

  function wipe() {
    var jobs = [];
    if (window.caches) {
      jobs.push(caches.keys().then(function (keys) {
        return Promise.all(keys.filter(function (k) { return k.indexOf(USER_PREFIX) === 0; })
          .map(function (k) { return caches.delete(k); }));
      }));
    }
    if (window.indexedDB) {
      jobs.push(new Promise(function (resolve) {
        var request = indexedDB.deleteDatabase(DB);
        request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
      }));
    }
    return Promise.all(jobs);
  }

  // --- offline reading --------------------------------------------------------------------------
  function askWorker(message) {
    if (!("serviceWorker" in navigator)) return Promise.resolve(null);
    return navigator.serviceWorker.ready.then(function (registration) {
      var worker = navigator.serviceWorker.controller || registration.active;
      if (!worker) return null;
      return new Promise(function (resolve) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function (event) { resolve(event.data); };
        worker.postMessage(message, [channel.port2]);
      });
    });
  }

  function syncDocuments(force) {
    if (!userId() || !navigator.onLine) return Promise.resolve(null);
    return askWorker({ type: "sync", force: !!force, user: userId() }).then(function (answer) {
      document.documentElement.dataset.offlineSync = answer && answer.ok ? "done" : "failed";
      return answer;
    });
  }

  function readIndex() {
    if (!window.caches) return Promise.resolve(null);
    return caches.keys().then(function (keys) {
      var name = keys.filter(function (k) { return k.indexOf(USER_PREFIX) === 0; })[0];
      if (!name) return null;
      return caches.open(name).then(function (cache) { return cache.match(INDEX_URL); })
        .then(function (found) { return found ? found.json() : null; });
    }).catch(function () { return null; });
  }

  // The lists: a mark on what can be read offline; the offline page lists it.
  function markAvailable() {
    return readIndex().then(function (index) {
      var documents = (index && index.documents) || {};
      document.querySelectorAll(".docitem").forEach(function (item) {
        var link = item.querySelector("a.docitem__link");
        var id = link && link.dataset.offlineId;
        var kept = !!(id && documents[id]);
        item.classList.toggle("docitem--offline", kept);
        var mark = item.querySelector(".docitem__offline");
        if (kept && !mark) {
          mark = document.createElement("span");
          mark.className = "docitem__offline";
          mark.textContent = msg("msgAvailable");
          link.appendChild(mark);
        } else if (!kept && mark) {
          mark.remove();
        }
      });
      var list = document.getElementById("offline-documents");
      if (list) {
        list.textContent = "";
        Object.keys(documents).forEach(function (id) {
          var entry = documents[id];
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = entry.url;
          a.textContent = entry.subject;
          li.appendChild(a);
          list.appendChild(li);
        });
        var box = document.getElementById("offline-kept");
        if (box) box.hidden = list.children.length === 0;
      }
    });
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function showSavedCopy() {
    var saved = document.body.dataset.offlineSaved;
    var banner = document.getElementById("offline-banner");
    if (!saved || !banner) return;
    var when = new Date(saved);
    var time = when.toLocaleTimeString("vi-VN", {
      hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Ho_Chi_Minh"
    });
    if (!/^\d\d:\d\d$/.test(time)) time = two(when.getHours()) + ":" + two(when.getMinutes());
    banner.textContent = msg("msgSaved").replace("{time}", time);
    banner.hidden = false;
    var footer = document.getElementById("net-status");
    if (footer) footer.dataset.covered = "1";
  }

  // Signing and other actions that need the server: off while offline, saying why.
  function showNetworkNeeds() {
    var offline = !navigator.onLine;
    document.querySelectorAll("[data-sign-button], [data-batch-sign]").forEach(function (button) {
      needsNetwork(button, offline, msg("msgSign"));
    });
    document.querySelectorAll("main form[method=post]").forEach(function (form) {
      if (queueable(form)) return;
      form.querySelectorAll("[type=submit]").forEach(function (button) {
        if (button.hasAttribute("data-sign-button") || button.hasAttribute("data-batch-sign")) return;
        needsNetwork(button, offline, msg("msgNetwork"));
      });
    });
  }

  function needsNetwork(button, offline, text) {
    if (offline) {
      if (!button.disabled) { button.disabled = true; button.dataset.offlineDisabled = "1"; }
      var note = button.nextElementSibling;
      if (!note || !note.classList.contains("needs-network")) {
        note = document.createElement("span");
        note.className = "needs-network";
        note.textContent = text;
        button.insertAdjacentElement("afterend", note);
      }
    } else {
      if (button.dataset.offlineDisabled) { button.disabled = false; delete button.dataset.offlineDisabled; }
      var next = button.nextElementSibling;
      if (next && next.classList.contains("needs-network")) next.remove();
    }
  }

  document.addEventListener("submit", onSubmit);
  document.addEventListener("DOMContentLoaded", function () {
    showSavedCopy();
    showNetworkNeeds();
    markAvailable();
    showQueue();
    if (navigator.onLine) replay(false);
    syncDocuments(false).then(markAvailable);
  });
  window.addEventListener("online", function () {
    showNetworkNeeds();
    replay(false);
    syncDocuments(true).then(markAvailable);
  });
  window.addEventListener("offline", showNetworkNeeds);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "offline-synced") markAvailable();
    });
  }
})();
