// The resident's screens: sign in, activate with a printed code, the proposals open to them,
// and one proposal — its text, their own cost share, the vote (choose, confirm, recorded with
// a receipt; retried with the same key when the network fails) and the live tally.

import { h, replace, user, verbatim, announce } from "../dom.js";
import { api, ApiError, session, refreshSession, community, newKey } from "../api.js";
import { t, tn, tNodes, formatDateTime, formatRelative, formatMoney, formatInt } from "../i18n.js";
import { markdown } from "../markdown.js";
import { requirement, fromJson, levelName, presetSentence, measureName } from "../rules.js";
import { tallyBlock } from "../tally.js";
import { watchProposal } from "../live.js";
import { pageTitle, field, errorBox, stateBadge, busy } from "./common.js";
import * as election from "./election.js";
import { discussion, revisions } from "./discussion.js";
import { noticesBox } from "./notices.js";
import { petitionOrigin } from "./petitions.js";

// ------------------------------------------------------------------------------------------
// Signing in and activating

export async function signIn(ctx) {
  ctx.setTitle(t("signin.title"));
  const login = h("input", { type: "text", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "button primary big" }, t("signin.submit"));
  const message = h("div", { class: "form-message" });
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    field(t("field.login"), login),
    field(t("field.password"), password),
    message,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    if (!login.value.trim() || !password.value) {
      replace(message, h("p", { class: "error", role: "alert" }, t("signin.missing")));
      return;
    }
    try {
      await busy(submit, () => api("POST", "/session", { login: login.value.trim(), password: password.value }));
      await refreshSession();
      const next = ctx.query.get("next");
      ctx.navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
    } catch (e) {
      replace(message, errorBox(e));
      password.select();
    }
  });
  replace(
    ctx.main,
    pageTitle(t("signin.title")),
    h("p", { class: "lede" }, t("signin.lede")),
    form,
    h("div", { class: "card narrow aside" },
      h("h2", {}, t("signin.new.title")),
      h("p", {}, t("signin.new.text")),
      h("a", { href: "/activate", class: "button secondary big" }, t("signin.new.link"))),
  );
}

export async function activate(ctx) {
  ctx.setTitle(t("activate.title"));
  const code = h("input", {
    type: "text", name: "code", autocomplete: "one-time-code", required: true, autocapitalize: "characters",
    spellcheck: "false", class: "code-input", value: ctx.query.get("code") || "",
  });
  const login = h("input", { type: "text", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false", minlength: "3", maxlength: "32" });
  const password = h("input", { type: "password", name: "new-password", autocomplete: "new-password", required: true, minlength: "8", maxlength: "128" });
  const repeat = h("input", { type: "password", name: "repeat-password", autocomplete: "new-password", required: true });
  const submit = h("button", { type: "submit", class: "button primary big" }, t("activate.submit"));
  const message = h("div", { class: "form-message" });
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    field(t("field.code"), code, t("activate.code.hint")),
    field(t("field.new_login"), login, t("activate.login.hint")),
    field(t("field.new_password"), password, t("activate.password.hint")),
    field(t("field.repeat_password"), repeat),
    message,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    const problems = [];
    if (!code.value.trim()) problems.push(t("activate.err.code"));
    if (!/^[A-Za-z0-9_.-]{3,32}$/.test(login.value.trim())) problems.push(t("err.bad_login"));
    if ([...password.value].length < 8) problems.push(t("err.bad_password"));
    if (password.value !== repeat.value) problems.push(t("activate.err.repeat"));
    if (problems.length) {
      replace(message, h("div", { class: "error", role: "alert" }, h("ul", {}, problems.map((p) => h("li", {}, p)))));
      return;
    }
    try {
      const done = await busy(submit, () =>
        api("POST", "/activate", { code: code.value.trim(), login: login.value.trim(), password: password.value }),
      );
      await refreshSession();
      ctx.navigate("/", { replace: true, state: { welcome: done.membership.community_name } });
    } catch (e) {
      replace(message, errorBox(e));
    }
  });
  replace(
    ctx.main,
    pageTitle(t("activate.title")),
    h("p", { class: "lede" }, t("activate.lede")),
    form,
    h("p", { class: "center" }, h("a", { href: "/signin" }, t("activate.have_account"))),
  );
}

