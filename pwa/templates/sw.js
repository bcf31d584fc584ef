/* eOffice service worker. Rendered by the server: VERSION changes whenever an asset changes,
   and the app's paths are the routes' own (url_for), never written here. */
const VERSION = "{{ version }}";
const SHELL = "eoffice-shell-" + VERSION;
const PRECACHE = {{ precache_json | safe }};
const OFFLINE_URL = "{{ url_for('offline') }}";
const HOME_URL = "{{ url_for('home') }}";
const SIGNIN_URL = "{{ url_for('signin') }}";
const STATIC_PREFIX = "{{ url_for('static', path='') }}";
const OFFLINE_MANIFEST_URL = "{{ url_for('offline_manifest') }}";
const ICON_URL = "{{ url_for('static', path='icons/icon-192.png') }}";

self.addEventListener("install", (event) => {
  event.waitUntil(
    // Without cookies: the shell (the offline page above all) must not carry whoever was signed
    // in when the worker installed — a shared iPad shows it to the next person.
    caches.open(SHELL)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { credentials: "omit" }))))
      .then(() => self.skipWaiting())
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

// Routes: navigations are network-first (fresh data when online), falling back to the person's
// offline copy, then the cached public page, then the offline page. Page images of documents
// kept offline are cache-first (their URLs are content-addressed). Versioned static assets are
// cache-first.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && SIGN_OUT.includes(url.pathname)) {
    // A shared iPad: nothing of the person who leaves stays on it, even if the page forgot.
    event.respondWith(wipe().then(() => fetch(request)));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirstPage(request));
  } else if (PAGE_IMAGE.test(url.pathname)) {
    event.respondWith(pageImage(request));
  } else if (url.pathname.startsWith(STATIC_PREFIX) && url.searchParams.has("v")) {
    event.respondWith(cacheFirst(request));
  }
});

