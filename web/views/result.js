// The result page anyone can open and print: from the signed certificate once published (no
// sign-in needed), or from the closed tally before that (members only), with the numbers for
// every condition, the times, who checked the count and how to verify it independently.

import { h, replace, user, verbatim } from "../dom.js";
import { api, ApiError, session, community } from "../api.js";
import { t, lang, formatDateTime, formatInt } from "../i18n.js";
import { tallyBlock } from "../tally.js";
import { pageTitle, stateBadge } from "./common.js";
import { rankingBlock } from "./election.js";

const enc = encodeURIComponent;

export async function page(ctx) {
  const id = ctx.params[0];
  const s = await session();
  let p = null;
  if (s.signed_in) {
    try {
      p = await api("GET", `/proposals/${enc(id)}`);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }
  if (p && p.state !== "certified") {
    await unpublished(ctx, p);
    return;
  }
  let cert;
  try {
    cert = await api("GET", `/proposals/${enc(id)}/certificate`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      ctx.setTitle(t("result.title"));
      replace(ctx.main, pageTitle(t("result.title")), h("p", { class: "notice" }, t("result.not_found")),
        s.signed_in ? null : h("p", {}, h("a", { href: `/signin?next=${enc(location.pathname)}`, class: "button primary" }, t("nav.signin"))));
      return;
    }
    throw e;
  }
  certified(ctx, cert);
}

async function unpublished(ctx, p) {
  const info = await community(p.community);
  ctx.setTitle(p.title);
  const parts = [
    h("p", { class: "breadcrumb" }, h("a", { href: `/p/${p.id}` }, "‹ ", t("links.proposal"))),
    h("p", { class: "eyebrow" }, user(info.name)),
    pageTitle(user(p.title)),
    h("p", {}, stateBadge(p.state)),
  ];
  if (p.state === "closed") {
    const view = await api("GET", `/proposals/${enc(p.id)}/tally`);
    parts.push(h("div", { class: "notice", role: "note" }, h("p", {}, t("result.unpublished"))));
    parts.push(h("section", { "aria-labelledby": "res-tally" }, h("h2", { id: "res-tally" }, t("result.title")),
      view.election ? rankingBlock({ ...view.election, participants: view.turnout, electorate: view.electorate }, { details: true }) : tallyBlock(view)));
    if (p.closed_at) parts.push(h("p", {}, t("facts.closed"), ": ", formatDateTime(p.closed_at, info.timezone)));
  } else {
    parts.push(h("p", { class: "notice" }, t(p.state === "withdrawn" ? "result.withdrawn" : "result.not_yet")));
    parts.push(h("p", {}, h("a", { href: `/p/${p.id}`, class: "button primary" }, t("links.proposal"))));
  }
  replace(ctx.main, ...parts);
}

function certified(ctx, cert) {
  const zone = cert.community.timezone;
  ctx.setTitle(cert.proposal.title);
  const view = {
    state: "certified",
    final: true,
    electorate: cert.electorate,
    tally: cert.tally,
    conditions: cert.conditions,
    outcome: cert.outcome,
    level: cert.level,
  };
  const times = [
    [t("facts.opened"), cert.times.opened_at],
    ...cert.times.extensions.map((e) => [t("facts.extended"), e.at, e.reason]),
    [t("facts.closed"), cert.times.closed_at],
    [t("result.published"), cert.times.published_at],
  ];
  const summary = cert.summary ? cert.summary[lang()] || cert.summary.en : null;
  replace(
    ctx.main,
    h("article", { class: "result" },
      h("p", { class: "eyebrow" }, user(cert.community.name)),
      pageTitle(user(cert.proposal.title)),
      h("p", { class: "subtitle" }, t("result.certified")),
      h("section", { "aria-labelledby": "res-tally" }, h("h2", { id: "res-tally", class: "visually-hidden" }, t("result.title")),
        cert.election ? rankingBlock(cert.election.result, { details: true }) : tallyBlock(view)),
      summary ? h("section", { "aria-labelledby": "res-summary" }, h("h2", { id: "res-summary" }, t("result.summary")), h("p", {}, summary)) : null,
      cert.outcome_statement
        ? h("section", { "aria-labelledby": "res-statement" }, h("h2", { id: "res-statement" }, t("result.statement")), user(cert.outcome_statement, "blockquote"))
        : null,
      h("section", { "aria-labelledby": "res-times" }, h("h2", { id: "res-times" }, t("result.times")),
        h("dl", { class: "facts" }, times.flatMap(([label, at, reason]) => [
          h("dt", {}, label),
          h("dd", {}, formatDateTime(at, zone), reason ? [" — ", user(reason, "q")] : null),
        ]))),
      h("section", { "aria-labelledby": "res-attest" }, h("h2", { id: "res-attest" }, t("attest.title")),
        cert.attestations.length
          ? h("ul", {}, cert.attestations.map((a) => h("li", {}, user(a.name), " (", user(a.role), "): ", user(a.statement, "q"), " — ", formatDateTime(a.at, zone))))
          : h("p", {}, t("result.no_attestations"))),
      h("section", { "aria-labelledby": "res-verify", class: "verify" }, h("h2", { id: "res-verify" }, t("result.verify")),
        h("p", {}, t("result.verify.text", { n: formatInt(cert.ledger.length) })),
        h("dl", { class: "facts hashes" },
          h("dt", {}, t("result.ledger_head")), h("dd", {}, verbatim(cert.ledger.head)),
          h("dt", {}, t("result.electorate_hash")), h("dd", {}, verbatim(cert.electorate.hash)),
          h("dt", {}, t("result.text_hash")), h("dd", {}, verbatim(cert.proposal.text_hash)),
          h("dt", {}, t("result.key")), h("dd", {}, verbatim(cert.key.fingerprint), " ", verbatim(cert.key.public_key))),
        h("ul", { class: "no-print links" },
          h("li", {}, h("a", { href: `/api/v1/proposals/${enc(cert.proposal.id)}/certificate`, download: "certificate.json" }, t("result.download_cert"))),
          h("li", {}, h("a", { href: `/api/v1/proposals/${enc(cert.proposal.id)}/ledger`, download: "ledger.jsonl" }, t("result.download_ledger"))),
          h("li", {}, h("a", { href: `/r/${enc(cert.proposal.id)}` }, t("links.official")))),
        verbatim(`yishi verify certificate.json ledger.jsonl --key ${cert.key.public_key}`, "pre")),
      h("p", { class: "no-print" }, h("button", { type: "button", class: "button primary", onclick: () => window.print() }, t("result.print")))),
  );
}