export async function signOut(ctx) {
  try {
    await api("DELETE", "/session");
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
  }
  await refreshSession();
  ctx.navigate("/signin", { replace: true });
}

// ------------------------------------------------------------------------------------------
// Home: the proposals open to me

const ORDER = ["voting", "deliberation", "draft", "closed", "certified", "withdrawn"];

export async function home(ctx) {
  const s = await session();
  const me = s.me;
  ctx.setTitle(t("home.title"));
  const welcome = ctx.state.welcome
    ? h("div", { class: "success", role: "status" }, h("p", {}, tNodes("home.welcome", { community: user(ctx.state.welcome) })))
    : null;
  const sections = [];
  if (!me.memberships.length) {
    sections.push(h("p", { class: "notice" }, t("home.no_communities")));
  }
  const loaded = await Promise.all(
    me.memberships.map(async (m) => {
      const [info, list] = await Promise.all([
        community(m.community),
        api("GET", `/communities/${encodeURIComponent(m.community)}/proposals`),
      ]);
      const voting = list.proposals.filter((p) => p.state === "voting");
      const mine = new Map();
      if (m.role === "voter") {
        const details = await Promise.all(voting.map((p) => api("GET", `/proposals/${encodeURIComponent(p.id)}`)));
        for (const d of details) mine.set(d.id, d.my_ballot);
      }
      return { m, info, list: list.proposals, mine };
    }),
  );
  for (const { m, info, list, mine } of loaded) {
    const groups = new Map();
    for (const p of list) {
      const group = p.state === "certified" ? "closed" : p.state;
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(p);
    }
    const parts = [];
    for (const group of ORDER) {
      const items = groups.get(group);
      if (!items) continue;
      parts.push(h("h3", {}, t(`home.group.${group}`)));
      parts.push(h("ul", { class: "cards" }, items.map((p) => proposalCard(p, info, m, mine))));
    }
    if (!list.length) parts.push(h("p", { class: "notice" }, t("home.no_proposals")));
    // Named by its heading: the community's name is people's text, not an app string.
    const headingId = `community-${m.community}`;
    sections.push(
      h(
        "section",
        { class: "community", "aria-labelledby": headingId },
        h("h2", { id: headingId }, user(info.name)),
        h("p", { class: "role" }, t("home.role", { role: t(`role.${m.role}`) })),
        await noticesBox(m.community, info.timezone),
        m.role === "officer" ? h("p", {}, h("a", { href: `/officer/${m.community}`, class: "button secondary" }, t("home.dashboard"))) : null,
        h("p", { class: "actions" },
          h("a", { href: `/c/${m.community}/petitions`, class: "button secondary", "data-petitions": m.community }, t("petitions.link")),
          h("a", { href: `/c/${m.community}/meetings`, class: "button secondary", "data-meetings": m.community }, t("meetings.link")),
          h("a", { href: `/committee/${m.community}`, class: "button secondary" }, t("el.committee"))),
        ...parts,
      ),
    );
  }
  replace(
    ctx.main,
    pageTitle(t("home.title")),
    welcome,
    h("p", { class: "lede" }, tNodes("home.signed_in_as", { login: verbatim(me.account.login, "strong") })),
    ...sections,
  );
}

