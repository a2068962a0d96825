// The council officer's screens: the community dashboard (proposals, the roll as CSV, the
// printable activation sheet), a new proposal with a rule picker, managing one proposal (open,
// close, extend, withdraw, assisted ballots, proxies, attestations, publishing) and turnout —
// who has not voted yet, never how anyone voted.

import { h, replace, user, verbatim, uid, announce } from "../dom.js";
import { api, ApiError, session, community, newKey } from "../api.js";
import { t, tn, tNodes, capitalise, formatDateTime, formatInt, formatDecimal, percentText, toLocalInput, fromLocalInput } from "../i18n.js";
import { PRESETS, conditionText, requirement, presetSentence, measureName, cond } from "../rules.js";
import { markdown } from "../markdown.js";
import { pageTitle, field, radios, errorBox, stateBadge, confirmButton, busy } from "./common.js";
import { liveTally } from "./resident.js";
import * as election from "./election.js";
import { outreachSection } from "./outreach.js";

const enc = encodeURIComponent;

/** Codes made on the dashboard, kept only in memory for the printable sheet. */
let lastCodes = null;

async function requireOfficer(communityId) {
  const s = await session();
  const m = s.me.memberships.find((x) => x.community === communityId);
  if (!(m && m.role === "officer") && !s.me.is_admin) {
    throw new ApiError(403, "forbidden_officer", "officers only");
  }
}

function back(href, text) {
  return h("p", { class: "breadcrumb" }, h("a", { href }, "‹ ", text));
}

// ------------------------------------------------------------------------------------------
// Dashboard

export async function dashboard(ctx) {
  const id = ctx.params[0];
  await requireOfficer(id);
  const info = await community(id);
  ctx.setTitle(t("dash.title"));
  // Asked only when there is one: a 404 would show as an error in the browser's console.
  const fresh = await api("GET", `/communities/${enc(id)}`);
  const [list, roll] = await Promise.all([
    api("GET", `/communities/${enc(id)}/proposals`),
    fresh.roll_updated_at ? api("GET", `/communities/${enc(id)}/roll`) : null,
  ]);

  // Proposals.
  const proposals = h(
    "section",
    { "aria-labelledby": "dash-proposals" },
    h("div", { class: "section-head" }, h("h2", { id: "dash-proposals" }, t("dash.proposals")),
      h("a", { href: `/officer/${id}/new`, class: "button primary" }, t("dash.new_proposal")),
      h("a", { href: `/officer/${id}/new-election`, class: "button secondary" }, t("el.new.title")),
      h("a", { href: `/committee/${id}`, class: "button secondary" }, t("el.committee"))),
    list.proposals.length
      ? h("ul", { class: "cards" }, list.proposals.map((p) =>
          h("li", { class: "card proposal-card", "data-proposal": p.id },
            h("a", { href: `/officer/p/${p.id}`, class: "card-link" },
              h("span", { class: "card-title" }, user(p.title)),
              h("span", { class: "card-meta" }, stateBadge(p.state),
                p.state === "voting" ? h("span", {}, t("deadline.closes", { when: formatDateTime(p.closes_at, info.timezone) })) : null)))))
      : h("p", { class: "notice" }, t("dash.no_proposals")),
  );

  // The roll.
  const rollSection = h("section", { "aria-labelledby": "dash-roll", id: "roll" });
  const drawRoll = (current, change) => {
    const file = h("input", { type: "file", accept: ".csv,text/csv", name: "roll" });
    const upload = h("button", { type: "submit", class: "button primary" }, t("roll.upload"));
    const message = h("div", { class: "form-message" });
    if (change) {
      message.append(h("div", { class: "success", role: "status" }, h("p", {}, t("roll.uploaded", {
        voters: formatInt(change.voter_count), units: formatInt(change.unit_count),
        added: formatInt(change.added), removed: formatInt(change.removed), changed: formatInt(change.changed),
      }))));
    }
    const col = (name) => verbatim(name, "code");
    const hint = tNodes("roll.file.hint", {
      voter: col("voter"), unit: col("unit"), name: col("name"), phone: col("phone"), tags: col("tags"), area: col("area"), csv: verbatim("CSV UTF-8", "span"),
    });
    const form = h("form", { class: "upload", novalidate: true }, field(t("roll.file"), file, hint), message, upload);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(message);
      const chosen = file.files && file.files[0];
      if (!chosen) {
        replace(message, h("p", { class: "error", role: "alert" }, t("roll.choose_file")));
        return;
      }
      try {
        const text = await chosen.text();
        const result = await busy(upload, () => api("PUT", `/communities/${enc(id)}/roll`, text, { type: "text/csv" }));
        const fresh = await api("GET", `/communities/${enc(id)}/roll`);
        drawRoll(fresh, result);
        announce(t("roll.uploaded.short", { voters: formatInt(result.voter_count) }));
      } catch (e) {
        replace(message, errorBox(e, t("roll.not_uploaded")));
      }
    });
    replace(
      rollSection,
      h("h2", { id: "dash-roll" }, t("roll.title")),
      current ? rollSummary(current, info) : h("p", { class: "notice" }, t("roll.none")),
      current ? h("p", {}, h("a", { href: `/api/v1/communities/${enc(id)}/roll?format=csv`, download: "roll.csv", class: "button secondary" }, t("roll.download"))) : null,
      form,
      current ? rollTable(current) : null,
    );
    drawCodes(current);
  };

  // Activation codes.
  const codesSection = h("section", { "aria-labelledby": "dash-codes", id: "codes" });
  const drawCodes = (current) => {
    if (!current) {
      replace(codesSection, h("h2", { id: "dash-codes" }, t("codes.title")), h("p", { class: "notice" }, t("codes.need_roll")));
      return;
    }
    const tags = [...new Set(current.voters.flatMap((v) => v.tags))].sort();
    const which = h("select", { name: "tag" }, h("option", { value: "" }, t("codes.everyone")), tags.map((tag) => h("option", { value: tag }, tag)));
    const make = h("button", { type: "submit", class: "button primary" }, t("codes.make"));
    const message = h("div", { class: "form-message" });
    const form = h("form", { novalidate: true }, field(t("codes.which"), which, t("codes.which.hint")), message, make);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(message);
      try {
        const body = which.value ? { tags: [which.value] } : {};
        const codes = await busy(make, () => api("POST", `/communities/${enc(id)}/activation-codes`, body));
        lastCodes = { community: id, codes };
        ctx.navigate(`/officer/${id}/codes`);
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
    replace(codesSection, h("h2", { id: "dash-codes" }, t("codes.title")), h("p", {}, t("codes.text")), form);
  };

  drawRoll(roll, null);
  replace(
    ctx.main,
    back("/", t("nav.home")),
    pageTitle(t("dash.title")),
    h("p", { class: "lede" }, user(info.name)),
    h("nav", { class: "toc", "aria-label": t("dash.sections") },
      h("a", { href: "#dash-proposals" }, t("dash.proposals")),
      h("a", { href: "#roll" }, t("roll.title")),
      h("a", { href: "#codes" }, t("codes.title"))),
    proposals,
    rollSection,
    codesSection,
  );
}

