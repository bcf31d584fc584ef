// eOffice shell behaviour. No inline scripts anywhere (CSP script-src 'self').
(function () {
  "use strict";

  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function (error) {
        console.warn("service worker registration failed", error);
      });
    });
  }

  function showNetworkState() {
    var banner = document.getElementById("net-status");
    if (banner) banner.hidden = navigator.onLine;
    document.documentElement.classList.toggle("is-offline", !navigator.onLine);
  }
  window.addEventListener("online", showNetworkState);
  window.addEventListener("offline", showNetworkState);
  document.addEventListener("DOMContentLoaded", showNetworkState);
})();