function proposalCard(p, info, membership, mine) {
  const href = ["closed", "certified"].includes(p.state) ? `/result/${p.id}` : `/p/${p.id}`;
  const meta = [];
  if (p.state === "voting") {
    meta.push(h("span", { class: "deadline" }, t("deadline.closes", { when: formatDateTime(p.closes_at, info.timezone) }), " · ", h("strong", {}, formatRelative(p.closes_at))));
  } else if (p.state === "deliberation" && p.opens_at) {
    meta.push(h("span", {}, t("deadline.opens", { when: formatDateTime(p.opens_at, info.timezone) })));
  }
  let badge = stateBadge(p.state);
  if (p.state === "voting" && membership.role === "voter") {
    badge = mine.get(p.id)
      ? h("span", { class: "badge voted" }, "✓ ", t("home.voted"))
      : h("span", { class: "badge to-vote" }, t("home.not_voted"));
  }
  return h(
    "li",
    { class: "card proposal-card", "data-proposal": p.id },
    h("a", { href, class: "card-link" }, h("span", { class: "card-title" }, user(p.title)), h("span", { class: "card-meta" }, badge, ...meta)),
  );
}

// ------------------------------------------------------------------------------------------
// One proposal

/** Ballots being sent, by proposal, so a re-render (e.g. a language switch) keeps them going. */
const senders = new Map();
const PENDING = "yishi.pending.";

function loadPending(id) {
  try {
    const value = JSON.parse(localStorage.getItem(PENDING + id));
    return value && value.key && value.choice ? value : null;
  } catch {
    return null;
  }
}

function savePending(id, value) {
  try {
    localStorage.setItem(PENDING + id, JSON.stringify(value));
  } catch {
    // Not remembered across reloads; the retry loop still runs while the page is open.
  }
}

function clearPending(id) {
  try {
    localStorage.removeItem(PENDING + id);
  } catch {
    // nothing to clear
  }
}

const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Sends one ballot until the server answers for sure; every try uses the same key. */
class Sender {
  constructor(proposal, choice, key, resumed) {
    this.proposal = proposal;
    this.choice = choice;
    this.key = key;
    this.state = { phase: "sending", attempt: 1, resumed };
    this.listener = null;
    this.wake = null;
  }

  set(patch) {
    this.state = { ...this.state, ...patch };
    if (this.listener) this.listener(this.state);
  }

  retryNow() {
    if (this.wake) this.wake();
  }

  wait(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        window.removeEventListener("online", done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      window.addEventListener("online", done);
      this.wake = done;
    });
  }

  async run() {
    let delay = 2000;
    for (let attempt = 1; ; attempt += 1) {
      this.set({ phase: "sending", attempt });
      try {
        const receipt = await api("PUT", `/proposals/${encodeURIComponent(this.proposal)}/ballot`, {
          choice: this.choice,
          idempotency_key: this.key,
        });
        clearPending(this.proposal);
        this.set({ phase: "recorded", receipt, troubled: attempt > 1 || this.state.resumed });
        return;
      } catch (e) {
        if (e instanceof ApiError && (e.offline || TRANSIENT.has(e.status))) {
          this.set({ phase: "waiting", attempt, error: e, delay });
          await this.wait(delay);
          delay = Math.min(30000, delay * 2);
          continue;
        }
        if (e instanceof ApiError && e.status === 401) {
          // Kept in storage: after signing in again the same ballot is sent again.
          this.set({ phase: "signed_out", error: e });
          return;
        }
        clearPending(this.proposal);
        this.set({ phase: e instanceof ApiError && e.code === "already_voted" ? "already" : "refused", error: e });
        return;
      }
    }
  }
}

function startSender(proposal, choice, key, resumed) {
  const sender = new Sender(proposal, choice, key, resumed);
  senders.set(proposal, sender);
  savePending(proposal, { choice, key });
  sender.run();
  return sender;
}

function choiceWords(choice) {
  return t(`choice.${choice}.long`);
}