function rollSummary(roll, info) {
  const weights = roll.weights.map((w) => `${measureName(w.name)}: ${formatDecimal(w.total)}${w.name === "area" ? " m²" : ""}`);
  return h("p", { class: "summary" }, t("roll.summary", { voters: formatInt(roll.voter_count), units: formatInt(roll.unit_count) }),
    weights.length ? ` · ${weights.join(" · ")}` : "", " · ", t("roll.updated", { when: formatDateTime(roll.updated_at, info.timezone) }));
}

const ROLL_ROWS = 200;

function rollTable(roll) {
  const filter = h("input", { type: "search", name: "filter" });
  const weightNames = roll.weights.map((w) => w.name);
  const tbody = h("tbody");
  const count = h("p", { class: "hint", role: "status" });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = roll.voters.filter((v) => !q || [v.voter, v.name, v.phone, ...v.units, ...v.tags].some((x) => x.toLowerCase().includes(q)));
    replace(tbody, rows.slice(0, ROLL_ROWS).map((v) =>
      h("tr", {}, h("td", {}, verbatim(v.voter, "span")), h("td", {}, user(v.name)), h("td", {}, user(v.units.join(", "))),
        h("td", {}, user(v.tags.join(", "))), weightNames.map((w) => h("td", { class: "num" }, formatDecimal(v.weights[w]))))));
    count.textContent = rows.length > ROLL_ROWS
      ? t("roll.showing_first", { shown: formatInt(ROLL_ROWS), total: formatInt(rows.length) })
      : tn("roll.showing", rows.length);
  };
  filter.addEventListener("input", draw);
  draw();
  const captionId = uid("cap");
  return h(
    "div",
    { class: "roll-table" },
    field(t("roll.filter"), filter),
    count,
    h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": captionId },
      h("table", {},
        h("caption", { id: captionId }, t("roll.table")),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("roll.col.voter")), h("th", { scope: "col" }, t("roll.col.name")),
          h("th", { scope: "col" }, t("roll.col.units")), h("th", { scope: "col" }, t("roll.col.tags")),
          weightNames.map((w) => h("th", { scope: "col", class: "num" }, capitalise(measureName(w)))))),
        tbody)),
  );
}

// ------------------------------------------------------------------------------------------
// The printable activation sheet

