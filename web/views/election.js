// Owners' committee elections: the resident's ballot ("choose up to N", counted as it is
// filled, over-voting impossible), standing for election, the live and final ranking; the
// officer's screens (new election, candidates and nominations, paper ballots, tie-breaks) and
// the public committee roster with its vacancies and successions.

import { h, replace, user, verbatim, announce } from "../dom.js";
import { api, ApiError, session, community, newKey } from "../api.js";
import { t, tn, formatDateTime, formatInt, formatDecimal, toLocalInput, fromLocalInput } from "../i18n.js";
import { PRESETS, presetSentence } from "../rules.js";
import { markdown } from "../markdown.js";
import { conditionSentence } from "../tally.js";
import { watchProposal } from "../live.js";
import { pageTitle, field, errorBox, stateBadge, busy } from "./common.js";

const enc = encodeURIComponent;
const TRANSIENT = new Set([0, 408, 425, 429, 500, 502, 503, 504]);

function back(href, text) {
  return h("p", { class: "breadcrumb" }, h("a", { href }, "‹ ", text));
}

function nameOf(election, id) {
  const c = election.candidates.find((x) => x.id === id);
  return c ? c.name : id;
}

/** The ids a ledger choice approves (`c1;c3`), or null for a spoiled ballot. */
function approvedIds(choice) {
  if (choice === "invalid") return null;
  return choice ? choice.split(";") : [];
}

/** The one sentence that explains alternates. */
function alternatesRule(election) {
  return election.alternates > 0
    ? t("el.rule.alternates", { seats: formatInt(election.seats), alternates: formatInt(election.alternates) })
    : t("el.rule.no_alternates", { seats: formatInt(election.seats) });
}

function standingText(c) {
  if (c.standing === "alternate") return t("el.standing.alternate", { n: formatInt(c.alternate_order) });
  return t(`el.standing.${c.standing}`);
}

function approvalsText(c) {
  const area = c.approvals.weights && c.approvals.weights.area;
  return area !== undefined
    ? tn("el.approvals.area", c.approvals.headcount, { area: formatDecimal(area) })
    : tn("el.approvals", c.approvals.headcount);
}

/**
 * The ranking: every candidate with approvals (households and area), whether the rule holds for
 * them, rank and standing; the ties still waiting for a tie-break.
 */
export function rankingBlock(result, options = {}) {
  if (!result) return h("p", { class: "notice" }, t("el.no_result"));
  const participants = result.participants ? result.participants.headcount : 0;
  const rows = result.candidates.map((c) =>
    h("li", { class: `candidate-result standing-${c.standing}`, "data-candidate": c.id, "data-standing": c.standing },
      h("div", { class: "candidate-head" },
        h("span", { class: "rank" }, c.rank ? `${formatInt(c.rank)}.` : "–"),
        h("strong", { class: "candidate-name" }, user(c.name || c.id)),
        options.live ? null : h("span", { class: `badge standing ${c.standing}` }, standingText(c))),
      h("p", {}, approvalsText(c), " · ", c.qualifies ? t("el.rule_holds") : t("el.rule_fails")),
      h("progress", { max: String(Math.max(1, participants)), value: String(c.approvals.headcount), "aria-label": approvalsText(c) }),
      c.qualifies || !options.details
        ? null
        : h("ul", { class: "requirements" }, c.conditions.filter((x) => !x.holds).map((x) => h("li", {}, conditionSentence(x))))));
  const ties = (result.ties || []).map((tie) =>
    h("li", {}, t("el.tie", { first: formatInt(tie.first_position), last: formatInt(tie.last_position) }), " ",
      user(tie.candidates.map((id) => nameOf(result, id)).join("、"))));
  return h("div", { class: "ranking" },
    result.electorate
      ? h("p", { class: "turnout" }, t("el.turnout", { n: formatInt(participants), total: formatInt(result.electorate.headcount) }),
        result.invalid && result.invalid.headcount ? [" ", t("el.invalid", { n: formatInt(result.invalid.headcount) })] : null)
      : null,
    h("ul", { class: "candidate-results" }, rows),
    ties.length ? h("div", { class: "warning", role: "note" }, h("p", {}, t("el.ties")), h("ul", {}, ties)) : null);
}

/**
 * The ranking section of an election: live over the WebSocket while voting (when the
 * proposal's visibility allows; turnout otherwise), the final ranking once closed, nothing
 * before. Used by the election page and the projector (`options.onMessage` sees each update).
 */