/** The unmistakable "your vote is recorded" panel. */
function recordedPanel(ballot, info, note) {
  return h(
    "section",
    { class: "recorded", "aria-labelledby": "recorded-title", tabindex: "-1", "data-recorded": "" },
    h("h2", { id: "recorded-title" }, h("span", { class: "tick", "aria-hidden": "true" }, "✓"), " ", t("vote.recorded.title")),
    note ? h("p", { class: "note" }, note) : null,
    h("p", { class: "your-choice" }, t("vote.recorded.choice"), " ", h("strong", { class: `choice-${ballot.choice}` }, choiceWords(ballot.choice))),
    h("p", {}, t("vote.recorded.when", { when: formatDateTime(ballot.at, info.timezone) })),
    h("p", {}, t(`vote.recorded.channel.${ballot.channel || "online"}`)),
    h("div", { class: "receipt-box" },
      h("p", {}, h("strong", {}, t("vote.receipt.title"))),
      h("p", { class: "hint" }, t("vote.receipt.hint")),
      verbatim(ballot.receipt, "code", { class: "receipt", "data-receipt": ballot.receipt })),
  );
}

function sendingPanel(sender, info, onRetry) {
  const s = sender.state;
  if (s.phase === "recorded") {
    let note = null;
    if (s.troubled) note = s.receipt.replayed ? t("vote.arrived.earlier") : t("vote.arrived.now");
    return recordedPanel(s.receipt, info, note);
  }
  if (s.phase === "waiting") {
    const seconds = Math.round(s.delay / 1000);
    return h(
      "section",
      { class: "warning sending", role: "alert", "data-phase": "waiting" },
      h("h2", {}, t("vote.waiting.title")),
      h("p", {}, s.error && s.error.offline ? t("vote.waiting.offline") : t("vote.waiting.server")),
      h("p", {}, t("vote.waiting.safe")),
      h("p", {}, tn("vote.waiting.next", seconds), " ", t("vote.waiting.attempt", { n: formatInt(s.attempt) })),
      h("button", { type: "button", class: "button primary big", onclick: onRetry }, t("vote.waiting.retry")),
    );
  }
  if (s.phase === "signed_out") {
    return h("section", { class: "warning", role: "alert" }, h("h2", {}, t("vote.signed_out.title")), h("p", {}, t("vote.signed_out.text")),
      h("a", { href: `/signin?next=${encodeURIComponent(location.pathname)}`, class: "button primary big" }, t("nav.signin")));
  }
  if (s.phase === "refused") {
    return errorBox(s.error, t("vote.refused"));
  }
  return h(
    "section",
    { class: "sending", role: "status", "data-phase": "sending" },
    h("h2", {}, s.attempt > 1 ? t("vote.sending.again", { n: formatInt(s.attempt) }) : s.resumed ? t("vote.sending.resumed") : t("vote.sending")),
    h("p", {}, t("vote.sending.choice"), " ", h("strong", {}, choiceWords(sender.choice))),
  );
}