export async function codes(ctx) {
  const id = ctx.params[0];
  await requireOfficer(id);
  const info = await community(id);
  ctx.setTitle(t("sheet.title"));
  if (!lastCodes || lastCodes.community !== id) {
    replace(ctx.main, back(`/officer/${id}`, t("dash.title")), pageTitle(t("sheet.title")), h("p", { class: "notice" }, t("sheet.gone")));
    return;
  }
  const list = lastCodes.codes;
  const address = `${location.origin}/activate`;
  const cards = list.map((c) => h(
    "article",
    { class: "code-card", "data-voter": c.voter, "data-code": c.code },
    h("p", { class: "head" }, user(info.name), " · ", t("sheet.council")),
    h("p", { class: "who" }, user(c.name || c.voter), " ", h("small", {}, user(c.units.join(", ")), " · ", verbatim(c.voter, "span"))),
    h("p", {}, t("sheet.your_code")),
    verbatim(c.code, "p", { class: "code" }),
    h("p", {}, t("sheet.step1"), " ", verbatim(address, "span", { class: "address" })),
    h("p", {}, t("sheet.step2")),
    h("p", { class: "foot" }, t("sheet.foot", { until: formatDateTime(c.expires_at, info.timezone) })),
  ));
  replace(
    ctx.main,
    h("div", { class: "no-print" },
      back(`/officer/${id}`, t("dash.title")),
      pageTitle(t("sheet.title")),
      h("div", { class: "warning", role: "note" }, h("p", {}, t("sheet.once"))),
      h("p", {}, tn("sheet.count", list.length)),
      h("button", { type: "button", class: "button primary big", onclick: () => window.print() }, t("sheet.print"))),
    list.length ? h("div", { class: "sheet" }, cards) : h("p", { class: "notice" }, t("sheet.none")),
  );
}

// ------------------------------------------------------------------------------------------
// A new proposal

