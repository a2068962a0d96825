// The app: the header (who is signed in, the language switch), the router that draws the
// screen for the address, focus moved to each new screen's heading, the offline notice, and
// the service worker that keeps the shell for bad connections.

import "./errors.js";
import { h, replace, verbatim, announce } from "./dom.js";
import { ApiError, session, forgetSession } from "./api.js";
import { t, lang, setLang, htmlLang, onLangChange } from "./i18n.js";
import * as resident from "./views/resident.js";
import * as officer from "./views/officer.js";
import * as result from "./views/result.js";
import * as projector from "./views/projector.js";
import * as election from "./views/election.js";
import * as petitions from "./views/petitions.js";
import * as meetings from "./views/meetings.js";
import { pageTitle, errorBox } from "./views/common.js";

const ID = "([0-9A-Za-z_-]{1,64})";
const route = (pattern, view, options = {}) => ({ re: new RegExp(`^${pattern}$`), view, ...options });

const ROUTES = [
  route("/", resident.home, { auth: true }),
  route("/signin", resident.signIn),
  route("/activate", resident.activate),
  route(`/p/${ID}`, resident.proposal, { auth: true }),
  route(`/result/${ID}`, result.page),
  route(`/projector/${ID}`, projector.page, { auth: true, projector: true }),
  route(`/officer/p/${ID}/turnout`, officer.turnout, { auth: true }),
  route(`/officer/p/${ID}`, officer.manage, { auth: true }),
  route(`/officer/${ID}/new`, officer.newProposal, { auth: true }),
  // Elections and the committee (issue 8).
  route(`/officer/${ID}/new-election`, election.newElection, { auth: true }),
  route(`/committee/${ID}`, election.committeePage),
  route(`/officer/${ID}/codes`, officer.codes, { auth: true }),
  route(`/officer/${ID}`, officer.dashboard, { auth: true }),
  // deliberation
  route(`/c/${ID}/petitions`, petitions.list, { auth: true }),
  route(`/petition/${ID}`, petitions.page, { auth: true }),
  route(`/c/${ID}/meetings`, meetings.list, { auth: true }),
  route(`/meeting/${ID}`, meetings.page, { auth: true }),
];

let cleanups = [];
let renderCount = 0;

export function navigate(path, options = {}) {
  const state = options.state || {};
  if (options.replace) history.replaceState(state, "", path);
  else history.pushState(state, "", path);
  render({ focus: true });
}

function setTitle(title) {
  document.title = title ? `${title} · ${t("app.name")}` : t("app.name");
}

async function drawHeader() {
  const nav = document.getElementById("nav");
  const langButton = document.getElementById("lang");
  const skip = document.getElementById("skip");
  skip.textContent = t("nav.skip");
  nav.setAttribute("aria-label", t("nav.label"));
  const other = lang() === "zh" ? "en" : "zh";
  langButton.textContent = other === "zh" ? "中文" : "English";
  langButton.setAttribute("lang", other === "zh" ? "zh-Hans" : "en");
  langButton.setAttribute("aria-label", other === "zh" ? "切换到中文" : "Switch to English");
  langButton.dataset.switchTo = other;
  let s;
  try {
    s = await session();
  } catch {
    s = null; // offline: who is signed in is not known, so no links are offered
  }
  const items = [];
  if (!s) {
    // nothing
  } else if (s.signed_in) {
    items.push(h("a", { href: "/" }, t("nav.home")));
    const officerOf = s.me.memberships.filter((m) => m.role === "officer");
    if (officerOf.length === 1) items.push(h("a", { href: `/officer/${officerOf[0].community}` }, t("nav.council")));
    items.push(h("button", { type: "button", class: "link", id: "signout", "data-signout": "" }, t("nav.signout"), " ", verbatim(s.me.account.login, "span", { class: "who" })));
  } else {
    items.push(h("a", { href: "/signin" }, t("nav.signin")));
    items.push(h("a", { href: "/activate" }, t("nav.activate")));
  }
  replace(nav, h("ul", {}, items.map((item) => h("li", {}, item))));
  const here = location.pathname;
  for (const a of nav.querySelectorAll("a")) {
    if (a.getAttribute("href") === here) a.setAttribute("aria-current", "page");
  }
}