export function rankingSection(ctx, p, election, options = {}) {
  const id = p.id;
  const live = h("div", { class: "tally-body" });
  const status = h("p", { class: "live-status" });
  const showView = (view) => {
    if (options.onMessage) options.onMessage(view);
    if (view.results_visible && view.election) {
      replace(live, rankingBlock({ ...view.election, participants: view.turnout, electorate: view.electorate }, { live: true }),
        h("p", { class: "hint" }, t("el.live.hint")));
    } else {
      replace(live, view.turnout && view.electorate
        ? h("p", { class: "turnout" }, t("el.turnout", { n: formatInt(view.turnout.headcount), total: formatInt(view.electorate.headcount) }))
        : null, h("p", { class: "notice" }, p.visibility === "after_close" ? t("tally.hidden.after_close") : t("tally.hidden.after_vote")));
    }
  };
  if (p.state === "voting") {
    const watcher = watchProposal(id, { onMessage: showView, onStatus: (st) => { status.textContent = t(`live.${st === "reconnecting" ? "connecting" : st}`); } });
    ctx.onCleanup(() => watcher.stop());
    return h("section", { class: "tally-section", "aria-labelledby": "tally-title", id: "tally" },
      h("div", { class: "section-head" }, h("h2", { id: "tally-title" }, options.title || t("el.live")), status), live);
  }
  if (["closed", "certified"].includes(p.state)) {
    return h("section", { class: "tally-section", "aria-labelledby": "tally-title", id: "tally" },
      h("h2", { id: "tally-title" }, t("el.result")), rankingBlock(election.result && election.result.election
        ? { ...election.result.election, participants: election.result.tally.participants, electorate: election.result.electorate } : null));
  }
  return null;
}

// ------------------------------------------------------------------------------------------
// The resident's election page (delegated to from /p/{id})

/** Ballots being sent, by proposal: a re-render (a language switch) keeps them going, and the
 *  pending one is kept in storage so a reload resends it with the same key. */
const inFlight = new Map();
const PENDING = "yishi.pending.election.";

function loadPending(id) {
  try {
    const value = JSON.parse(localStorage.getItem(PENDING + id));
    return value && value.key && Array.isArray(value.approve) ? value : null;
  } catch {
    return null;
  }
}

function storePending(id, value) {
  try {
    if (value) localStorage.setItem(PENDING + id, JSON.stringify(value));
    else localStorage.removeItem(PENDING + id);
  } catch {
    // not kept across reloads; the page still sends it while open
  }
}

/** Sends one election ballot; every try uses the same key, so it can never count twice. */
function startSending(p, approve, key) {
  const entry = { approve, key, state: { phase: "sending", attempt: 1 }, listener: null };
  inFlight.set(p.id, entry);
  storePending(p.id, { approve, key });
  const set = (state) => {
    entry.state = state;
    if (entry.listener) entry.listener(state);
  };
  (async () => {
    let delay = 1000;
    for (let attempt = 1; ; attempt += 1) {
      set({ phase: "sending", attempt });
      try {
        const receipt = await api("PUT", `/proposals/${enc(p.id)}/ballot`, { approve, idempotency_key: key });
        storePending(p.id, null);
        inFlight.delete(p.id);
        set({ phase: "recorded", receipt });
        return;
      } catch (e) {
        if (e instanceof ApiError && TRANSIENT.has(e.status)) {
          if (attempt >= 6) {
            // Kept in storage: "try again" (or a reload) resends with the same key.
            inFlight.delete(p.id);
            set({ phase: "unconfirmed", error: e });
            return;
          }
          set({ phase: "waiting", attempt, error: e });
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(16000, delay * 2);
          continue;
        }
        storePending(p.id, null);
        inFlight.delete(p.id);
        set({ phase: "refused", error: e });
        return;
      }
    }
  })();
  return entry;
}

function recordedBallot(election, ballot, info) {
  const ids = approvedIds(ballot.choice);
  return h("section", { class: "recorded", tabindex: "-1", "data-recorded": "" },
    h("h3", {}, h("span", { class: "tick", "aria-hidden": "true" }, "✓"), " ", t("vote.recorded.title")),
    h("p", { class: "your-choice" }, t("el.you_approved"), " ",
      ids === null ? h("strong", {}, t("el.invalid_ballot"))
        : ids.length ? h("strong", {}, user(ids.map((id) => nameOf(election, id)).join("、"))) : h("strong", {}, t("el.nobody"))),
    h("p", {}, t("vote.recorded.when", { when: formatDateTime(ballot.at, info.timezone) })),
    h("div", { class: "receipt-box" },
      h("p", {}, h("strong", {}, t("vote.receipt.title"))),
      h("p", { class: "hint" }, t("vote.receipt.hint")),
      verbatim(ballot.receipt, "code", { class: "receipt", "data-receipt": ballot.receipt })));
}

