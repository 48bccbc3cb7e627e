/* Savitarna's service worker for one utility: an offline page, nothing more.

   It keeps (precaches) the utility's offline page in each language and the files
   that page needs, in a cache named after the release, and answers from that cache
   only when the network fails. It stores nothing it sees at run time: no page, no
   POST, no htmx fragment, no account page, nothing marked no-store; a page that
   cannot be reached is answered with the offline page, never with an old copy. */
"use strict";

const SETTINGS = {{ settings|tojson }};
const PRECACHE = new Set(SETTINGS.precache.map((path) => new URL(path, self.location).href));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SETTINGS.cache).then(async (cache) => {
      // The offline pages are fetched without cookies: nothing of the person's
      // session (a message waiting to be shown, a language choice) goes into them.
      const offline = new Set(Object.values(SETTINGS.offline));
      await cache.addAll(SETTINGS.precache.map((path) => offline.has(path)
        ? new Request(path, { credentials: "omit" })
        : path));
      await keepOfflinePage(cache, SETTINGS.defaultLanguage);
      await self.skipWaiting();
    })
  );
});

// A new release's worker removes the caches of the ones before it.
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) => Promise.all(
      names
        .filter((name) => name.startsWith(SETTINGS.cachePrefix) && name !== SETTINGS.cache)
        .map((name) => caches.delete(name))
    )).then(() => self.clients.claim())
  );
});

// The pages say which language the person reads (static/js/app.js); the offline
// page in that language becomes the one shown when a page cannot be reached.
self.addEventListener("message", (event) => {
  const language = event.data && event.data.language;
  if (Object.prototype.hasOwnProperty.call(SETTINGS.offline, language)) {
    event.waitUntil(caches.open(SETTINGS.cache).then((cache) => keepOfflinePage(cache, language)));
  }
});

async function keepOfflinePage(cache, language) {
  const page = await cache.match(SETTINGS.offline[language]);
  if (page) await cache.put(SETTINGS.offlineCurrent, page);
}

/* Which requests the worker answers at all. Everything else goes to the network
   as if there were no worker. Exported for the tests through `self.savitarna`. */
function handles(request) {
  if (request.method !== "GET") return false;
  if (request.headers.has("HX-Request")) return false;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  if (!url.pathname.startsWith(SETTINGS.scope)) return false;
  if (SETTINGS.bypass.some((prefix) => url.pathname.startsWith(prefix))) return false;
  return request.mode === "navigate" || PRECACHE.has(url.href);
}

async function offlinePage(request) {
  const cache = await caches.open(SETTINGS.cache);
  const asked = new URL(request.url).searchParams.get("lang");
  const own = Object.prototype.hasOwnProperty.call(SETTINGS.offline, asked);
  return (own && await cache.match(SETTINGS.offline[asked]))
    || await cache.match(SETTINGS.offlineCurrent)
    || Response.error();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (!handles(request)) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => offlinePage(request)));
  } else {
    event.respondWith(
      fetch(request).catch(() => caches.open(SETTINGS.cache)
        .then((cache) => cache.match(request))
        .then((kept) => kept || Response.error()))
    );
  }
});

self.savitarna = { handles, settings: SETTINGS };
