// The volunteers' app opens without a connection: its own files are kept in the browser's cache
// and served from there when the network fails. The network always goes first, so a new version
// arrives with the next load that has a connection. Nothing else is cached: API calls (POSTs)
// are left to the network untouched, and no answer of a service is kept by this worker.
const CACHE = "peerwell-volunteer-v1";
const SHELL = [
  "/volunteer/", "/volunteer/app.js", "/volunteer/checkin.js", "/volunteer/outbox.js",
  "/volunteer/peers.js", "/volunteer/app.css", "/volunteer/manifest.webmanifest", "/app.css",
  "/favicon.svg", "/shared/api.js", "/shared/alerts.js", "/shared/calendar.js", "/shared/dom.js",
  "/shared/signin.js", "/shared/trends.js", "/shared/words.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin ||
      !SHELL.includes(url.pathname)) {
    return;
  }
  event.respondWith(fetch(event.request)
    .then((response) => {
      if (response.ok) {
        const copy = response.clone();
        event.waitUntil(caches.open(CACHE).then((cache) => cache.put(url.pathname, copy)));
      }
      return response;
    })
    .catch(() => caches.match(url.pathname).then((kept) => kept || Response.error())));
});