export async function newProposal(ctx) {
  const id = ctx.params[0];
  await requireOfficer(id);
  const info = await community(id);
  ctx.setTitle(t("new.title"));
  const fresh = await api("GET", `/communities/${enc(id)}`);
  const roll = fresh.roll_updated_at ? await api("GET", `/communities/${enc(id)}/roll`) : null;
  const weights = roll ? roll.weights.map((w) => w.name) : [];
  const tags = roll ? [...new Set(roll.voters.flatMap((v) => v.tags))].sort() : [];

  const title = h("input", { type: "text", name: "title", required: true, maxlength: "200" });
  const body = h("textarea", { name: "body", rows: "8" });
  const preview = h("div", { class: "markdown preview", "data-user": "" });
  const previewBox = h("details", { class: "preview-box" }, h("summary", {}, t("new.preview")), preview);
  const drawPreview = () => replace(preview, markdown(body.value));
  body.addEventListener("input", drawPreview);

  // The rule: a preset (explained) plus extra conditions.
  const presetGroup = radios(
    t("new.rule"),
    "preset",
    PRESETS.filter((p) => p.id !== "de-weg-25").map((p) => {
      const missing = p.needs.filter((w) => !weights.includes(w));
      return {
        value: p.id,
        label: t(`preset.${p.id}.name`),
        hint: presetSentence(p.id) + (missing.length ? ` ${t("new.rule.needs", { weights: missing.map(measureName).join(", ") })}` : ""),
        disabled: missing.length > 0,
      };
    }),
    "absolute-majority",
    t("new.rule.hint"),
  );
  const extras = [];
  const extrasList = h("ul", { class: "extras" });
  const rulePreview = h("ul", { class: "requirements" });
  const drawRulePreview = () => {
    const preset = PRESETS.find((p) => p.id === presetGroup.value());
    const all = [...(preset ? preset.levels[0] : []), ...extras.map((e) => e.read()).filter(Boolean)];
    replace(rulePreview, all.map((c) => h("li", {}, requirement(c))));
  };
  presetGroup.element.addEventListener("change", drawRulePreview);
  const addCondition = () => {
    const row = conditionEditor(weights, () => {
      extras.splice(extras.indexOf(row), 1);
      row.element.remove();
      drawRulePreview();
      addButton.focus();
    }, drawRulePreview);
    extras.push(row);
    extrasList.append(row.element);
    drawRulePreview();
    row.focus();
  };
  const addButton = h("button", { type: "button", class: "button secondary", onclick: addCondition }, t("new.add_condition"));

  // Scope, secrecy, visibility, change.
  const scopeBoxes = tags.map((tag) => {
    const box = h("input", { type: "checkbox", name: "scope", value: tag, id: uid("scope") });
    return { box, element: h("div", { class: "option" }, box, h("label", { for: box.id }, tag)) };
  });
  const scope = h("fieldset", { class: "radios" }, h("legend", {}, t("new.scope")), h("p", { class: "hint" }, t("new.scope.hint")),
    scopeBoxes.length ? scopeBoxes.map((s) => s.element) : h("p", {}, t("new.scope.none")));
  const secrecy = radios(t("new.secrecy"), "secrecy", ["open", "secret"].map((v) => ({ value: v, label: t(`secrecy.${v}.name`), hint: t(`secrecy.${v}`) })), "open");
  const visibility = radios(t("new.visibility"), "visibility", ["live", "after_vote", "after_close"].map((v) => ({ value: v, label: t(`visibility.${v}.name`), hint: t(`visibility.${v}`) })), "live");
  const allowChange = h("input", { type: "checkbox", name: "allow_change", id: uid("ac") });

  // Dates in the community's time zone.
  const week = new Date(Date.now() + 7 * 86400000);
  week.setUTCSeconds(0, 0);
  const closes = h("input", { type: "datetime-local", name: "closes_at", required: true, value: toLocalInput(week.toISOString(), info.timezone) });
  const opens = h("input", { type: "datetime-local", name: "opens_at" });
  const zoneHint = tNodes("new.zone", { zone: verbatim(info.timezone, "span") });

  // Cost.
  const hasCost = h("input", { type: "checkbox", name: "has_cost", id: uid("cost") });
  const amount = h("input", { type: "text", name: "amount", inputmode: "decimal", pattern: "[0-9]+([.][0-9]{1,2})?" });
  const currency = h("input", { type: "text", name: "currency", value: "CNY", maxlength: "8", autocapitalize: "characters" });
  const split = radios(t("new.cost.split"), "split", [
    { value: "per_voter", label: t("cost.split.per_voter.name") },
    { value: "equally", label: t("cost.split.equally.name") },
    { value: "by_weight", label: t("cost.split.by_weight.name"), disabled: !weights.length },
  ], "per_voter");
  const costWeight = h("select", { name: "cost_weight" }, weights.map((w) => h("option", { value: w }, measureName(w))));
  const weightField = weights.length ? field(t("new.cost.weight"), costWeight) : null;
  if (weightField) weightField.hidden = true;
  split.element.addEventListener("change", () => {
    if (weightField) weightField.hidden = split.value() !== "by_weight";
  });
  const costFields = h("div", { class: "cost-fields", hidden: true },
    field(t("new.cost.amount"), amount, t("new.cost.amount.hint")), field(t("new.cost.currency"), currency),
    split.element, weightField);
  hasCost.addEventListener("change", () => { costFields.hidden = !hasCost.checked; });

  const submit = h("button", { type: "submit", class: "button primary big" }, t("new.submit"));
  const message = h("div", { class: "form-message" });
  const form = h(
    "form",
    { class: "proposal-form", novalidate: true },
    field(t("new.field.title"), title),
    field(t("new.field.body"), body, t("new.field.body.hint")),
    previewBox,
    presetGroup.element,
    h("div", { class: "extras-box" }, h("h2", {}, t("new.extra")), h("p", { class: "hint" }, t("new.extra.hint")), extrasList, addButton),
    h("div", { class: "rule-preview", "aria-live": "polite" }, h("h2", {}, t("new.rule.preview")), rulePreview),
    scope,
    secrecy.element,
    visibility.element,
    h("div", { class: "option check" }, allowChange, h("label", { for: allowChange.id }, t("new.allow_change"))),
    field(t("new.field.closes"), closes, zoneHint),
    field(t("new.field.opens"), opens, t("new.field.opens.hint")),
    h("div", { class: "option check" }, hasCost, h("label", { for: hasCost.id }, t("new.cost"))),
    costFields,
    message,
    submit,
  );
  drawRulePreview();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    const problems = [];
    if (!title.value.trim()) problems.push(t("new.err.title"));
    const closesAt = fromLocalInput(closes.value, info.timezone);
    if (!closesAt) problems.push(t("new.err.closes"));
    const opensAt = opens.value ? fromLocalInput(opens.value, info.timezone) : null;
    const also = [];
    for (const extra of extras) {
      const c = extra.read();
      if (!c) problems.push(t("new.err.fraction"));
      else also.push(conditionText(c));
    }
    if (hasCost.checked && !/^\d+(\.\d{1,2})?$/.test(amount.value.trim())) problems.push(t("new.err.amount"));
    if (problems.length) {
      replace(message, h("div", { class: "error", role: "alert" }, h("ul", {}, problems.map((p) => h("li", {}, p)))));
      return;
    }
    const input = {
      title: title.value.trim(),
      body: body.value,
      rule: { preset: presetGroup.value(), also },
      scope: scopeBoxes.filter((s) => s.box.checked).map((s) => s.box.value),
      secrecy: secrecy.value(),
      visibility: visibility.value(),
      allow_change: allowChange.checked,
      closes_at: closesAt,
    };
    if (opensAt) input.opens_at = opensAt;
    if (hasCost.checked) {
      input.cost = { amount: amount.value.trim(), currency: currency.value.trim().toUpperCase() || "CNY", split: split.value() };
      if (input.cost.split === "by_weight") input.cost.weight = costWeight.value;
    }
    try {
      const created = await busy(submit, () => api("POST", `/communities/${enc(id)}/proposals`, input));
      ctx.navigate(`/officer/p/${created.id}`, { state: { created: true } });
    } catch (e) {
      replace(message, errorBox(e, t("new.not_created")));
    }
  });
  replace(ctx.main, back(`/officer/${id}`, t("dash.title")), pageTitle(t("new.title")), h("p", { class: "lede" }, user(info.name)), form);
}