function drawOffline() {
  const banner = document.getElementById("banner");
  replace(banner, navigator.onLine ? null : h("p", { class: "offline" }, t("offline.banner")));
}

async function render({ focus = false } = {}) {
  const mine = ++renderCount;
  for (const cleanup of cleanups.splice(0)) {
    try {
      cleanup();
    } catch {
      // a screen that failed to clean up must not stop the next one
    }
  }
  document.documentElement.lang = htmlLang();
  drawOffline();
  const url = new URL(location.href);
  const main = document.getElementById("main");
  const found = ROUTES.map((r) => ({ r, m: r.re.exec(url.pathname) })).find((x) => x.m);
  document.body.classList.toggle("projector-mode", Boolean(found && found.r.projector));
  const ctx = {
    main,
    params: found ? found.m.slice(1) : [],
    query: url.searchParams,
    state: history.state || {},
    navigate,
    setTitle,
    onCleanup: (fn) => cleanups.push(fn),
    current: () => mine === renderCount,
  };
  main.setAttribute("aria-busy", "true");
  const header = drawHeader();
  try {
    if (!found) {
      setTitle(t("notfound.title"));
      replace(main, pageTitle(t("notfound.title")), h("p", {}, t("notfound.text")), h("p", {}, h("a", { href: "/", class: "button primary" }, t("nav.home"))));
    } else {
      if (found.r.auth) {
        const s = await session();
        if (!s.signed_in) {
          ctx.query = new URLSearchParams({ next: url.pathname + url.search });
          await resident.signIn(ctx);
          return;
        }
      }
      await found.r.view(ctx);
    }
  } catch (e) {
    if (mine !== renderCount) return;
    if (e instanceof ApiError && e.offline) {
      // The shell opened (from the service worker's cache) but the server cannot be reached:
      // say so, and try again by itself when the connection returns.
      setTitle(t("offline.title"));
      const again = () => render({ focus: false });
      window.addEventListener("online", again, { once: true });
      ctx.onCleanup(() => window.removeEventListener("online", again));
      replace(main, pageTitle(t("offline.title")), h("p", { class: "lede" }, t("offline.text")),
        h("button", { type: "button", class: "button primary big", onclick: () => render({ focus: true }) }, t("offline.retry")));
      return;
    }
    if (e instanceof ApiError && e.status === 401) {
      forgetSession();
      ctx.query = new URLSearchParams({ next: url.pathname + url.search });
      await resident.signIn(ctx);
      return;
    }
    setTitle(t("err.title"));
    const notFound = e instanceof ApiError && (e.status === 404 || e.code === "forbidden_officer");
    replace(main, pageTitle(notFound ? t("notfound.title") : t("err.title")), notFound ? h("p", {}, t(e.code === "forbidden_officer" ? "err.officers_only" : "notfound.text")) : errorBox(e),
      h("p", {}, h("a", { href: "/", class: "button primary" }, t("nav.home"))));
  } finally {
    if (mine === renderCount) {
      main.removeAttribute("aria-busy");
      await header;
      if (focus) {
        const heading = main.querySelector("h1");
        if (heading) heading.focus({ preventScroll: false });
        window.scrollTo(0, 0);
      }
      if (location.hash) {
        const target = document.getElementById(location.hash.slice(1));
        if (target) target.scrollIntoView();
      }
      document.body.dataset.ready = String(mine);
    }
  }
}

// Links inside the app are handled here; the API, downloads and the official pages are not.
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const signout = event.target.closest("[data-signout]");
  if (signout) {
    event.preventDefault();
    resident.signOut({ navigate }).catch((e) => {
      replace(document.getElementById("main"), errorBox(e));
    });
    return;
  }
  const a = event.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  if (/^\/(api|r)\//.test(url.pathname) || url.pathname === "/healthz") return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener("popstate", () => render({ focus: true }));
window.addEventListener("online", drawOffline);
window.addEventListener("offline", drawOffline);

document.getElementById("lang").addEventListener("click", (event) => {
  setLang(event.currentTarget.dataset.switchTo);
});
onLangChange(() => {
  render({ focus: false }).then(() => {
    announce(t("lang.changed"));
    document.getElementById("lang").focus();
  });
});

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(() => {
    // Without the worker the app still works; it just cannot open offline.
  });
}

render({ focus: false });
