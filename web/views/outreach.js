// Outreach on the turnout screen: officers log each contact attempt with a household that has
// not voted (phone, visit, note) and its outcome, and see who is left to reach. Nothing here
// shows how anyone voted.

import { h, replace, user, verbatim, announce } from "../dom.js";
import { api } from "../api.js";
import { t, formatDateTime, formatInt } from "../i18n.js";
import { field, errorBox, busy, radios } from "./common.js";

const METHODS = ["phone", "visit", "note"];
const OUTCOMES = ["will_vote", "not_home", "needs_paper_ballot", "refused", "other"];

/** The outreach section for an open (or closed) proposal `p`; `timezone` for the times. */
export async function outreachSection(ctx, p, timezone) {
  const section = h("section", { id: "outreach", "aria-labelledby": "outreach-title" });
  const draw = async () => {
    let data;
    try {
      data = await api("GET", `/proposals/${encodeURIComponent(p.id)}/outreach`);
    } catch (e) {
      replace(section, h("h2", { id: "outreach-title" }, t("outreach.title")), errorBox(e));
      return;
    }
    const parts = [h("h2", { id: "outreach-title" }, t("outreach.title")),
      h("p", { class: "summary", "data-left": String(data.remaining_count) }, t("outreach.left", {
        left: formatInt(data.remaining_count), never: formatInt(data.never_contacted) }))];
    if (p.state === "voting" && data.remaining.length) parts.push(contactForm(p, data, draw));
    parts.push(h("h3", {}, t("outreach.log")));
    parts.push(data.log.length
      ? h("ul", { class: "cards people outreach-log" }, data.log.map((e) => h("li", { class: "card person", "data-seq": String(e.seq) },
        h("p", { class: "card-title" }, user(e.name || e.voter)),
        h("p", { class: "card-meta" }, t(`outreach.method.${e.method}`), " · ", h("strong", {}, t(`outreach.outcome.${e.outcome}`)),
          " · ", formatDateTime(e.at, timezone), " · ", verbatim(e.by, "span")),
        e.note ? h("p", { "data-user": "" }, e.note) : null)))
      : h("p", { class: "notice" }, t("outreach.none")));
    replace(section, ...parts);
  };
  await draw();
  return section;
}

function contactForm(p, data, redraw) {
  const voter = h("select", { name: "outreach-voter", required: true }, h("option", { value: "" }, t("assisted.pick")),
    data.remaining.map((r) => h("option", { value: r.voter },
      `${r.name || r.voter} · ${r.units.join(", ")}`,
      r.attempts ? ` · ${t("outreach.attempts", { n: r.attempts })}, ${t(`outreach.outcome.${r.last_outcome}`)}` : "")));
  const method = radios(t("outreach.field.method"), "outreach-method", METHODS.map((m) => ({ value: m, label: t(`outreach.method.${m}`) })), "phone");
  const outcome = h("select", { name: "outcome", required: true }, OUTCOMES.map((o) => h("option", { value: o }, t(`outreach.outcome.${o}`))));
  const note = h("input", { type: "text", name: "outreach-note", maxlength: "1000" });
  const message = h("div", { class: "form-message", role: "status" });
  const submit = h("button", { type: "submit", class: "button primary" }, t("outreach.submit"));
  const form = h("form", { class: "card", id: "outreach-form", novalidate: true },
    field(t("outreach.field.voter"), voter), method.element, field(t("outreach.field.outcome"), outcome),
    field(t("outreach.field.note"), note), message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!voter.value) {
      replace(message, h("p", { class: "error", role: "alert" }, t("outreach.pick")));
      voter.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        await api("POST", `/proposals/${encodeURIComponent(p.id)}/outreach`, {
          voter: voter.value, method: method.value(), outcome: outcome.value, note: note.value,
        });
        announce(t("outreach.saved"));
        await redraw();
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
  });
  return form;
}