/** One extra condition: kind, measure, base, comparison, fraction, with its sentence. */
function conditionEditor(weights, onRemove, onChange) {
  const select = (name, label, options) => {
    const el = h("select", { name }, options.map(([value, text]) => h("option", { value }, text)));
    return { el, wrap: field(label, el) };
  };
  const kind = select("kind", t("cond.edit.kind"), [["approval", t("cond.kind.approval")], ["quorum", t("cond.kind.quorum")]]);
  const measure = select("measure", t("cond.edit.measure"), [["headcount", measureName("headcount")], ...weights.map((w) => [w, measureName(w)])]);
  const of = select("of", t("cond.edit.of"), ["roll", "participants", "cast"].map((b) => [b, t(`cond.base.${b}`)]));
  const comparison = select("comparison", t("cond.edit.comparison"), [["more_than", t("cond.more_than")], ["at_least", t("cond.at_least")]]);
  const frac = h("input", { type: "text", name: "fraction", value: "1/2", inputmode: "numeric", pattern: "[0-9]+/[0-9]+", size: "6" });
  const sentence = h("p", { class: "sentence", "aria-live": "polite" });
  const read = () => {
    const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(frac.value);
    if (!m || +m[2] === 0 || +m[1] > +m[2]) return null;
    return cond(kind.el.value, measure.el.value, kind.el.value === "quorum" ? "roll" : of.el.value, comparison.el.value, `${+m[1]}/${+m[2]}`);
  };
  const update = () => {
    of.el.disabled = kind.el.value === "quorum";
    if (of.el.disabled) of.el.value = "roll";
    const c = read();
    sentence.textContent = c ? requirement(c) : t("new.err.fraction");
    onChange();
  };
  const remove = h("button", { type: "button", class: "button secondary", onclick: onRemove }, t("new.remove_condition"));
  const element = h("li", { class: "condition-editor" }, kind.wrap, measure.wrap, of.wrap, comparison.wrap, field(t("cond.edit.fraction"), frac, t("cond.edit.fraction.hint")), sentence, remove);
  for (const el of [kind.el, measure.el, of.el, comparison.el, frac]) el.addEventListener("input", update);
  for (const el of [kind.el, measure.el, of.el, comparison.el]) el.addEventListener("change", update);
  setTimeout(update, 0);
  return { element, read, focus: () => kind.el.focus() };
}

// ------------------------------------------------------------------------------------------
// Managing one proposal

export async function manage(ctx) {
  const id = ctx.params[0];
  const p = await api("GET", `/proposals/${enc(id)}`);
  await requireOfficer(p.community);
  if (p.question === "election") return election.officerPage(ctx, p);
  const info = await community(p.community);
  ctx.setTitle(p.title);
  const message = h("div", { class: "form-message", id: "manage-message" });

  const act = async (box, path, body) => {
    try {
      await api("POST", `/proposals/${enc(id)}/${path}`, body ?? {});
      ctx.navigate(`/officer/p/${id}`, { replace: true, state: { done: path } });
    } catch (e) {
      replace(message, errorBox(e));
      message.scrollIntoView({ block: "nearest" });
    }
  };

  const actions = [];
  if (p.state === "draft") {
    actions.push(confirmButton({ action: "deliberate", label: t("manage.deliberate"), question: t("manage.deliberate.q"), confirmLabel: t("manage.deliberate.yes"), onConfirm: (b) => act(b, "deliberate") }));
  }
  if (p.state === "draft" || p.state === "deliberation") {
    actions.push(confirmButton({ action: "open", label: t("manage.open"), question: t("manage.open.q"), confirmLabel: t("manage.open.yes"), onConfirm: (b) => act(b, "open") }));
  }
  if (p.state === "voting") {
    actions.push(confirmButton({ action: "close", label: t("manage.close"), question: t("manage.close.q"), confirmLabel: t("manage.close.yes"), onConfirm: (b) => act(b, "close") }));
  }
  const forms = [];
  // Extending is for a vote short of its quorum: while voting, or once closed without one.
  const closedWithoutQuorum = p.state === "closed"
    && (await api("GET", `/proposals/${enc(id)}/tally`).then((v) => v.outcome === "no_quorum"));
  if (p.state === "voting" || closedWithoutQuorum) forms.push(extendForm(p, info, act));
  if (["draft", "deliberation", "voting"].includes(p.state)) forms.push(withdrawForm(act));

  const done = ctx.state.done ? h("div", { class: "success", role: "status" }, h("p", {}, t(`manage.done.${ctx.state.done}`))) : null;
  const created = ctx.state.created ? h("div", { class: "success", role: "status" }, h("p", {}, t("manage.created"))) : null;

  const sections = [];
  if (p.state === "voting") {
    sections.push(liveTally(ctx, p, { title: t("tally.title") }));
    const turnout = await api("GET", `/proposals/${enc(id)}/turnout`);
    sections.push(assistedForm(ctx, p, turnout));
    sections.push(proxyForm(p, info, turnout));
  }
  if (p.state === "closed") {
    sections.push(liveTally(ctx, p, { title: t("result.title") }));
    sections.push(publishSection(ctx, p));
  }
  if (p.state === "certified") {
    sections.push(h("section", {}, h("h2", {}, t("manage.published")),
      h("p", {}, h("a", { href: `/result/${p.id}`, class: "button primary" }, t("links.result")), " ",
        h("a", { href: `/r/${p.id}`, class: "button secondary" }, t("links.official")))));
  }

  const links = [h("a", { href: `/p/${p.id}`, class: "button secondary" }, t("links.as_resident"))];
  if (["voting", "closed", "certified", "withdrawn"].includes(p.state) && p.state !== "withdrawn") {
    links.push(h("a", { href: `/officer/p/${p.id}/turnout`, class: "button secondary" }, t("links.turnout")));
    links.push(h("a", { href: `/projector/${p.id}`, class: "button secondary" }, t("links.projector")));
  }

  replace(
    ctx.main,
    back(`/officer/${p.community}`, t("dash.title")),
    pageTitle(user(p.title)),
    h("p", { class: "state-line" }, stateBadge(p.state), " ",
      p.state === "voting" ? t("deadline.closes", { when: formatDateTime(p.closes_at, info.timezone) }) : null),
    created,
    done,
    message,
    h("nav", { class: "actions", "aria-label": t("links.more") }, ...links),
    actions.length ? h("section", { class: "lifecycle", "aria-labelledby": "lifecycle-title" }, h("h2", { id: "lifecycle-title" }, t("manage.lifecycle")), h("div", { class: "actions" }, ...actions)) : null,
    ...sections,
    ...forms,
  );
}

