// eOffice shell behaviour. No inline scripts anywhere (CSP script-src 'self').
(function () {
  "use strict";

  // The worker's URL and scope come from the page (<body data-sw-url data-sw-scope>).
  if ("serviceWorker" in navigator && document.body.dataset.swUrl) {
    window.addEventListener("load", function () {
      var body = document.body.dataset;
      navigator.serviceWorker.register(body.swUrl, { scope: body.swScope }).catch(function (error) {
        console.warn("service worker registration failed", error);
      });
    });
  }

  // Back (the installed app has no browser button): to the list we came from as it was (its
  // filters, its scroll) when we came from it, else to the link's own target.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-back]");
    if (!link || !document.referrer) return;
    var from = new URL(document.referrer);
    var to = new URL(link.href);
    if (from.origin === to.origin && from.pathname === to.pathname && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  function showNetworkState() {
    var banner = document.getElementById("net-status");
    if (banner) banner.hidden = navigator.onLine;
    document.documentElement.classList.toggle("is-offline", !navigator.onLine);
  }
  // Web Push: the notifications page turns this device's subscription on and off.
  function b64urlToBytes(value) {
    var padded = (value + "===".slice((value.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    });
  }

  function setupPush() {
    var box = document.getElementById("push-setup");
    if (!box) return;
    var state = document.getElementById("push-state");
    var enable = document.getElementById("push-enable");
    var disable = document.getElementById("push-disable");
    var standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
    var ios = /iPad|iPhone|iPod/.test(navigator.userAgent) ||
      (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
    document.getElementById("push-ios").hidden = !ios || standalone;
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
      state.textContent = box.dataset.unsupported || "";
      return;
    }
    navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription().then(function (existing) {
        enable.hidden = !!existing;
        disable.hidden = !existing;
        enable.addEventListener("click", function () {
          Notification.requestPermission().then(function (permission) {
            if (permission !== "granted") return;
            return registration.pushManager.subscribe({
              userVisibleOnly: true, applicationServerKey: b64urlToBytes(box.dataset.vapidKey)
            }).then(function (subscription) {
              return postJSON(box.dataset.subscribeUrl, subscription.toJSON());
            }).then(function () { window.location.reload(); });
          });
        });
        disable.addEventListener("click", function () {
          registration.pushManager.getSubscription().then(function (subscription) {
            if (!subscription) return;
            return postJSON(box.dataset.unsubscribeUrl, { endpoint: subscription.endpoint })
              .then(function () { return subscription.unsubscribe(); })
              .then(function () { window.location.reload(); });
          });
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", setupPush);

  window.addEventListener("online", showNetworkState);
  window.addEventListener("offline", showNetworkState);
  document.addEventListener("DOMContentLoaded", showNetworkState);
})();
