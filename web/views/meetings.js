// Council meetings: the community's meetings with their published minutes; officers schedule
// one (date, place, agenda), record who came, enter a show of hands as assisted ballots of the
// households present, and close it with the minutes and the attendee count.

import { h, replace, user, verbatim, announce, uid } from "../dom.js";
import { api, session, community } from "../api.js";
import { t, formatDateTime, formatInt, toLocalInput, fromLocalInput } from "../i18n.js";
import { markdown } from "../markdown.js";
import { pageTitle, field, errorBox, busy } from "./common.js";

const enc = encodeURIComponent;

function isOfficerOf(s, communityId) {
  return s.me.memberships.some((m) => m.community === communityId && m.role === "officer");
}

function agendaList(m) {
  if (!m.agenda.length) return h("p", { class: "hint" }, t("meetings.agenda.none"));
  return h("ul", { class: "agenda" }, m.agenda.map((a) => h("li", {},
    h("span", { class: "badge" }, t(`meetings.agenda.${a.kind}`)), " ",
    h("a", { href: a.kind === "proposal" ? `/p/${a.id}` : `/petition/${a.id}` }, user(a.title)))));
}

/** `/c/{community}/meetings`. */
export async function list(ctx) {
  const id = ctx.params[0];
  const [s, info, data] = await Promise.all([session(), community(id), api("GET", `/communities/${enc(id)}/meetings`)]);
  const officer = isOfficerOf(s, id);
  ctx.setTitle(t("meetings.title"));
  const cards = data.meetings.map((m) => h("li", { class: "card", "data-meeting": m.id },
    h("a", { href: `/meeting/${m.id}`, class: "card-link" },
      h("span", { class: "card-title" }, user(m.title)),
      h("span", { class: "card-meta" },
        h("span", { class: m.closed ? "badge state-closed" : "badge state-deliberation" }, m.closed ? t("meetings.closed") : t("meetings.scheduled")),
        h("span", {}, formatDateTime(m.starts_at, info.timezone)), h("span", { "data-user": "" }, m.place)))));
  replace(ctx.main,
    h("p", { class: "breadcrumb" }, h("a", { href: "/" }, t("nav.home")), " › ", user(info.name)),
    pageTitle(t("meetings.title")),
    cards.length ? h("ul", { class: "cards" }, cards) : h("p", { class: "notice" }, t("meetings.none")),
    officer ? await scheduleForm(ctx, id, info) : null);
}

