// Discussion under a proposal or a petition — threaded comments rendered by the safe Markdown
// subset (text nodes only), replies, the council's answers marked, reporting and hiding with a
// reason — and a proposal's revisions with a readable diff. New comments arrive live.

import { h, replace, user, verbatim, announce, uid } from "../dom.js";
import { api } from "../api.js";
import { t, formatDateTime } from "../i18n.js";
import { markdown } from "../markdown.js";
import { watchCommunity } from "../feed.js";
import { PRESETS, presetSentence, requirement } from "../rules.js";
import { field, errorBox, busy } from "./common.js";

/**
 * The discussion section for `kind` ("proposals" or "petitions") and `id`. `community` is for
 * the live feed and the time zone (`timezone`).
 */
export function discussion(ctx, { kind, id, community, timezone }) {
  const subject = `${kind === "proposals" ? "proposal" : "petition"}:${id}`;
  const path = `/${kind}/${encodeURIComponent(id)}/comments`;
  const list = h("div", { class: "comments", "aria-live": "polite" });
  const formBox = h("div", {});
  const section = h("section", { class: "discussion", id: "discussion", "aria-labelledby": "discussion-title" },
    h("h2", { id: "discussion-title" }, t("discussion.title")), list, formBox);
  let thread = null;

  const load = async () => {
    try {
      thread = await api("GET", path);
    } catch (e) {
      replace(list, errorBox(e));
      return;
    }
    if (!ctx.current()) return;
    draw();
  };

  const commentForm = (parent, onDone) => {
    const text = h("textarea", { name: "comment", maxlength: String(thread.limits.max_chars), rows: "4", required: true });
    const message = h("div", { class: "form-message" });
    const submit = h("button", { type: "submit", class: "button primary" }, parent ? t("discussion.reply.send") : t("discussion.send"));
    const form = h("form", { class: parent ? "reply-form" : "comment-form", novalidate: true },
      field(parent ? t("discussion.reply.label") : t("discussion.label"), text, t("discussion.hint", { max: thread.limits.max_chars })),
      message, h("div", { class: "actions" }, submit,
        onDone ? h("button", { type: "button", class: "button secondary", onclick: () => onDone(false) }, t("common.cancel")) : null));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(message);
      if (!text.value.trim()) {
        replace(message, h("p", { class: "error", role: "alert" }, t("discussion.empty")));
        text.focus();
        return;
      }
      await busy(submit, async () => {
        try {
          await api("POST", path, parent ? { body: text.value, parent } : { body: text.value });
          text.value = "";
          announce(t("discussion.sent"));
          if (onDone) onDone(true);
          await load();
        } catch (e) {
          replace(message, errorBox(e));
        }
      });
    });
    return form;
  };

  const moderation = (c) => {
    const box = h("div", { class: "comment-actions" });
    const officer = thread.may_moderate;
    const buttons = [];
    if (thread.may_comment && c.depth < thread.limits.max_depth && !c.hidden) {
      buttons.push(h("button", { type: "button", class: "button small secondary", "data-reply": c.id, onclick: () => {
        replace(box, commentForm(c.id, (sent) => { if (!sent) replace(box, ...buttons); }));
        box.querySelector("textarea").focus();
      } }, t("discussion.reply")));
    }
    if (thread.may_comment && !c.mine && !c.hidden) {
      buttons.push(c.reported_by_me
        ? h("span", { class: "hint" }, t("discussion.reported"))
        : h("button", { type: "button", class: "button small secondary", "data-report": c.id, onclick: async (event) => {
          await busy(event.currentTarget, async () => {
            try {
              await api("POST", `/comments/${encodeURIComponent(c.id)}/report`, {});
              announce(t("discussion.reported"));
              await load();
            } catch (e) {
              box.append(errorBox(e));
            }
          });
        } }, t("discussion.report")));
    }
    if (officer && !c.hidden) {
      buttons.push(h("button", { type: "button", class: "button small danger", "data-hide": c.id, onclick: () => {
        const reason = h("input", { type: "text", name: "reason", maxlength: "500", required: true });
        const message = h("div", { class: "form-message" });
        const confirm = h("button", { type: "submit", class: "button danger" }, t("discussion.hide.confirm"));
        const form = h("form", { class: "hide-form", novalidate: true }, field(t("discussion.hide.reason"), reason, t("discussion.hide.hint")), message,
          h("div", { class: "actions" }, confirm, h("button", { type: "button", class: "button secondary", onclick: () => replace(box, ...buttons) }, t("common.cancel"))));
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          if (!reason.value.trim()) {
            replace(message, h("p", { class: "error", role: "alert" }, t("discussion.hide.empty")));
            reason.focus();
            return;
          }
          await busy(confirm, async () => {
            try {
              await api("POST", `/comments/${encodeURIComponent(c.id)}/hide`, { reason: reason.value });
              announce(t("discussion.hidden.done"));
              await load();
            } catch (e) {
              replace(message, errorBox(e));
            }
          });
        });
        replace(box, form);
        reason.focus();
      } }, t("discussion.hide")));
    }
    return replace(box, ...buttons);
  };

  const commentItem = (c, children) => {
    const head = h("p", { class: "comment-head" },
      verbatim(c.author, "strong"),
      c.official ? h("span", { class: "badge official" }, t("discussion.official")) : null,
      " ", h("time", { datetime: c.created_at }, formatDateTime(c.created_at, timezone)));
    let body;
    if (c.hidden) {
      body = h("p", { class: "comment-hidden" }, t("discussion.hidden"), " ", user(c.hidden.reason));
    } else {
      body = h("div", { class: "markdown comment-body", "data-user": "" }, markdown(c.body, 3));
    }
    const extra = [];
    if (c.reports && c.reports.length && !c.hidden) {
      extra.push(h("p", { class: "hint reports" }, t("discussion.reports", { n: c.reports.length })));
    }
    if (c.hidden_body) {
      extra.push(h("details", { class: "hidden-original" }, h("summary", {}, t("discussion.hidden.original")), h("div", { "data-user": "" }, c.hidden_body)));
    }
    return h("li", { class: c.official ? "comment official" : "comment", id: `comment-${c.id}`, "data-comment": c.id },
      head, body, ...extra, moderation(c),
      children.length ? h("ul", { class: "replies" }, children) : null);
  };

  const draw = () => {
    const byParent = new Map();
    for (const c of thread.comments) {
      const key = c.parent || "";
      if (!byParent.has(key)) byParent.set(key, []);
      byParent.get(key).push(c);
    }
    const tree = (parent) => (byParent.get(parent) || []).map((c) => commentItem(c, tree(c.id)));
    const roots = tree("");
    replace(list, roots.length ? h("ul", { class: "thread" }, roots) : h("p", { class: "notice" }, t("discussion.none")));
    if (thread.may_comment) {
      replace(formBox, commentForm(null, null));
    } else {
      replace(formBox, h("p", { class: "hint" }, thread.open ? t("discussion.read_only") : t("discussion.closed")));
    }
  };

  section.start = async () => {
    await load();
    const stop = watchCommunity(community, (event) => {
      if (!ctx.current()) return;
      const active = document.activeElement;
      const typing = section.contains(active) && active.tagName === "TEXTAREA" && active.value;
      if ((event.type === "comment" || event.type === "comment_hidden") && event.subject === subject && !typing) load();
    });
    ctx.onCleanup(stop);
  };
  return section;
}

