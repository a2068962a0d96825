// Residents' petitions (需求): the community's list with a form to raise one, a petition with its
// signatures against the threshold, co-signing, the council's response (a public answer or a
// draft proposal), and its discussion.

import { h, replace, user, verbatim, announce } from "../dom.js";
import { api, session, community } from "../api.js";
import { t, tNodes, formatDateTime, formatInt, toLocalInput, fromLocalInput } from "../i18n.js";
import { markdown } from "../markdown.js";
import { pageTitle, field, errorBox, busy } from "./common.js";
import { discussion } from "./discussion.js";

function statusBadge(status) {
  return h("span", { class: `badge petition-${status}`, "data-status": status }, t(`petition.status.${status}`));
}

function signatureLine(p) {
  return t("petition.signatures", { n: formatInt(p.signatures), needed: formatInt(p.needed), headcount: formatInt(p.headcount), threshold: p.threshold });
}

function membershipOf(s, communityId) {
  return s.me.memberships.find((m) => m.community === communityId);
}

/** `/c/{community}/petitions`: every petition of the community, newest first. */
export async function list(ctx) {
  const id = ctx.params[0];
  const [s, info, data] = await Promise.all([session(), community(id), api("GET", `/communities/${encodeURIComponent(id)}/petitions`)]);
  const m = membershipOf(s, id);
  ctx.setTitle(t("petitions.title"));
  const cards = data.petitions.map((p) => h("li", { class: "card", "data-petition": p.id },
    h("a", { href: `/petition/${p.id}`, class: "card-link" },
      h("span", { class: "card-title" }, user(p.title)),
      h("span", { class: "card-meta" }, statusBadge(p.status), h("span", {}, signatureLine(p)),
        p.signed_by_me ? h("span", { class: "badge voted" }, "✓ ", t("petition.signed")) : null))));

  const parts = [];
  if (m && m.role === "voter") parts.push(raiseForm(ctx, id, info));
  if (m && m.role === "officer") parts.push(settingsForm(id, data.threshold));
  replace(ctx.main,
    h("p", { class: "breadcrumb" }, h("a", { href: "/" }, t("nav.home")), " › ", user(info.name)),
    pageTitle(t("petitions.title")),
    h("p", { class: "lede" }, t("petitions.lede", { threshold: data.threshold })),
    cards.length ? h("ul", { class: "cards" }, cards) : h("p", { class: "notice" }, t("petitions.none")),
    ...parts);
}

function raiseForm(ctx, communityId, info) {
  const title = h("input", { type: "text", name: "title", maxlength: "200", required: true });
  const body = h("textarea", { name: "body", rows: "5" });
  const inTwoWeeks = new Date(Date.now() + 14 * 86400000).toISOString();
  const closes = h("input", { type: "datetime-local", name: "signing_closes", value: toLocalInput(inTwoWeeks, info.timezone), required: true });
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button primary big" }, t("petitions.raise.submit"));
  const form = h("form", { class: "card", novalidate: true, id: "raise" },
    h("h2", {}, t("petitions.raise.title")),
    field(t("petitions.raise.field_title"), title),
    field(t("petitions.raise.field_body"), body, t("petitions.raise.body_hint")),
    field(t("petitions.raise.field_closes"), closes, t("petitions.raise.closes_hint")),
    message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    if (!title.value.trim()) {
      replace(message, h("p", { class: "error", role: "alert" }, t("petitions.raise.empty")));
      title.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const p = await api("POST", `/communities/${encodeURIComponent(communityId)}/petitions`, {
          title: title.value, body: body.value, signing_closes: fromLocalInput(closes.value, info.timezone),
        });
        ctx.navigate(`/petition/${p.id}`);
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
  });
  return form;
}