function extendForm(p, info, act) {
  const later = new Date(Math.max(Date.now(), new Date(p.closes_at).getTime()) + 7 * 86400000);
  const to = h("input", { type: "datetime-local", name: "closes_at", required: true, value: toLocalInput(later.toISOString(), info.timezone) });
  const reason = h("textarea", { name: "reason", rows: "2", required: true });
  const submit = h("button", { type: "submit", class: "button" }, t("manage.extend"));
  const message = h("div", { class: "form-message" });
  const form = h("form", { novalidate: true }, field(t("manage.extend.to"), to, tNodes("new.zone", { zone: verbatim(info.timezone, "span") })), field(t("manage.extend.reason"), reason), message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const closesAt = fromLocalInput(to.value, info.timezone);
    if (!closesAt || !reason.value.trim()) {
      replace(message, h("p", { class: "error", role: "alert" }, t("manage.extend.missing")));
      return;
    }
    await busy(submit, () => act(form, "extend", { closes_at: closesAt, reason: reason.value.trim() }));
  });
  return h("details", { class: "panel" }, h("summary", {}, t("manage.extend.title")), h("p", { class: "hint" }, t("manage.extend.hint")), form);
}

function withdrawForm(act) {
  const reason = h("textarea", { name: "reason", rows: "2", required: true });
  const submit = h("button", { type: "submit", class: "button danger" }, t("manage.withdraw"));
  const message = h("div", { class: "form-message" });
  const form = h("form", { novalidate: true }, field(t("manage.withdraw.reason"), reason), message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!reason.value.trim()) {
      replace(message, h("p", { class: "error", role: "alert" }, t("manage.withdraw.missing")));
      return;
    }
    await busy(submit, () => act(form, "withdraw", { reason: reason.value.trim() }));
  });
  return h("details", { class: "panel" }, h("summary", {}, t("manage.withdraw.title")), h("p", { class: "hint" }, t("manage.withdraw.hint")), form);
}

function voterOption(v) {
  const label = `${v.name || v.voter} — ${v.units.join(", ")}`;
  return h("option", { value: v.voter, "data-user": "" }, label);
}