/** The ballot: tick up to `seats` candidates; the count is said as it changes. */
function ballotForm(p, election, onConfirmed) {
  const seats = election.seats;
  const boxes = election.candidates.map((c) => {
    const input = h("input", { type: "checkbox", name: "approve", value: c.id, id: `cand-${c.id}` });
    return {
      input,
      element: h("div", { class: "choice candidate" }, input,
        h("label", { for: `cand-${c.id}` },
          h("span", { class: "candidate-name" }, user(c.name)),
          c.statement ? h("span", { class: "option-hint" }, user(c.statement)) : null)),
    };
  });
  const counter = h("p", { class: "counter", role: "status", "aria-live": "polite", "data-counter": "" });
  const full = h("p", { class: "hint full-note" });
  const message = h("div", { class: "form-message" });
  const chosen = () => boxes.filter((b) => b.input.checked).map((b) => b.input.value);
  const update = () => {
    const n = chosen().length;
    counter.textContent = t("el.counter", { n: formatInt(n), max: formatInt(seats) });
    counter.dataset.counter = String(n);
    for (const b of boxes) b.input.disabled = !b.input.checked && n >= seats;
    full.textContent = n >= seats ? t("el.full", { max: formatInt(seats) }) : "";
  };
  const next = h("button", { type: "submit", class: "button primary big" }, t("vote.continue"));
  const form = h("form", { class: "vote-form", novalidate: true },
    h("fieldset", { class: "choices candidates" },
      h("legend", {}, tn("el.choose_up_to", seats)),
      h("p", { class: "hint alternates-rule" }, alternatesRule(election)),
      ...boxes.map((b) => b.element)),
    counter, full, message, next);
  const box = h("div", { class: "vote-box" }, form);
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const ids = chosen();
    if (ids.length > seats) {
      replace(message, h("p", { class: "error", role: "alert" }, t("el.too_many", { max: formatInt(seats) })));
      return;
    }
    const question = h("h3", { tabindex: "-1", id: "confirm-title" }, t("vote.confirm.title"));
    const confirm = h("button", { type: "button", class: "button big primary", "data-confirm": "" }, t("el.confirm"));
    const backButton = h("button", { type: "button", class: "button secondary big" }, t("vote.confirm.back"));
    const panel = h("div", { class: "confirm", role: "group", "aria-labelledby": "confirm-title" },
      question,
      h("p", { class: "your-choice" }, t("el.you_approve"), " ",
        ids.length ? h("strong", {}, user(ids.map((id) => nameOf(election, id)).join("、"))) : h("strong", {}, t("el.nobody"))),
      ids.length ? null : h("p", { class: "hint" }, t("el.blank_counts")),
      h("p", { class: "hint" }, p.allow_change ? t("vote.change_allowed") : t("vote.final")),
      h("div", { class: "actions stacked" }, confirm, backButton));
    backButton.addEventListener("click", () => {
      box.replaceChildren(form);
      form.querySelector("input").focus();
    });
    confirm.addEventListener("click", () => onConfirmed(ids));
    box.replaceChildren(panel);
    question.focus();
  });
  update();
  return box;
}

function candidatesList(election) {
  return h("ul", { class: "cards candidates-list" }, election.candidates.map((c) =>
    h("li", { class: "card" }, h("strong", {}, user(c.name)), c.self_nominated ? [" ", h("span", { class: "badge" }, t("el.self_nominated"))] : null,
      c.statement ? h("p", {}, user(c.statement)) : null)));
}

function nominationForm(ctx, p, election, redraw) {
  const mine = election.nominations;
  const statement = h("textarea", { name: "statement", rows: "3", maxlength: "1000", required: true });
  const submit = h("button", { type: "submit", class: "button primary" }, t("el.nominate.submit"));
  const message = h("div", { class: "form-message" });
  const form = h("form", { class: "card", novalidate: true }, field(t("el.nominate.statement"), statement, t("el.nominate.hint")), message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!statement.value.trim()) {
      replace(message, h("p", { class: "error", role: "alert" }, t("el.nominate.missing")));
      return;
    }
    try {
      await busy(submit, () => api("POST", `/proposals/${enc(p.id)}/nominations`, { statement: statement.value.trim() }));
      announce(t("el.nominate.sent"));
      redraw();
    } catch (e) {
      replace(message, errorBox(e));
    }
  });
  return h("section", { "aria-labelledby": "nominate-title", id: "nominate" },
    h("h2", { id: "nominate-title" }, t("el.nominate.title")),
    mine.length
      ? h("ul", {}, mine.map((n) => h("li", {}, t(`el.nomination.${n.status}`), n.reason ? [" — ", user(n.reason, "q")] : null)))
      : null,
    mine.some((n) => n.status !== "declined") ? null : form);
}