async function scheduleForm(ctx, communityId, info) {
  const [proposals, petitions] = await Promise.all([
    api("GET", `/communities/${enc(communityId)}/proposals`),
    api("GET", `/communities/${enc(communityId)}/petitions`),
  ]);
  const title = h("input", { type: "text", name: "title", maxlength: "200", required: true });
  const starts = h("input", { type: "datetime-local", name: "starts_at", required: true,
    value: toLocalInput(new Date(Date.now() + 7 * 86400000).toISOString(), info.timezone) });
  const place = h("input", { type: "text", name: "place", maxlength: "200", required: true });
  const items = [
    ...proposals.proposals.filter((p) => !["withdrawn", "certified"].includes(p.state)).map((p) => ({ kind: "proposal", id: p.id, title: p.title })),
    ...petitions.petitions.filter((p) => !["answered", "proposed"].includes(p.status)).map((p) => ({ kind: "petition", id: p.id, title: p.title })),
  ];
  const boxes = items.map((item) => {
    const input = h("input", { type: "checkbox", name: "agenda", value: `${item.kind}:${item.id}`, id: uid("a") });
    return { item, input, el: h("div", { class: "option check" }, input,
      h("label", { for: input.id }, h("span", { class: "option-label", "data-user": "" }, item.title), h("span", { class: "option-hint" }, t(`meetings.agenda.${item.kind}`)))) };
  });
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button primary" }, t("meetings.schedule.submit"));
  const form = h("form", { class: "card", id: "schedule", novalidate: true },
    h("h2", {}, t("meetings.schedule.title")),
    field(t("meetings.field.title"), title), field(t("meetings.field.starts"), starts), field(t("meetings.field.place"), place),
    h("fieldset", {}, h("legend", {}, t("meetings.field.agenda")), boxes.length ? boxes.map((b) => b.el) : h("p", { class: "hint" }, t("meetings.agenda.none"))),
    message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!title.value.trim() || !place.value.trim() || !starts.value) {
      replace(message, h("p", { class: "error", role: "alert" }, t("meetings.schedule.missing")));
      return;
    }
    await busy(submit, async () => {
      try {
        const m = await api("POST", `/communities/${enc(communityId)}/meetings`, {
          title: title.value, place: place.value, starts_at: fromLocalInput(starts.value, info.timezone),
          agenda: boxes.filter((b) => b.input.checked).map((b) => ({ kind: b.item.kind, id: b.item.id })),
        });
        ctx.navigate(`/meeting/${m.id}`);
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
  });
  return form;
}

/** `/meeting/{id}`. */
export async function page(ctx) {
  const id = ctx.params[0];
  const [s, m] = await Promise.all([session(), api("GET", `/meetings/${enc(id)}`)]);
  const info = await community(m.community);
  const officer = isOfficerOf(s, m.community);
  ctx.setTitle(m.title);
  const parts = [
    h("p", { class: "breadcrumb" }, h("a", { href: "/" }, t("nav.home")), " › ", h("a", { href: `/c/${m.community}/meetings` }, t("meetings.title"))),
    pageTitle(user(m.title)),
    h("dl", { class: "facts" },
      h("dt", {}, t("meetings.field.starts")), h("dd", {}, formatDateTime(m.starts_at, info.timezone)),
      h("dt", {}, t("meetings.field.place")), h("dd", { "data-user": "" }, m.place)),
    h("h2", {}, t("meetings.field.agenda")), agendaList(m),
  ];
  if (m.closed) {
    parts.push(
      h("section", { id: "minutes", "aria-labelledby": "minutes-title" },
        h("h2", { id: "minutes-title" }, t("meetings.minutes")),
        h("p", { class: "summary", "data-attendees": String(m.attendee_count) }, t("meetings.attendee_count", { n: formatInt(m.attendee_count) })),
        h("div", { class: "markdown", "data-user": "" }, markdown(m.minutes, 3))));
  }
  if (m.attendees.length) {
    parts.push(h("h2", {}, t("meetings.attendees")), h("ul", { class: "attendees" }, m.attendees.map((a) => h("li", { "data-user": "" }, a.name, a.voter ? ` (${a.voter})` : ""))));
  }
  for (const s2 of m.show_of_hands) {
    const item = m.agenda.find((a) => a.id === s2.proposal);
    parts.push(h("p", { class: "hint" }, s2.results_visible === false ? t("meetings.hands.hidden", { n: s2.ballots }) : t("meetings.hands.result", { yes: s2.yes, no: s2.no, abstain: s2.abstain }), " ", item ? user(item.title) : null));
  }
  if (officer && !m.closed) {
    const roll = await api("GET", `/communities/${enc(m.community)}/roll`).catch(() => null);
    parts.push(attendanceForm(ctx, m, roll), ...(await handsForms(ctx, m)), closeForm(ctx, m));
  }
  replace(ctx.main, ...parts);
}

function rerender(ctx, id) {
  ctx.navigate(`/meeting/${id}`, { replace: true });
}

function attendanceForm(ctx, m, roll) {
  const present = new Set(m.attendees.filter((a) => a.voter).map((a) => a.voter));
  const voters = roll ? roll.voters : [];
  const boxes = voters.map((v) => {
    const input = h("input", { type: "checkbox", name: "present", value: v.voter, id: uid("v"), checked: present.has(v.voter) });
    return { v, input, el: h("div", { class: "option check" }, input, h("label", { for: input.id }, h("span", { class: "option-label", "data-user": "" }, v.name || v.voter, " · ", v.units.join(", ")))) };
  });
  const others = h("textarea", { name: "others", rows: "3" });
  others.value = m.attendees.filter((a) => !a.voter).map((a) => a.name).join("\n");
  const message = h("div", { class: "form-message", role: "status" });
  const submit = h("button", { type: "submit", class: "button secondary" }, t("meetings.attendance.save"));
  const form = h("form", { class: "card", id: "attendance", novalidate: true },
    h("h2", {}, t("meetings.attendance.title")),
    h("fieldset", {}, h("legend", {}, t("meetings.attendance.households")), boxes.map((b) => b.el)),
    field(t("meetings.attendance.others"), others, t("meetings.attendance.others_hint")), message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const attendees = [
      ...boxes.filter((b) => b.input.checked).map((b) => ({ voter: b.v.voter, name: b.v.name || b.v.voter })),
      ...others.value.split("\n").map((x) => x.trim()).filter(Boolean).map((name) => ({ name })),
    ];
    await busy(submit, async () => {
      try {
        await api("PUT", `/meetings/${enc(m.id)}/attendance`, { attendees });
        announce(t("meetings.attendance.saved"));
        rerender(ctx, m.id);
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
  });
  return form;
}

async function handsForms(ctx, m) {
  const households = m.attendees.filter((a) => a.voter);
  const forms = [];
  for (const item of m.agenda.filter((a) => a.kind === "proposal")) {
    const p = await api("GET", `/proposals/${enc(item.id)}`).catch(() => null);
    if (!p || p.state !== "voting" || p.secrecy === "secret" || !households.length) continue;
    const selects = households.map((a) => {
      const select = h("select", { name: `hand-${a.voter}`, "data-voter": a.voter },
        h("option", { value: "" }, t("meetings.hands.none")),
        ["yes", "no", "abstain"].map((c) => h("option", { value: c }, t(`choice.${c}.short`))));
      return { a, select };
    });
    const message = h("div", { class: "form-message", role: "status" });
    const submit = h("button", { type: "submit", class: "button secondary" }, t("meetings.hands.submit"));
    const form = h("form", { class: "card hands-form", novalidate: true, "data-proposal": item.id },
      h("h2", {}, t("meetings.hands.title")), h("p", { "data-user": "" }, item.title),
      h("p", { class: "hint" }, t("meetings.hands.hint")),
      selects.map(({ a, select }) => field(a.name, select)), message, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const hands = selects.filter((x) => x.select.value).map((x) => ({ voter: x.a.voter, choice: x.select.value }));
      await busy(submit, async () => {
        try {
          const r = await api("POST", `/meetings/${enc(m.id)}/show-of-hands`, { proposal: item.id, hands });
          replace(message, h("p", { class: "success" }, t("meetings.hands.done", { n: r.recorded.length, refused: r.refused.length })),
            r.refused.length ? h("ul", {}, r.refused.map((x) => h("li", {}, verbatim(x.voter, "span"), " — ", t(`err.${x.code}`)))) : null);
        } catch (e) {
          replace(message, errorBox(e));
        }
      });
    });
    forms.push(form);
  }
  return forms;
}

function closeForm(ctx, m) {
  const minutes = h("textarea", { name: "minutes", rows: "6", required: true });
  const count = h("input", { type: "text", name: "attendee_count", inputmode: "numeric", pattern: "[0-9]*", required: true, value: String(m.attendees.length || "") });
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button primary" }, t("meetings.close.submit"));
  const form = h("form", { class: "card", id: "close-meeting", novalidate: true },
    h("h2", {}, t("meetings.close.title")),
    field(t("meetings.minutes"), minutes, t("meetings.close.minutes_hint")),
    field(t("meetings.close.count"), count, t("meetings.close.count_hint")), message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!minutes.value.trim() || !(Number(count.value) >= 1)) {
      replace(message, h("p", { class: "error", role: "alert" }, t("meetings.close.missing")));
      return;
    }
    await busy(submit, async () => {
      try {
        await api("POST", `/meetings/${enc(m.id)}/close`, { minutes: minutes.value, attendee_count: Number(count.value) });
        announce(t("meetings.close.done"));
        rerender(ctx, m.id);
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
  });
  return form;
}