function assistedForm(ctx, p, turnout) {
  const voter = h("select", { name: "voter", required: true }, h("option", { value: "" }, t("assisted.pick")), turnout.not_voted.map(voterOption));
  const preselect = ctx.query.get("voter");
  if (preselect) voter.value = preselect;
  const choice = radios(t("assisted.choice"), "assisted-choice", ["yes", "no", "abstain"].map((c) => ({ value: c, label: t(`choice.${c}.long`) })), null);
  const method = radios(t("assisted.method"), "method", ["in_person", "phone", "paper"].map((m) => ({ value: m, label: t(`method.${m}`) })), "in_person");
  const note = h("textarea", { name: "note", rows: "2", maxlength: "2000" });
  const submit = h("button", { type: "submit", class: "button primary" }, t("assisted.submit"));
  const message = h("div", { class: "form-message" });
  let key = newKey();
  const form = h("form", { novalidate: true, class: "assisted" },
    field(t("assisted.voter"), voter), choice.element, method.element, field(t("assisted.note"), note, t("assisted.note.hint")), message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    if (!voter.value || !choice.value()) {
      replace(message, h("p", { class: "error", role: "alert" }, t("assisted.missing")));
      return;
    }
    const chosen = turnout.not_voted.find((v) => v.voter === voter.value);
    try {
      const receipt = await busy(submit, () => api("POST", `/proposals/${enc(p.id)}/assisted-ballots`, {
        voter: voter.value, choice: choice.value(), method: method.value(), note: note.value.trim(), idempotency_key: key,
      }));
      key = newKey();
      voter.querySelector(`option[value="${CSS.escape(voter.value)}"]`)?.remove();
      voter.value = "";
      note.value = "";
      for (const input of choice.inputs) input.checked = false;
      replace(message, h("div", { class: "success", role: "status", "data-assisted": receipt.receipt },
        h("p", {}, tNodes("assisted.done", { who: user(chosen ? chosen.name || chosen.voter : "") })),
        h("p", {}, t("assisted.receipt"), " ", verbatim(receipt.receipt, "code", { class: "receipt" }))));
    } catch (e) {
      if (!(e instanceof ApiError && (e.offline || e.status >= 500))) key = newKey();
      replace(message, errorBox(e, t("assisted.not_recorded")));
    }
  });
  return h("section", { id: "assisted", "aria-labelledby": "assisted-title" }, h("h2", { id: "assisted-title" }, t("assisted.title")), h("p", { class: "hint" }, t("assisted.text")), form);
}

function proxyForm(p, info, turnout) {
  const voter = h("select", { name: "voter", required: true }, h("option", { value: "" }, t("assisted.pick")), turnout.not_voted.map(voterOption));
  const holder = h("input", { type: "text", name: "holder_login", required: true, autocapitalize: "none", spellcheck: "false" });
  const text = h("textarea", { name: "authorisation", rows: "3", required: true });
  const expires = h("input", { type: "datetime-local", name: "expires_at", required: true, value: toLocalInput(p.closes_at, info.timezone) });
  const submit = h("button", { type: "submit", class: "button" }, t("proxy.submit"));
  const message = h("div", { class: "form-message" });
  const form = h("form", { novalidate: true, class: "proxy" },
    field(t("proxy.voter"), voter), field(t("proxy.holder"), holder, t("proxy.holder.hint")),
    field(t("proxy.text"), text, t("proxy.text.hint")), field(t("proxy.expires"), expires, tNodes("new.zone", { zone: verbatim(info.timezone, "span") })), message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    const expiresAt = fromLocalInput(expires.value, info.timezone);
    if (!voter.value || !holder.value.trim() || !text.value.trim() || !expiresAt) {
      replace(message, h("p", { class: "error", role: "alert" }, t("proxy.missing")));
      return;
    }
    try {
      const done = await busy(submit, () => api("POST", `/proposals/${enc(p.id)}/proxies`, {
        voter: voter.value, holder_login: holder.value.trim(), authorisation: text.value.trim(), expires_at: expiresAt,
      }));
      replace(message, h("div", { class: "success", role: "status", "data-proxy": done.voter },
        h("p", {}, tNodes("proxy.done", { voter: verbatim(done.voter, "span"), holder: verbatim(done.holder_login, "span"), until: formatDateTime(done.expires_at, info.timezone) }))));
      text.value = "";
    } catch (e) {
      replace(message, errorBox(e, t("proxy.not_recorded")));
    }
  });
  return h("details", { class: "panel", id: "proxies" }, h("summary", {}, t("proxy.title")), h("p", { class: "hint" }, t("proxy.text.intro")), form);
}

function publishSection(ctx, p) {
  const list = h("ul", { class: "attestations" });
  const name = h("input", { type: "text", name: "att-name", maxlength: "100" });
  const role = h("input", { type: "text", name: "att-role", maxlength: "100" });
  const statement = h("textarea", { name: "att-statement", rows: "2", maxlength: "1000" });
  const add = h("button", { type: "submit", class: "button secondary" }, t("attest.add"));
  const attMessage = h("div", { class: "form-message" });
  const attForm = h("form", { novalidate: true }, field(t("attest.name"), name), field(t("attest.role"), role, t("attest.role.hint")), field(t("attest.statement"), statement), attMessage, add);
  attForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(attMessage);
    if (!name.value.trim() || !role.value.trim() || !statement.value.trim()) {
      replace(attMessage, h("p", { class: "error", role: "alert" }, t("attest.missing")));
      return;
    }
    try {
      const result = await busy(add, () => api("POST", `/proposals/${enc(p.id)}/attestations`, { name: name.value.trim(), role: role.value.trim(), statement: statement.value.trim() }));
      replace(list, result.attestations.map((a) => h("li", {}, user(a.name), " (", user(a.role), "): ", user(a.statement, "q"))));
      name.value = role.value = statement.value = "";
      replace(attMessage, h("p", { class: "success", role: "status" }, t("attest.added")));
    } catch (e) {
      replace(attMessage, errorBox(e));
    }
  });

  const outcome = h("textarea", { name: "outcome_statement", rows: "3", maxlength: "2000" });
  const publish = h("button", { type: "submit", class: "button primary big" }, t("publish.submit"));
  const message = h("div", { class: "form-message" });
  const form = h("form", { novalidate: true, class: "publish" }, field(t("publish.statement"), outcome, t("publish.statement.hint")), message, publish);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    try {
      await busy(publish, () => api("POST", `/proposals/${enc(p.id)}/publish`, { outcome_statement: outcome.value.trim() }));
      ctx.navigate(`/result/${p.id}`);
    } catch (e) {
      replace(message, errorBox(e, t("publish.failed")));
    }
  });
  return h("section", { class: "publish-section", "aria-labelledby": "publish-title" },
    h("h2", { id: "publish-title" }, t("publish.title")),
    h("p", {}, t("publish.text")),
    h("h3", {}, t("attest.title")), h("p", { class: "hint" }, t("attest.text")), list, attForm,
    h("h3", {}, t("publish.step")), form);
}