/** The resident's page for an election proposal. */
export async function residentPage(ctx, p) {
  const id = p.id;
  const [s, election] = await Promise.all([session(), api("GET", `/proposals/${enc(id)}/election`)]);
  const info = await community(p.community);
  const membership = s.me.memberships.find((m) => m.community === p.community);
  const isVoter = membership && membership.role === "voter";
  const isOfficer = (membership && membership.role === "officer") || s.me.is_admin;
  ctx.setTitle(p.title);

  const votePanel = h("section", { class: "vote", "aria-labelledby": "vote-title", id: "vote" });
  const heading = () => h("h2", { id: "vote-title" }, t("el.ballot"));
  const drawVote = (state) => {
    if (state && state.phase === "recorded") {
      p.my_ballot = state.receipt;
      replace(votePanel, heading(), recordedBallot(election, state.receipt, info));
      announce(t("vote.recorded.title"));
      const panel = votePanel.querySelector("[data-recorded]");
      if (panel) panel.focus();
      return;
    }
    if (state && (state.phase === "sending" || state.phase === "waiting")) {
      replace(votePanel, heading(), h("p", { role: "status", "data-phase": state.phase },
        state.phase === "sending" ? t("vote.sending") : t("vote.waiting.safe")));
      return;
    }
    if (state && state.phase === "unconfirmed") {
      const pending = loadPending(p.id);
      replace(votePanel, heading(), h("div", { class: "warning", role: "alert", "data-phase": "unconfirmed" },
        h("p", {}, t("vote.waiting.safe"))),
        pending ? h("button", { type: "button", class: "button primary big", onclick: () => follow(startSending(p, pending.approve, pending.key)) }, t("vote.waiting.retry")) : null);
      return;
    }
    if (state && state.phase === "refused") {
      replace(votePanel, heading(), errorBox(state.error, t("vote.refused")),
        h("button", { type: "button", class: "button secondary big", onclick: () => drawVote(null) }, t("vote.confirm.back")));
      return;
    }
    if (!isVoter) {
      replace(votePanel, heading(), h("p", { class: "notice" }, membership ? t("vote.not_voter", { role: t(`role.${membership.role}`) }) : t("vote.not_member")));
      return;
    }
    if (p.my_ballot) {
      replace(votePanel, heading(), recordedBallot(election, p.my_ballot, info));
      return;
    }
    if (p.state !== "voting") {
      replace(votePanel, heading(), h("p", { class: "notice" }, p.state === "deliberation" || p.state === "draft" ? t("vote.not_open") : t("vote.over")));
      return;
    }
    replace(votePanel, heading(), ballotForm(p, election, (ids) => follow(startSending(p, ids, newKey()))));
  };
  const follow = (entry) => {
    entry.listener = (st) => {
      if (ctx.current()) drawVote(st);
    };
    drawVote(entry.state);
  };
  let sending = inFlight.get(id);
  const pending = isVoter && !sending ? loadPending(id) : null;
  if (pending && (p.my_ballot || p.state !== "voting")) storePending(id, null);
  else if (pending) sending = startSending(p, pending.approve, pending.key);
  if (sending) follow(sending);
  else drawVote(null);

  const tallySection = rankingSection(ctx, p, election);

  const links = [];
  if (["voting", "closed", "certified"].includes(p.state)) links.push(h("a", { href: `/projector/${p.id}`, class: "button secondary" }, t("links.projector")));
  if (["closed", "certified"].includes(p.state)) links.push(h("a", { href: `/result/${p.id}`, class: "button secondary" }, t("links.result")));
  links.push(h("a", { href: `/committee/${p.community}`, class: "button secondary" }, t("el.committee")));
  if (isOfficer) links.push(h("a", { href: `/officer/p/${p.id}`, class: "button secondary" }, t("links.manage")));

  replace(
    ctx.main,
    h("p", { class: "breadcrumb" }, h("a", { href: "/" }, t("nav.home")), " › ", user(info.name)),
    pageTitle(user(p.title)),
    h("dl", { class: "facts" },
      h("dt", {}, t("facts.state")), h("dd", {}, stateBadge(p.state)),
      h("dt", {}, t("el.seats")), h("dd", {}, t("el.seats.text", { seats: formatInt(election.seats), alternates: formatInt(election.alternates), years: formatInt(election.term_years) })),
      p.state === "voting" ? [h("dt", {}, t("facts.closes")), h("dd", {}, formatDateTime(p.closes_at, info.timezone))] : null,
      h("dt", {}, t("facts.secrecy")), h("dd", {}, t(`secrecy.${p.secrecy}`))),
    p.body ? h("section", { class: "body" }, h("div", { class: "markdown", "data-user": "" }, markdown(p.body))) : null,
    votePanel,
    tallySection,
    h("section", { "aria-labelledby": "cands-title" }, h("h2", { id: "cands-title" }, t("el.candidates")), candidatesList(election)),
    isVoter && p.state === "deliberation" ? nominationForm(ctx, p, election, () => residentPage(ctx, p)) : null,
    h("section", { class: "rule", "aria-labelledby": "rule-title", id: "rule" }, h("h2", { id: "rule-title" }, t("rule.title")),
      h("p", {}, t("el.rule.each")), p.rule && p.rule.preset ? h("p", { class: "hint" }, presetSentence(p.rule.preset)) : null,
      h("p", {}, alternatesRule(election))),
    h("nav", { class: "actions", "aria-label": t("links.more") }, ...links),
  );
}

