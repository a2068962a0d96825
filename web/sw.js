// The service worker keeps the app shell so Yishi opens on a bad connection. Its version is
// filled in by the server from a hash of every file, so any change installs a new worker that
// fetches the new files. Only the shell is cached: the API, votes and live tallies never are.

const VERSION = "__YISHI_ASSETS_VERSION__";
const CACHE = `yishi-shell-${VERSION}`;
const SHELL = [
  "/",
  "/app.css",
  "/app.js",
  "/api.js",
  "/dom.js",
  "/errors.js",
  "/i18n.js",
  "/strings.js",
  "/markdown.js",
  "/rules.js",
  "/tally.js",
  "/live.js",
  "/views/common.js",
  "/views/resident.js",
  "/views/officer.js",
  "/views/result.js",
  "/views/projector.js",
  "/views/election.js",
  "/feed.js",
  "/views/discussion.js",
  "/views/petitions.js",
  "/views/meetings.js",
  "/views/outreach.js",
  "/views/notices.js",
  "/manifest.webmanifest",
  "/icon.svg",
];

self.addEventListener("install", (event) => {
  // Where the browser supports it, API calls (votes above all) skip the worker entirely.
  if (event.addRoutes && typeof URLPattern === "function") {
    event.waitUntil(
      event
        .addRoutes([
          { condition: { urlPattern: new URLPattern({ pathname: "/api/*" }) }, source: "network" },
          { condition: { urlPattern: new URLPattern({ pathname: "/r/*" }) }, source: "network" },
        ])
        .catch(() => {}),
    );
  }
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "no-cache" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("yishi-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/**
 * The cached copy first — this version's files were all fetched together at install, so they
 * match — and the network when there is none. A new version arrives as a new worker.
 */
async function fromCacheOrNetwork(request, key) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(key);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(key, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (/^\/(api|r)\//.test(url.pathname) || url.pathname === "/healthz" || url.pathname === "/metrics") return;
  if (request.mode === "navigate") {
    // Every app address is the same shell.
    event.respondWith(fromCacheOrNetwork(request, "/"));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith(fromCacheOrNetwork(request, url.pathname));
  }
});