/** The vote: choose with big labelled buttons, then confirm. */
function voteForm(p, onConfirmed) {
  const options = ["yes", "no", "abstain"].map((choice) => {
    const input = h("input", { type: "radio", name: "choice", value: choice, id: `choice-${choice}`, required: true });
    return h(
      "div",
      { class: `choice ${choice}` },
      input,
      h("label", { for: `choice-${choice}` }, h("span", { class: "choice-mark", "aria-hidden": "true" }, { yes: "✓", no: "✗", abstain: "–" }[choice]), h("span", {}, choiceWords(choice))),
    );
  });
  const message = h("div", { class: "form-message" });
  const next = h("button", { type: "submit", class: "button primary big" }, t("vote.continue"));
  const form = h(
    "form",
    { class: "vote-form", novalidate: true },
    h("fieldset", { class: "choices" }, h("legend", {}, t("vote.question")), ...options),
    h("p", { class: "hint" }, p.allow_change ? t("vote.change_allowed") : t("vote.final")),
    message,
    next,
  );
  const box = h("div", { class: "vote-box" }, form);
  form.addEventListener("change", (event) => {
    if (event.target.name === "choice") announce(t("vote.selected", { choice: choiceWords(event.target.value) }));
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input[name=choice]:checked");
    if (!chosen) {
      replace(message, h("p", { class: "error", role: "alert" }, t("vote.choose_first")));
      form.querySelector("input[name=choice]").focus();
      return;
    }
    const choice = chosen.value;
    const question = h("h3", { tabindex: "-1", id: "confirm-title" }, t("vote.confirm.title"));
    const confirm = h("button", { type: "button", class: `button big confirm-${choice}`, "data-confirm": "" }, t("vote.confirm.button", { choice: choiceWords(choice) }));
    const back = h("button", { type: "button", class: "button secondary big" }, t("vote.confirm.back"));
    const panel = h(
      "div",
      { class: "confirm", role: "group", "aria-labelledby": "confirm-title" },
      question,
      h("p", { class: "your-choice" }, t("vote.confirm.you_vote"), " ", h("strong", { class: `choice-${choice}` }, choiceWords(choice))),
      h("p", {}, tNodes("vote.confirm.on", { title: user(p.title, "q") })),
      h("p", { class: "hint" }, p.allow_change ? t("vote.change_allowed") : t("vote.final")),
      h("div", { class: "actions stacked" }, confirm, back),
    );
    back.addEventListener("click", () => {
      box.replaceChildren(form);
      chosen.focus();
    });
    confirm.addEventListener("click", () => onConfirmed(choice));
    box.replaceChildren(panel);
    question.focus();
  });
  return box;
}

function costBox(p) {
  if (!p.cost) return null;
  const total = formatMoney(p.cost.amount, p.cost.currency);
  const how = t(`cost.split.${p.cost.split}`, { amount: total, measure: measureName(p.cost.weight || "") });
  const share = p.my_cost_share;
  return h(
    "section",
    { class: "cost", "aria-labelledby": "cost-title" },
    h("h2", { id: "cost-title" }, t("cost.title")),
    share
      ? h("p", { class: "my-share" }, t("cost.mine"), " ", h("strong", { "data-cost-share": share.amount }, formatMoney(share.amount, share.currency)))
      : null,
    share && !share.exact ? h("p", { class: "hint" }, t("cost.rounded")) : null,
    h("p", {}, how),
  );
}

function ruleBox(p) {
  const levels = (p.rule && p.rule.levels) || [];
  const items = [];
  for (const level of levels) {
    if (levels.length > 1) items.push(h("h3", {}, t("tally.level", { level: levelName(level.label) })));
    items.push(h("ul", { class: "requirements" }, level.conditions.map((c) => h("li", {}, requirement(fromJson(c))))));
  }
  return h(
    "section",
    { class: "rule", "aria-labelledby": "rule-title", id: "rule" },
    h("h2", { id: "rule-title" }, t("rule.title")),
    levels.length > 1 ? h("p", {}, t("rule.levels")) : h("p", {}, t("rule.all")),
    ...items,
    p.rule && p.rule.preset ? h("p", { class: "hint" }, presetSentence(p.rule.preset)) : null,
  );
}

function factsList(p, info) {
  const facts = [];
  const add = (term, ...desc) => facts.push(h("dt", {}, term), h("dd", {}, ...desc));
  add(t("facts.state"), stateBadge(p.state));
  if (p.state === "voting" || p.state === "deliberation" || p.state === "draft") {
    add(t("facts.closes"), formatDateTime(p.closes_at, info.timezone), " · ", h("strong", {}, formatRelative(p.closes_at)));
  }
  if (p.opens_at && (p.state === "deliberation" || p.state === "draft")) add(t("facts.opens"), formatDateTime(p.opens_at, info.timezone));
  if (p.opened_at) add(t("facts.opened"), formatDateTime(p.opened_at, info.timezone));
  if (p.closed_at) add(t("facts.closed"), formatDateTime(p.closed_at, info.timezone));
  add(t("facts.secrecy"), t(`secrecy.${p.secrecy}`));
  add(t("facts.visibility"), t(`visibility.${p.visibility}`));
  if (p.scope && p.scope.length) add(t("facts.scope"), user(p.scope.join(", ")));
  for (const e of p.extensions || []) {
    add(t("facts.extended"), t("facts.extended.text", { from: formatDateTime(e.from, info.timezone), to: formatDateTime(e.to, info.timezone) }), " — ", user(e.reason, "q"));
  }
  if (p.withdrawn_reason) add(t("facts.withdrawn"), user(p.withdrawn_reason, "q"));
  return h("dl", { class: "facts" }, ...facts);
}