// ------------------------------------------------------------------------------------------
// Officer: a new election

export async function newElection(ctx) {
  const cid = ctx.params[0];
  const info = await community(cid);
  ctx.setTitle(t("el.new.title"));
  const title = h("input", { type: "text", name: "title", required: true, maxlength: "200", value: t("el.new.default_title") });
  const body = h("textarea", { name: "body", rows: "4" });
  const seats = h("input", { type: "number", name: "seats", min: "1", max: "50", value: "5", inputmode: "numeric" });
  const alternates = h("input", { type: "number", name: "alternates", min: "0", max: "50", value: "2", inputmode: "numeric" });
  const term = h("input", { type: "number", name: "term", min: "1", max: "10", value: "5", inputmode: "numeric" });
  const rule = h("select", { name: "rule" }, PRESETS.map((x) => h("option", { value: x.id, selected: x.id === "cn-278" }, x.id)));
  const candidates = h("textarea", { name: "candidates", rows: "5" });
  const secrecy = h("select", { name: "secrecy" }, ["secret", "open"].map((x) => h("option", { value: x }, t(`secrecy.${x}`))));
  const visibility = h("select", { name: "visibility" }, ["after_close", "after_vote", "live"].map((x) => h("option", { value: x }, t(`visibility.${x}`))));
  const week = new Date(Date.now() + 7 * 86400000).toISOString();
  const closes = h("input", { type: "datetime-local", name: "closes", value: toLocalInput(week, info.timezone), required: true });
  const submit = h("button", { type: "submit", class: "button primary big" }, t("el.new.submit"));
  const message = h("div", { class: "form-message" });
  const form = h("form", { class: "card", novalidate: true },
    field(t("el.new.title_field"), title),
    field(t("el.new.body"), body),
    field(t("el.seats"), seats),
    field(t("el.alternates"), alternates, t("el.alternates.hint")),
    field(t("el.term"), term),
    field(t("rule.title"), rule, t("el.rule.each")),
    field(t("el.new.candidates"), candidates, t("el.new.candidates.hint")),
    field(t("facts.secrecy"), secrecy),
    field(t("facts.visibility"), visibility),
    field(t("facts.closes"), closes),
    message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const list = candidates.value.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
      const [name, ...rest] = line.split("|");
      return { name: name.trim(), statement: rest.join("|").trim() };
    });
    try {
      const created = await busy(submit, () => api("POST", `/communities/${enc(cid)}/elections`, {
        title: title.value.trim(), body: body.value, seats: Number(seats.value), alternates: Number(alternates.value),
        term_years: Number(term.value), rule: { preset: rule.value }, candidates: list,
        secrecy: secrecy.value, visibility: visibility.value, closes_at: fromLocalInput(closes.value, info.timezone),
      }));
      ctx.navigate(`/officer/p/${created.id}`);
    } catch (e) {
      replace(message, errorBox(e));
    }
  });
  replace(ctx.main, back(`/officer/${cid}`, t("dash.title")), pageTitle(t("el.new.title")), h("p", { class: "lede" }, user(info.name)), form);
}