function settingsForm(communityId, threshold) {
  const input = h("input", { type: "text", name: "threshold", value: threshold, inputmode: "numeric", required: true });
  const message = h("div", { class: "form-message", role: "status" });
  const submit = h("button", { type: "submit", class: "button secondary" }, t("petitions.settings.save"));
  const form = h("form", { class: "card", novalidate: true, id: "petition-settings" },
    h("h2", {}, t("petitions.settings.title")),
    field(t("petitions.settings.threshold"), input, t("petitions.settings.hint")), message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(submit, async () => {
      try {
        const saved = await api("PUT", `/communities/${encodeURIComponent(communityId)}/petition-settings`, { threshold: input.value.trim() });
        replace(message, h("p", { class: "success" }, t("petitions.settings.saved", { threshold: saved.threshold })));
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
  });
  return form;
}

/** `/petition/{id}`: one petition. */
export async function page(ctx) {
  const id = ctx.params[0];
  const [s, p] = await Promise.all([session(), api("GET", `/petitions/${encodeURIComponent(id)}`)]);
  const info = await community(p.community);
  const m = membershipOf(s, p.community);
  const isVoter = m && m.role === "voter";
  const isOfficer = m && m.role === "officer";
  ctx.setTitle(p.title);

  const signBox = h("section", { class: "vote", id: "sign", "aria-labelledby": "sign-title" });
  const drawSign = (current) => {
    const parts = [h("h2", { id: "sign-title" }, t("petition.sign.title")),
      h("p", { class: "summary", "data-signatures": String(current.signatures) }, signatureLine(current)),
      h("p", {}, statusBadge(current.status), " ", current.signing_open
        ? t("petition.closes", { when: formatDateTime(current.signing_closes, info.timezone) })
        : t("petition.closed", { when: formatDateTime(current.signing_closes, info.timezone) }))];
    if (current.status === "due") parts.push(h("p", { class: "notice" }, t("petition.due_text")));
    if (isVoter && current.signed_by_me) {
      parts.push(h("div", { class: "success", role: "status", tabindex: "-1", "data-signed": "" }, h("p", {}, "✓ ", t("petition.signed_text"))));
    } else if (isVoter && current.signing_open) {
      const message = h("div", { class: "form-message" });
      const button = h("button", { type: "button", class: "button primary big", id: "cosign" }, t("petition.sign.button"));
      button.addEventListener("click", () => busy(button, async () => {
        try {
          const signed = await api("POST", `/petitions/${encodeURIComponent(p.id)}/cosign`, {});
          drawSign(signed);
          announce(t("petition.signed_text"));
          const done = signBox.querySelector("[data-signed]");
          if (done) done.focus();
        } catch (e) {
          replace(message, errorBox(e));
        }
      }));
      parts.push(button, message);
    } else if (!isVoter) {
      parts.push(h("p", { class: "hint" }, t("petition.voters_only")));
    }
    replace(signBox, ...parts);
  };
  drawSign(p);

  const responseBox = h("section", { id: "response", "aria-labelledby": "response-title" });
  const drawResponse = (current) => {
    const parts = [h("h2", { id: "response-title" }, t("petition.response.title"))];
    if (current.response) {
      const r = current.response;
      parts.push(h("p", { class: "hint" }, formatDateTime(r.at, info.timezone)));
      if (r.answer) parts.push(h("div", { class: "markdown official-answer", "data-user": "" }, markdown(r.answer, 3)));
      if (r.proposal) parts.push(h("p", {}, h("a", { href: `/p/${r.proposal}`, class: "button secondary" }, t("petition.response.proposal_link"))));
    } else {
      parts.push(h("p", { class: "notice" }, t("petition.response.none")));
      if (isOfficer) parts.push(respondForm(ctx, current, drawResponse));
    }
    replace(responseBox, ...parts);
  };
  drawResponse(p);

  const talk = discussion(ctx, { kind: "petitions", id: p.id, community: p.community, timezone: info.timezone });
  replace(ctx.main,
    h("p", { class: "breadcrumb" }, h("a", { href: "/" }, t("nav.home")), " › ", h("a", { href: `/c/${p.community}/petitions` }, t("petitions.title"))),
    pageTitle(user(p.title)),
    h("p", { class: "hint" }, tNodes("petition.raised", { who: verbatim(p.raised_by, "span"), when: formatDateTime(p.raised_at, info.timezone) })),
    p.body ? h("section", { class: "body" }, h("div", { class: "markdown", "data-user": "" }, markdown(p.body))) : null,
    signBox, responseBox, talk);
  await talk.start();
}

function respondForm(ctx, p, onDone) {
  const answer = h("textarea", { name: "answer", rows: "4", maxlength: "5000" });
  const message = h("div", { class: "form-message" });
  const send = h("button", { type: "submit", class: "button primary" }, t("petition.response.answer"));
  const propose = h("button", { type: "button", class: "button secondary", id: "to-proposal" }, t("petition.response.propose"));
  const form = h("form", { class: "card", novalidate: true, id: "respond" },
    field(t("petition.response.field"), answer, t("petition.response.hint")), message,
    h("div", { class: "actions" }, send, propose));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!answer.value.trim()) {
      replace(message, h("p", { class: "error", role: "alert" }, t("petition.response.empty")));
      answer.focus();
      return;
    }
    await busy(send, async () => {
      try {
        onDone(await api("POST", `/petitions/${encodeURIComponent(p.id)}/response`, { answer: answer.value }));
        announce(t("petition.response.done"));
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
  });
  propose.addEventListener("click", () => busy(propose, async () => {
    try {
      // A draft with the petition's words, a simple majority and a month to close; the officer
      // revises all of it on the proposal's page before deliberation.
      const closes = new Date(Date.now() + 30 * 86400000).toISOString();
      const draft = await api("POST", `/communities/${encodeURIComponent(p.community)}/proposals`, {
        title: p.title, body: p.body, rule: { preset: "simple-majority" }, closes_at: closes,
      });
      await api("POST", `/petitions/${encodeURIComponent(p.id)}/response`, { proposal: draft.id, answer: answer.value });
      ctx.navigate(`/officer/p/${draft.id}`);
    } catch (e) {
      replace(message, errorBox(e));
    }
  }));
  return form;
}

/**
 * On a proposal's page: "From the residents' petition: …", linking back to the petition the
 * council turned into this proposal (empty and hidden when it came from none).
 */
export function petitionOrigin(ctx, p, isMember) {
  const box = h("p", { class: "origin", "data-origin": "", hidden: true });
  if (isMember) {
    api("GET", `/communities/${encodeURIComponent(p.community)}/petitions`)
      .then((list) => {
        const from = list.petitions.find((x) => x.response && x.response.proposal === p.id);
        if (!from || !ctx.current()) return;
        replace(box, tNodes("petition.origin", { title: h("a", { href: `/petition/${from.id}`, "data-petition": from.id }, user(from.title)) }));
        box.hidden = false;
      })
      .catch(() => {});
  }
  return box;
}
