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

// Web Push. The payload is small JSON: {id, title, body, url, tag}. `tag` is the document's topic,
// so a newer notice replaces the older one; `id` is the outbox row, so a notice the server had to
// send twice (a worker restarted mid-batch) is shown once.
self.addEventListener("push", (event) => {
  let notice = {};
  try {
    notice = event.data ? event.data.json() : {};
  } catch (error) {
    notice = { title: "eOffice", body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(showNotice(notice));
});

const SEEN = "eoffice-push-seen";

// Ids of notices already shown, kept in a small cache (the worker's memory does not survive).
async function firstTime(id) {
  if (!id) return true;
  const cache = await caches.open(SEEN);
  const key = "/__push-seen/" + id;
  if (await cache.match(key)) return false;
  await cache.put(key, new Response(""));
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - 500)).map((k) => cache.delete(k)));
  return true;
}

async function showNotice(notice) {
  const tag = notice.tag || "eoffice";
  if (!(await firstTime(notice.id))) return;
  await self.registration.showNotification(notice.title || "eOffice", {
    body: notice.body || "",
    tag,
    renotify: true,
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    data: { id: notice.id || null, url: notice.url || "/" },
  });
}

// Clicking opens the document in the app: an open eOffice window is focused and navigated,
// otherwise a new one is opened. Only our own origin's paths are followed.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = (event.notification.data && event.notification.data.url) || "/";
  const target = new URL(path.startsWith("/") && !path.startsWith("//") ? path : "/", self.location.origin).href;
  event.waitUntil(openWindow(target));
});

async function openWindow(target) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin === self.location.origin) {
      try {
        await client.focus();
      } catch (error) {
        // Focusing needs the click's user activation; navigating the window still helps.
      }
      return client.navigate(target);
    }
  }
  return self.clients.openWindow(target);
}
