/* eOffice service worker. Rendered by the server: VERSION changes whenever an asset changes. */
const VERSION = "{{ version }}";
const SHELL = "eoffice-shell-" + VERSION;
const PRECACHE = {{ precache_json | safe }};
const OFFLINE_URL = "/offline";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith("eoffice-shell-") && key !== SHELL)
          .map((key) => caches.delete(key))
      ))
      .then(() => self.clients.claim())
  );
});

// Routes: navigations are network-first (fresh data when online), falling back to the cached
// copy of the page, then to the offline page. Versioned static assets are cache-first.
// Document pages and page images join this cache in the offline-reading work.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirstPage(request));
  } else if (url.pathname.startsWith("/static/") && url.searchParams.has("v")) {
    event.respondWith(cacheFirst(request));
  }
});

async function networkFirstPage(request) {
  try {
    const response = await fetch(request);
    // Keep a copy for offline reading unless the server forbids storing it.
    const cacheControl = response.headers.get("Cache-Control") || "";
    if (response.ok && !cacheControl.includes("no-store")) {
      const cache = await caches.open(SHELL);
      cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await caches.match(request, { ignoreSearch: false });
    return cached || (await caches.match(OFFLINE_URL)) || Response.error();
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(SHELL);
    cache.put(request, response.clone());
  }
  return response;
}