async function networkFirstPage(request) {
  try {
    const response = await fetch(request);
    if (response.status === 200 && new URL(request.url).pathname === SIGNIN_URL) {
      // The sign-in page is shown only to someone not signed in (an expired or ended session):
      // the documents kept for the last person go. Their unsent queue stays for their return.
      await wipeCaches();
    }
    // Keep a copy of public pages. Personal pages are `no-store`: only the offline sync below
    // keeps them, in the person's own cache.
    const cacheControl = response.headers.get("Cache-Control") || "";
    if (response.ok && !cacheControl.includes("no-store")) {
      const cache = await caches.open(SHELL);
      cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    return (await offlineCopy(request)) || (await caches.match(OFFLINE_URL)) || Response.error();
  }
}

async function offlineCopy(request) {
  const url = new URL(request.url);
  const cache = await userCache();
  if (cache) {
    const own = (await cache.match(request)) ||
      (url.pathname === HOME_URL ? await cache.match(HOME_URL) : undefined);
    if (own) return own;
  }
  const shell = await caches.open(SHELL);
  return (await shell.match(request)) ||
    (url.pathname === HOME_URL ? await shell.match(HOME_URL, { ignoreSearch: true }) : undefined);
}

async function pageImage(request) {
  const cache = await userCache();
  const kept = cache ? await cache.match(request) : undefined;
  if (kept) return kept;
  try {
    return await fetch(request);
  } catch (error) {
    // Offline the reader may ask for another width than the one kept: any width will do.
    const other = cache ? await cache.match(request, { ignoreSearch: true }) : undefined;
    if (other) return other;
    throw error;
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

// --- Offline reading --------------------------------------------------------------------------
// /offline/manifest lists what the signed-in person should have on this device. The worker keeps
// exactly that in the cache "eoffice-user-<id>": the reader pages (marked with the time they were
// saved), their page images and an index; what is no longer listed is deleted, and so are the
// caches of anyone else who used this device. Pages pass `{type: "sync"}` on load, after
// sign-in and when the device comes back online (iOS has no Background Sync).
const USER_PREFIX = "eoffice-user-";
// Not a route: the key the index is stored under in the person's cache (offline.js reads it).
const INDEX_URL = "/__offline/index";
const PAGE_IMAGE = new RegExp({{ page_image_pattern | tojson }});
const SIGN_OUT = [{{ url_for('signout') | tojson }}, {{ url_for('signout_everywhere') | tojson }}];
const QUEUE_DB = "eoffice-offline";
const MIN_SYNC_INTERVAL_MS = 30 * 1000;
let syncing = null;
let lastSync = 0;
let lastUser = null;

async function userCache() {
  const keys = await caches.keys();
  const name = keys.find((key) => key.startsWith(USER_PREFIX));
  return name ? caches.open(name) : null;
}

async function wipeCaches() {
  const keys = await caches.keys();
  await Promise.all(keys.filter((key) => key.startsWith(USER_PREFIX)).map((key) => caches.delete(key)));
  lastSync = 0;
  lastUser = null;
}

async function wipe() {
  await wipeCaches();
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(QUEUE_DB);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

function sync(force, user) {
  if (syncing) return syncing;
  const sameUser = user && String(user) === String(lastUser);
  if (!force && sameUser && Date.now() - lastSync < MIN_SYNC_INTERVAL_MS) {
    return Promise.resolve(null);
  }
  syncing = runSync().finally(() => { syncing = null; });
  return syncing;
}

async function runSync() {
  let response;
  try {
    response = await fetch(OFFLINE_MANIFEST_URL, {
      credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
    });
  } catch (error) {
    return null; // offline: keep what we have
  }
  const type = response.headers.get("Content-Type") || "";
  if (response.redirected || response.status === 401 || !type.startsWith("application/json")) {
    await wipeCaches(); // the session is over: what was kept for it goes with it
    return null;
  }
  if (!response.ok) return null;
  const manifest = await response.json();
  const name = USER_PREFIX + manifest.user;
  const keys = await caches.keys();
  await Promise.all(keys.filter((key) => key.startsWith(USER_PREFIX) && key !== name)
    .map((key) => caches.delete(key)));
  const cache = await caches.open(name);
  const previous = await readIndex(cache);
  const index = { user: manifest.user, synced_at: new Date().toISOString(), documents: {} };
  const keep = new Set([INDEX_URL]);
  let used = 0;
  for (const doc of manifest.documents) {
    const old = previous.documents[doc.id];
    let entry = null;
    if (old && old.version === doc.version && old.url === doc.url && (await complete(cache, doc))) {
      entry = old;
    } else {
      entry = await saveDocument(cache, doc);
    }
    if (!entry) continue;
    if (used + entry.bytes > manifest.budget_bytes) break; // over the size cap: stop here
    used += entry.bytes;
    index.documents[doc.id] = entry;
    keep.add(doc.url);
    doc.pages.forEach((page) => keep.add(page));
  }
  for (const list of manifest.lists) {
    if (await savePage(cache, list)) keep.add(list);
  }
  // Whatever is not listed any more (done, signed, no longer given to this person) goes.
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    if (!keep.has(url.pathname + url.search)) await cache.delete(request);
  }
  await cache.put(INDEX_URL, new Response(JSON.stringify(index), {
    headers: { "Content-Type": "application/json" },
  }));
  lastSync = Date.now();
  lastUser = manifest.user;
  await tell({ type: "offline-synced", documents: Object.keys(index.documents).map(Number) });
  return index;
}

async function readIndex(cache) {
  const found = await cache.match(INDEX_URL);
  try {
    if (found) return await found.json();
  } catch (error) { /* a damaged index is rebuilt */ }
  return { documents: {} };
}

async function complete(cache, doc) {
  if (!(await cache.match(doc.url))) return false;
  for (const page of doc.pages) {
    if (!(await cache.match(page))) return false;
  }
  return true;
}

async function saveDocument(cache, doc) {
  let bytes = 0;
  for (const page of doc.pages) {
    const cached = await cache.match(page);
    if (cached) {
      bytes += (await cached.clone().blob()).size;
      continue;
    }
    let response;
    try {
      response = await fetch(page, { credentials: "same-origin" });
    } catch (error) {
      return null;
    }
    if (!response.ok) return null;
    const blob = await response.blob();
    bytes += blob.size;
    await cache.put(page, new Response(blob, { headers: { "Content-Type": "image/webp" } }));
  }
  const size = await savePage(cache, doc.url);
  if (size === null) return null;
  return {
    id: doc.id, kind: doc.kind, url: doc.url, subject: doc.subject, version: doc.version,
    pages: doc.pages.length, bytes: bytes + size, saved_at: new Date().toISOString(),
  };
}

// A personal page stored for offline reading. The server sends it `no-store` (no HTTP cache may
// keep it); the copy here is marked with when it was saved, which the page shows offline.
async function savePage(cache, path) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  } catch (error) {
    return null;
  }
  if (!response.ok || response.redirected) return null;
  const html = await response.text();
  const saved = new Date().toISOString();
  const marked = html.replace(/<body/i, '<body data-offline-saved="' + saved + '"');
  const headers = new Headers({ "Content-Type": "text/html; charset=utf-8" });
  const csp = response.headers.get("Content-Security-Policy");
  if (csp) headers.set("Content-Security-Policy", csp);
  await cache.put(path, new Response(marked, { headers }));
  return marked.length;
}

async function tell(message) {
  const windows = await self.clients.matchAll({ type: "window" });
  windows.forEach((client) => client.postMessage(message));
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  const reply = (value) => { if (event.ports[0]) event.ports[0].postMessage(value); };
  if (data.type === "sync") {
    event.waitUntil(sync(!!data.force, data.user).then(
      (index) => reply({ ok: true, synced: !!index }),
      (error) => reply({ ok: false, error: String(error) })
    ));
  } else if (data.type === "wipe") {
    event.waitUntil(wipe().then(() => reply({ ok: true })));
  }
});

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
    icon: ICON_URL,
    badge: ICON_URL,
    data: { id: notice.id || null, url: notice.url || HOME_URL },
  });
}

// Clicking opens the document in the app: an open eOffice window is focused and navigated,
// otherwise a new one is opened. Only our own origin's paths are followed.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = (event.notification.data && event.notification.data.url) || HOME_URL;
  // "/" here is the shape of a local path (not "//host"), not a route.
  const local = path.startsWith("/") && !path.startsWith("//");
  const target = new URL(local ? path : HOME_URL, self.location.origin).href;
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