function hiddenReason(p) {
  return p.visibility === "after_close" ? t("tally.hidden.after_close") : t("tally.hidden.after_vote");
}

/** The live tally section; returns {element, stop}. */
export function liveTally(ctx, p, options = {}) {
  const status = h("p", { class: "live-status", "data-live": "connecting" }, t("live.connecting"));
  const body = h("div", { class: "tally-body", "aria-live": "off" });
  const section = h(
    "section",
    { class: "tally-section", "aria-labelledby": "tally-title", id: "tally" },
    h("div", { class: "section-head" }, h("h2", { id: "tally-title" }, options.title || t("tally.title")), status),
    body,
  );
  let lastCertainty = null;
  const show = (view) => {
    replace(body, tallyBlock(view, { big: options.big, hiddenReason: hiddenReason(p) }));
    body.dataset.ledger = view.ledger_len ?? "";
    if (view.certainty && view.certainty !== lastCertainty && lastCertainty !== null && view.certainty !== "open") {
      announce(t(`certainty.${view.certainty}`));
    }
    lastCertainty = view.certainty || lastCertainty;
  };
  const setStatus = (s, delay) => {
    status.dataset.live = s;
    if (s === "reconnecting") {
      status.textContent = tn("live.reconnecting", Math.max(1, Math.round(delay / 1000)));
    } else {
      status.textContent = t(`live.${s}`);
    }
  };
  if (p.state === "voting") {
    const watcher = watchProposal(p.id, {
      onMessage: (m) => {
        if (options.onMessage) options.onMessage(m);
        show(m);
      },
      onStatus: setStatus,
    });
    ctx.onCleanup(() => watcher.stop());
  } else {
    setStatus("final");
    api("GET", `/proposals/${encodeURIComponent(p.id)}/tally`)
      .then((view) => {
        if (ctx.current()) show(view);
      })
      .catch((e) => {
        if (ctx.current()) replace(body, errorBox(e));
      });
  }
  return section;
}