// ------------------------------------------------------------------------------------------
// Turnout: who has not voted yet (participation only)

export async function turnout(ctx) {
  const id = ctx.params[0];
  const p = await api("GET", `/proposals/${enc(id)}`);
  await requireOfficer(p.community);
  const info = await community(p.community);
  const data = await api("GET", `/proposals/${enc(id)}/turnout`);
  ctx.setTitle(t("turnout.title"));
  const total = data.voted_count + data.not_voted_count;
  const tags = [...new Set([...data.not_voted, ...data.voted].flatMap((v) => v.tags || []))].sort();
  const building = h("select", { name: "building" }, h("option", { value: "" }, t("turnout.all_buildings")), tags.map((tag) => h("option", { value: tag }, tag)));
  const search = h("input", { type: "search", name: "search" });
  const notVotedList = h("ul", { class: "cards people" });
  const votedBody = h("tbody");
  const counts = h("p", { class: "hint", role: "status" });
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const keep = (v) => (!building.value || (v.tags || []).includes(building.value))
      && (!q || [v.voter, v.name, v.phone || "", ...v.units].some((x) => String(x).toLowerCase().includes(q)));
    const nv = data.not_voted.filter(keep);
    const vd = data.voted.filter(keep);
    replace(notVotedList, nv.map((v) => h("li", { class: "card person", "data-voter": v.voter },
      h("p", { class: "card-title" }, user(v.name || v.voter)),
      h("p", { class: "card-meta" }, user(v.units.join(", ")), v.tags && v.tags.length ? [" · ", user(v.tags.join(", "))] : null),
      h("div", { class: "actions" },
        v.phone ? h("a", { href: `tel:${v.phone}`, class: "button secondary" }, t("turnout.call"), " ", verbatim(v.phone, "span")) : h("span", { class: "hint" }, t("turnout.no_phone")),
        p.state === "voting" ? h("a", { href: `/officer/p/${p.id}?voter=${enc(v.voter)}#assisted`, class: "button secondary" }, t("turnout.record")) : null))));
    replace(votedBody, vd.map((v) => h("tr", {}, h("td", {}, user(v.name || v.voter)), h("td", {}, user(v.units.join(", "))),
      h("td", {}, t(`channel.${v.channel}`)), h("td", {}, formatDateTime(v.at, info.timezone)))));
    counts.textContent = t("turnout.filtered", { nv: formatInt(nv.length), v: formatInt(vd.length) });
  };
  building.addEventListener("change", draw);
  search.addEventListener("input", draw);
  draw();
  replace(
    ctx.main,
    back(`/officer/p/${p.id}`, t("links.manage")),
    pageTitle(t("turnout.title")),
    h("p", { class: "lede" }, user(p.title)),
    h("div", { class: "notice", role: "note" }, h("p", {}, p.secrecy === "secret" ? t("turnout.privacy.secret") : t("turnout.privacy"))),
    h("p", { class: "summary big-number" }, t("turnout.summary", {
      voted: formatInt(data.voted_count), total: formatInt(total), pct: percentText(data.voted_count, total), left: formatInt(data.not_voted_count),
    })),
    h("div", { class: "filters no-print" }, field(t("turnout.building"), building), field(t("turnout.search"), search, t("turnout.search.hint"))),
    counts,
    h("button", { type: "button", class: "button secondary no-print", onclick: () => window.print() }, t("turnout.print")),
    h("section", { "aria-labelledby": "nv-title" }, h("h2", { id: "nv-title" }, tn("turnout.not_voted", data.not_voted_count)), notVotedList),
    await outreachSection(ctx, p, info.timezone),
    h("section", {}, h("h2", { id: "v-title" }, tn("turnout.voted", data.voted_count)),
      h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": "v-title" },
        h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("roll.col.name")), h("th", { scope: "col" }, t("roll.col.units")),
          h("th", { scope: "col" }, t("turnout.col.channel")), h("th", { scope: "col" }, t("turnout.col.at")))), votedBody))),
  );
}