/**
 * A proposal's revisions: who changed what and when, and the diff to the one before. Officers
 * revise the title, text, cost and rule here while the proposal is a draft or under discussion.
 */
export function revisions(ctx, p, timezone, canRevise) {
  const body = h("div", {});
  const box = h("details", { class: "panel revisions", id: "revisions", open: canRevise }, h("summary", {}, t("revisions.title")), body);
  let loaded = false;
  const show = async () => {
    if (!box.open || loaded) return;
    loaded = true;
    let list;
    try {
      list = await api("GET", `/proposals/${encodeURIComponent(p.id)}/revisions`);
    } catch (e) {
      replace(body, errorBox(e));
      return;
    }
    const diffBox = h("div", { class: "diff-box", "aria-live": "polite" });
    const showDiff = async (number) => {
      try {
        const d = await api("GET", `/proposals/${encodeURIComponent(p.id)}/revisions/${number}/diff`);
        replace(diffBox, diffView(d));
      } catch (e) {
        replace(diffBox, errorBox(e));
      }
    };
    const items = list.revisions.map((r) => h("li", { class: "revision", "data-revision": String(r.number) },
      h("strong", {}, t("revisions.number", { n: r.number })), " · ",
      r.author ? verbatim(r.author, "span") : null, r.author ? " · " : null,
      h("time", { datetime: r.at }, formatDateTime(r.at, timezone)),
      r.frozen ? h("span", { class: "badge frozen" }, t("revisions.frozen")) : null,
      r.number > 1 ? h("button", { type: "button", class: "button small secondary", onclick: () => showDiff(r.number) }, t("revisions.show_diff")) : null));
    replace(body,
      h("p", { class: "hint" }, list.frozen ? t("revisions.frozen_text", { n: list.frozen }) : t("revisions.lede")),
      list.frozen ? h("p", { class: "hint" }, t("revisions.hash"), " ", verbatim(list.text_hash)) : null,
      h("ol", { class: "revision-list" }, items), diffBox,
      canRevise ? reviseForm(ctx, p) : null);
    if (list.revisions.length > 1) showDiff(list.revisions[list.revisions.length - 1].number);
  };
  box.addEventListener("toggle", show);
  if (canRevise) queueMicrotask(show);
  return box;
}