// ------------------------------------------------------------------------------------------
// Officer: managing an election (delegated to from /officer/p/{id})

function smallForm(fields, label, onSubmit) {
  const submit = h("button", { type: "submit", class: "button primary" }, label);
  const message = h("div", { class: "form-message" });
  const form = h("form", { class: "card", novalidate: true }, ...fields, message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    try {
      await busy(submit, onSubmit);
    } catch (e) {
      replace(message, errorBox(e));
    }
  });
  return form;
}

export async function officerPage(ctx, p) {
  const id = p.id;
  const election = await api("GET", `/proposals/${enc(id)}/election`);
  const info = await community(p.community);
  ctx.setTitle(p.title);
  const redraw = async () => {
    const fresh = await api("GET", `/proposals/${enc(id)}`);
    if (ctx.current()) await officerPage(ctx, fresh);
  };
  const message = h("div", { class: "form-message" });
  const action = (label, path, body = {}) => {
    const button = h("button", { type: "button", class: "button primary", "data-action": path }, label);
    button.addEventListener("click", async () => {
      try {
        await busy(button, () => api("POST", `/proposals/${enc(id)}/${path}`, body));
        await redraw();
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
    return button;
  };
  const before = ["draft", "deliberation"].includes(p.state);
  const steps = [];
  if (p.state === "draft") steps.push(action(t("el.step.deliberate"), "deliberate"));
  if (before) steps.push(action(t("el.step.open"), "open"));
  if (p.state === "voting") steps.push(action(t("el.step.close"), "close"));
  const result = election.result && election.result.election;
  const tied = result && result.ties && result.ties.length > 0;
  if (p.state === "closed" && !tied) steps.push(action(t("el.step.publish"), "publish"));

  const sections = [];
  // Candidates.
  const name = h("input", { type: "text", name: "name", maxlength: "100" });
  const statement = h("input", { type: "text", name: "statement", maxlength: "1000" });
  sections.push(h("section", { "aria-labelledby": "m-cands" }, h("h2", { id: "m-cands" }, t("el.candidates")),
    h("ul", { class: "cards" }, election.candidates.map((c) => h("li", { class: "card", "data-candidate": c.id },
      h("strong", {}, user(c.name)), " ", verbatim(c.id, "span"), c.statement ? h("p", {}, user(c.statement)) : null,
      before ? h("button", { type: "button", class: "button danger", onclick: async () => {
        try {
          await api("DELETE", `/proposals/${enc(id)}/candidates/${enc(c.id)}`);
          await redraw();
        } catch (e) {
          replace(message, errorBox(e));
        }
      } }, t("el.remove")) : null))),
    before ? smallForm([field(t("el.cand.name"), name), field(t("el.cand.statement"), statement)], t("el.cand.add"), async () => {
      await api("POST", `/proposals/${enc(id)}/candidates`, { name: name.value.trim(), statement: statement.value.trim() });
      await redraw();
    }) : null));
  // Nominations.
  if (election.nominations.length) {
    sections.push(h("section", { "aria-labelledby": "m-noms" }, h("h2", { id: "m-noms" }, t("el.nominations")),
      h("ul", { class: "cards" }, election.nominations.map((n) => {
        const reason = h("input", { type: "text", name: "reason", maxlength: "500" });
        return h("li", { class: "card", "data-nomination": n.id },
          h("strong", {}, user(n.name)), " ", h("span", { class: "badge" }, t(`el.nomination.${n.status}`)), h("p", {}, user(n.statement)),
          n.status === "pending" && before
            ? [action(t("el.accept"), `nominations/${enc(n.id)}/accept`), field(t("el.decline.reason"), reason),
              h("button", { type: "button", class: "button secondary", onclick: async () => {
                try {
                  await api("POST", `/proposals/${enc(id)}/nominations/${enc(n.id)}/decline`, { reason: reason.value.trim() });
                  await redraw();
                } catch (e) {
                  replace(message, errorBox(e));
                }
              } }, t("el.decline"))]
            : null);
      }))));
  }
  // Paper and in-person ballots.
  if (p.state === "voting") {
    const voter = h("input", { type: "text", name: "voter", autocapitalize: "none" });
    const method = h("select", { name: "method" }, ["paper", "in_person", "phone"].map((m) => h("option", { value: m }, t(`el.method.${m}`))));
    const marks = election.candidates.map((c) => h("input", { type: "checkbox", value: c.id, id: `mark-${c.id}` }));
    const done = h("p", { role: "status" });
    sections.push(h("section", { "aria-labelledby": "m-paper" }, h("h2", { id: "m-paper" }, t("el.paper.title")),
      h("p", { class: "hint" }, t("el.paper.hint")),
      smallForm([field(t("roll.col.voter"), voter), field(t("el.paper.method"), method),
        h("fieldset", { class: "choices" }, h("legend", {}, t("el.paper.marks")),
          election.candidates.map((c, i) => h("div", { class: "choice" }, marks[i], h("label", { for: `mark-${c.id}` }, user(c.name))))), done],
      t("el.paper.submit"), async () => {
        const approve = marks.filter((m) => m.checked).map((m) => m.value);
        const r = await api("POST", `/proposals/${enc(id)}/assisted-ballots`, { voter: voter.value.trim(), approve, method: method.value, idempotency_key: newKey(), note: "" });
        done.textContent = r.choice === "invalid" ? t("el.paper.invalid") : t("vote.recorded.title");
        for (const m of marks) m.checked = false;
        voter.value = "";
      })));
  }
  // The result and tie-breaks.
  if (result) {
    sections.push(h("section", { "aria-labelledby": "m-result" }, h("h2", { id: "m-result" }, t("el.result")),
      rankingBlock({ ...result, participants: election.result.tally.participants, electorate: election.result.electorate }, { details: true }),
      election.tie_break ? h("p", {}, t(election.tie_break.method === "lot" ? "el.tie_break.lot_done" : "el.tie_break.decision_done"), " ", user(election.tie_break.note)) : null));
  }
  if (p.state === "closed" && tied && !election.tie_break) {
    const tiedIds = result.ties.flatMap((x) => x.candidates);
    const order = [...tiedIds];
    const list = h("ol", { class: "tie-order" });
    const drawOrder = () => replace(list, order.map((cid, i) => h("li", {}, user(nameOf(election, cid)), " ",
      h("button", { type: "button", class: "button secondary", disabled: i === 0, "aria-label": t("el.up", { name: nameOf(election, cid) }), onclick: () => {
        [order[i - 1], order[i]] = [order[i], order[i - 1]];
        drawOrder();
      } }, "↑"))));
    drawOrder();
    const note = h("textarea", { name: "note", rows: "2" });
    sections.push(h("section", { "aria-labelledby": "m-tie" }, h("h2", { id: "m-tie" }, t("el.tie_break")),
      h("p", {}, t("el.tie_break.text")),
      h("h3", {}, t("el.tie_break.decision")),
      smallForm([list, field(t("el.tie_break.note"), note)], t("el.tie_break.record"), async () => {
        await api("POST", `/proposals/${enc(id)}/tie-break`, { order, note: note.value.trim() });
        await redraw();
      }),
      h("h3", {}, t("el.tie_break.lot")),
      election.lot_seed
        ? h("div", {}, h("p", {}, t("el.seed.published", { when: formatDateTime(election.lot_seed.published_at, info.timezone) }), " ", verbatim(election.lot_seed.seed)),
          action(t("el.lot.draw"), "lot"))
        // The count is known now: only the server's random seed is taken.
        : h("div", {}, h("p", { class: "hint" }, t("el.seed.random_hint")),
          smallForm([], t("el.seed.publish"), async () => {
            await api("POST", `/proposals/${enc(id)}/lot-seed`, {});
            await redraw();
          }))));
  }
  // A seed of the council's own for a possible lot, fixed while the count is unknown.
  if (["draft", "deliberation", "voting"].includes(p.state)) {
    const seed = h("input", { type: "text", name: "seed", maxlength: "200" });
    sections.push(h("section", { "aria-labelledby": "m-seed" }, h("h2", { id: "m-seed" }, t("el.seed.advance")),
      h("p", {}, t("el.seed.advance.text")),
      election.lot_seed
        ? h("p", {}, t("el.seed.published", { when: formatDateTime(election.lot_seed.published_at, info.timezone) }), " ", verbatim(election.lot_seed.seed))
        : smallForm([field(t("el.seed"), seed, t("el.seed.hint"))], t("el.seed.publish"), async () => {
          await api("POST", `/proposals/${enc(id)}/lot-seed`, seed.value.trim() ? { seed: seed.value.trim() } : {});
          await redraw();
        })));
  }
  if (p.state === "certified") {
    sections.push(h("section", {}, smallForm([], t("el.seat_committee"), async () => {
      await api("POST", `/communities/${enc(p.community)}/committee`, { election: id });
      ctx.navigate(`/committee/${p.community}`);
    })));
  }
  replace(ctx.main,
    back(`/officer/${p.community}`, t("dash.title")),
    pageTitle(user(p.title)),
    h("p", {}, stateBadge(p.state), " ", t("el.seats.text", { seats: formatInt(election.seats), alternates: formatInt(election.alternates), years: formatInt(election.term_years) })),
    message,
    steps.length ? h("div", { class: "actions" }, ...steps) : null,
    ...sections,
    h("nav", { class: "actions" }, h("a", { href: `/p/${id}`, class: "button secondary" }, t("links.proposal")),
      h("a", { href: `/committee/${p.community}`, class: "button secondary" }, t("el.committee"))));
}

// ------------------------------------------------------------------------------------------
// The committee roster (public)

export async function committeePage(ctx) {
  const cid = ctx.params[0];
  ctx.setTitle(t("el.committee"));
  let roster = null;
  try {
    roster = await api("GET", `/communities/${enc(cid)}/committee`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  const s = await session().catch(() => null);
  const officer = s && s.signed_in && (s.me.is_admin || s.me.memberships.some((m) => m.community === cid && m.role === "officer"));
  if (!roster) {
    replace(ctx.main, pageTitle(t("el.committee")), h("p", { class: "notice" }, t("el.committee.none")));
    return;
  }
  const person = (m, i, alternate) => h("li", { class: "card", "data-member": m.candidate },
    h("strong", {}, user(m.name)), " ", alternate ? h("span", { class: "badge" }, t("el.standing.alternate", { n: formatInt(i + 1) })) : null,
    h("p", { class: "hint" }, t(alternate ? "el.waiting_since" : "el.since", { date: m.since })));
  const parts = [
    pageTitle(t("el.committee")),
    h("p", { class: "lede" }, user(roster.title)),
    roster.reelection_due ? h("div", { class: "warning", role: "alert", "data-reelection": "" }, h("p", {}, t("el.reelection_due"))) : null,
    h("p", {}, t("el.term.text", { start: roster.term_start, end: roster.term_end, filled: formatInt(roster.filled), seats: formatInt(roster.seats) })),
    h("section", { "aria-labelledby": "c-members" }, h("h2", { id: "c-members" }, t("el.members")),
      h("ul", { class: "cards" }, roster.members.map((m, i) => person(m, i, false)))),
    h("section", { "aria-labelledby": "c-alts" }, h("h2", { id: "c-alts" }, t("el.alternates")),
      roster.alternates.length ? h("ol", { class: "cards" }, roster.alternates.map((m, i) => person(m, i, true))) : h("p", { class: "notice" }, t("el.no_alternates"))),
  ];
  if (officer) {
    const member = h("select", { name: "member" }, roster.members.map((m) => h("option", { value: m.candidate }, m.name)));
    const reason = h("input", { type: "text", name: "reason", maxlength: "500" });
    const date = h("input", { type: "date", name: "date", value: new Date().toISOString().slice(0, 10) });
    parts.push(h("section", { "aria-labelledby": "c-vacancy" }, h("h2", { id: "c-vacancy" }, t("el.vacancy")),
      h("p", { class: "hint" }, t("el.vacancy.hint")),
      smallForm([field(t("el.vacancy.member"), member), field(t("el.vacancy.reason"), reason), field(t("el.vacancy.date"), date)], t("el.vacancy.record"), async () => {
        await api("POST", `/communities/${enc(cid)}/committee/vacancies`, { member: member.value, reason: reason.value.trim(), date: date.value });
        await committeePage(ctx);
        announce(t("el.vacancy.recorded"));
      })));
  }
  const name = (id) => {
    const all = [...roster.members, ...roster.alternates];
    const found = all.find((m) => m.candidate === id);
    return found ? found.name : id;
  };
  parts.push(h("section", { "aria-labelledby": "c-history" }, h("h2", { id: "c-history" }, t("el.history")),
    h("ol", { class: "history" }, roster.history.map((e) => h("li", {},
      h("strong", {}, e.date), " ",
      e.kind === "constituted" ? t("el.history.constituted")
        : [t("el.history.vacancy", { who: e.left_name || name(e.left) }), " ", e.reason ? user(e.reason, "q") : null, " ",
          e.moved_up ? t("el.history.moved_up", { who: e.moved_up_name || name(e.moved_up) }) : t("el.history.nobody_moved")])))));
  replace(ctx.main, ...parts);
}