export async function proposal(ctx) {
  const id = ctx.params[0];
  const [s, p] = await Promise.all([session(), api("GET", `/proposals/${encodeURIComponent(id)}`)]);
  if (p.question === "election") return election.residentPage(ctx, p);
  const info = await community(p.community);
  const membership = s.me.memberships.find((m) => m.community === p.community);
  const isVoter = membership && membership.role === "voter";
  const isOfficer = (membership && membership.role === "officer") || s.me.is_admin;
  ctx.setTitle(p.title);

  // The vote panel.
  const votePanel = h("section", { class: "vote", "aria-labelledby": "vote-title", id: "vote" });
  const drawVote = (focus) => {
    const sender = senders.get(p.id);
    const heading = h("h2", { id: "vote-title" }, t("vote.title"));
    if (sender) {
      sender.listener = (state) => {
        if (!ctx.current()) return;
        drawVote(false);
        if (state.phase === "recorded") {
          announce(t("vote.recorded.title"));
          const panel = votePanel.querySelector("[data-recorded]");
          if (panel) panel.focus();
        }
        if (state.phase === "already") {
          senders.delete(p.id);
          api("GET", `/proposals/${encodeURIComponent(p.id)}`).then((fresh) => {
            if (!ctx.current()) return;
            p.my_ballot = fresh.my_ballot;
            if (fresh.my_ballot) replace(votePanel, heading, recordedPanel(fresh.my_ballot, info, t("vote.already")));
          });
        }
      };
      replace(votePanel, heading, sendingPanel(sender, info, () => sender.retryNow()));
      if (sender.state.phase === "recorded" || sender.state.phase === "refused") senders.delete(p.id);
      return;
    }
    if (p.my_ballot && !(p.allow_change && votePanel.dataset.changing)) {
      const change = p.allow_change && p.state === "voting"
        ? h("button", { type: "button", class: "button secondary big", onclick: () => { votePanel.dataset.changing = "1"; drawVote(true); } }, t("vote.change"))
        : null;
      replace(votePanel, heading, recordedPanel(p.my_ballot, info), change);
      return;
    }
    if (p.state === "voting") {
      const form = voteForm(p, (choice) => {
        delete votePanel.dataset.changing;
        startSender(p.id, choice, newKey(), false);
        drawVote(true);
      });
      replace(votePanel, heading, form);
      if (focus) {
        const first = form.querySelector("input");
        if (first) first.focus();
      }
      return;
    }
    const text = p.state === "deliberation" || p.state === "draft" ? t("vote.not_open") : t("vote.over");
    replace(votePanel, heading, h("p", { class: "notice" }, text));
  };

  if (isVoter) {
    const pending = loadPending(p.id);
    if (pending && !senders.has(p.id)) {
      if (p.my_ballot) {
        clearPending(p.id);
      } else if (p.state === "voting") {
        startSender(p.id, pending.choice, pending.key, true);
      } else {
        clearPending(p.id);
      }
    }
    drawVote(false);
  } else {
    replace(
      votePanel,
      h("h2", { id: "vote-title" }, t("vote.title")),
      h("p", { class: "notice" }, membership ? t("vote.not_voter", { role: t(`role.${membership.role}`) }) : t("vote.not_member")),
    );
  }

  const links = [];
  if (["voting", "closed", "certified"].includes(p.state)) links.push(h("a", { href: `/projector/${p.id}`, class: "button secondary" }, t("links.projector")));
  if (["closed", "certified"].includes(p.state)) links.push(h("a", { href: `/result/${p.id}`, class: "button secondary" }, t("links.result")));
  if (isOfficer) links.push(h("a", { href: `/officer/p/${p.id}`, class: "button secondary" }, t("links.manage")));

  const showTally = ["voting", "closed", "certified"].includes(p.state);
  const talk = discussion(ctx, { kind: "proposals", id: p.id, community: p.community, timezone: info.timezone });
  // The text comes before the vote (read, then decide); the jump links spare a returning
  // voter the scrolling.
  replace(
    ctx.main,
    h("p", { class: "breadcrumb" }, h("a", { href: "/" }, t("nav.home")), " › ", user(info.name)),
    pageTitle(user(p.title)),
    h("nav", { class: "jump", "aria-label": t("jump.label") },
      h("a", { href: "#vote" }, t("vote.title")),
      showTally ? h("a", { href: "#tally" }, t("tally.title")) : null,
      h("a", { href: "#rule" }, t("rule.title")),
      h("a", { href: "#discussion" }, t("jump.discussion"))),
    factsList(p, info),
    petitionOrigin(ctx, p, Boolean(membership)),
    costBox(p),
    h("section", { class: "body", "aria-labelledby": "body-title" }, h("h2", { id: "body-title" }, t("proposal.text")), h("div", { class: "markdown", "data-user": "" }, markdown(p.body))),
    revisions(ctx, p, info.timezone, isOfficer && ["draft", "deliberation"].includes(p.state)),
    votePanel,
    showTally ? liveTally(ctx, p) : null,
    ruleBox(p),
    talk,
    links.length ? h("nav", { class: "actions", "aria-label": t("links.more") }, ...links) : null,
  );
  await talk.start();
}