function reviseForm(ctx, p) {
  const title = h("input", { type: "text", name: "revise-title", value: p.title, maxlength: "200", required: true });
  const text = h("textarea", { name: "revise-body", rows: "8" });
  text.value = p.body;
  const amount = p.cost ? h("input", { type: "text", name: "revise-amount", value: p.cost.amount, inputmode: "decimal" }) : null;
  // The rule: kept as it is, or replaced by a preset (extra conditions go with the old rule).
  const rule = h("select", { name: "revise-rule" },
    h("option", { value: "" }, t("revisions.revise.rule_keep")),
    PRESETS.filter((x) => x.id !== "de-weg-25").map((x) => h("option", { value: x.id }, t(`preset.${x.id}.name`))));
  const rulePreview = h("ul", { class: "requirements", "aria-live": "polite" });
  rule.addEventListener("change", () => {
    const preset = PRESETS.find((x) => x.id === rule.value);
    replace(rulePreview, preset ? [h("li", {}, presetSentence(preset.id)), preset.levels[0].map((c) => h("li", {}, requirement(c)))] : null);
  });
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button primary" }, t("revisions.revise.submit"));
  const form = h("form", { class: "card", id: "revise", novalidate: true },
    h("h3", {}, t("revisions.revise.title")),
    field(t("revisions.changed.title"), title), field(t("revisions.changed.body"), text, t("revisions.revise.hint")),
    amount ? field(t("revisions.revise.amount", { currency: p.cost.currency }), amount) : null,
    field(t("revisions.revise.rule"), rule, t("revisions.revise.rule_hint")), rulePreview,
    message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const change = { title: title.value, body: text.value };
    if (amount) change.cost = { ...p.cost, amount: amount.value.trim() };
    if (rule.value) change.rule = { preset: rule.value };
    await busy(submit, async () => {
      try {
        await api("PATCH", `/proposals/${encodeURIComponent(p.id)}`, change);
        announce(t("revisions.revise.done"));
        ctx.navigate(`/p/${p.id}#revisions`, { replace: true });
      } catch (e) {
        replace(message, errorBox(e));
      }
    });
  });
  return form;
}

function diffView(d) {
  const parts = [h("h3", {}, t("revisions.diff_title", { from: d.from, to: d.to }))];
  const change = (label, value) => value
    ? h("div", { class: "field-change" }, h("p", { class: "summary" }, label),
      h("p", {}, h("del", { "data-user": "" }, JSON.stringify(value.old)), " → ", h("ins", { "data-user": "" }, JSON.stringify(value.new))))
    : null;
  if (d.title) parts.push(h("div", { class: "field-change" }, h("p", { class: "summary" }, t("revisions.changed.title")),
    h("p", {}, h("del", { "data-user": "" }, d.title.old), " → ", h("ins", { "data-user": "" }, d.title.new))));
  parts.push(change(t("revisions.changed.cost"), d.cost), change(t("revisions.changed.rule"), d.rule));
  const id = uid("diff");
  const lines = d.body.map((line) => {
    const tag = line.op === "insert" ? "ins" : line.op === "delete" ? "del" : "span";
    const mark = line.op === "insert" ? "+ " : line.op === "delete" ? "− " : "  ";
    return h(tag, { class: `diff-line diff-${line.op}`, "data-user": "" }, mark, line.text || " ");
  });
  parts.push(h("p", { class: "summary", id }, t("revisions.changed.body")),
    h("p", { class: "hint" }, t("revisions.legend")),
    h("pre", { class: "diff", "aria-labelledby": id }, lines));
  return parts;
}
