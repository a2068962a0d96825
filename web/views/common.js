// Pieces every screen uses: form fields with labels and hints, error messages in the reader's
// language, state badges, and the page heading that receives focus after navigation.

import { h, uid } from "../dom.js";
import { ApiError } from "../api.js";
import { t, hasKey } from "../i18n.js";

/** The page's `<h1>`, focusable so navigation can move focus (and screen readers) to it. */
export function pageTitle(text, ...extra) {
  return h("h1", { tabindex: "-1", class: "page-title" }, text, ...extra);
}

/** A labelled control with an optional hint, wired for screen readers. */
export function field(label, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  const parts = [h("label", { for: id }, label)];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId }, hint));
  }
  parts.push(control);
  return h("div", { class: "field" }, ...parts);
}

/** A group of radio buttons in a fieldset; returns {element, value()}. */
export function radios(legend, name, options, selected, hint) {
  const inputs = [];
  const items = options.map((o) => {
    const input = h("input", { type: "radio", name, value: o.value, checked: o.value === selected, disabled: o.disabled });
    inputs.push(input);
    const id = uid("r");
    input.id = id;
    const label = h("label", { for: id }, h("span", { class: "option-label" }, o.label), o.hint ? h("span", { class: "option-hint" }, o.hint) : null);
    return h("div", { class: "option" }, input, label);
  });
  const element = h(
    "fieldset",
    { class: "radios" },
    h("legend", {}, legend),
    hint ? h("p", { class: "hint" }, hint) : null,
    ...items,
  );
  return {
    element,
    inputs,
    value: () => (inputs.find((i) => i.checked) || {}).value,
  };
}

/** An error in the reader's language; the server's own words are added where they help. */
export function errorText(error) {
  if (error instanceof ApiError) {
    if (error.offline) return t("err.offline");
    const key = `err.${error.code}`;
    if (hasKey(key)) return t(key);
    return t("err.generic", { status: error.status });
  }
  return t("err.unexpected");
}

const DETAILED = new Set([
  "bad_roll", "bad_rule", "invalid_time", "invalid_field", "cannot_open", "wrong_state", "missing_field",
  "too_large", "bad_cost", "malformed_json", "bad_body", "unknown_login", "unknown_voter", "not_on_roll",
  "bad_scope", "bad_method", "http_400", "http_422", "not_revisable", "too_many_proposals", "forbidden",
]);

/** An alert box for an error. */
export function errorBox(error, lead) {
  const detail =
    error instanceof ApiError && DETAILED.has(error.code) && error.message
      ? h("p", { class: "detail" }, t("err.detail"), " ", h("span", { lang: "en", "data-user": "" }, error.message))
      : null;
  return h("div", { class: "error", role: "alert" }, lead ? h("p", { class: "lead" }, lead) : null, h("p", {}, errorText(error)), detail);
}

/** A small badge for a proposal's state. */
export function stateBadge(state) {
  return h("span", { class: `badge state-${state}` }, t(`state.${state}`));
}

/** A button that asks "are you sure?" in place before doing `action`. */
export function confirmButton({ action, label, question, confirmLabel, danger, onConfirm }) {
  const box = h("div", { class: "confirm-inline", "data-action": action });
  const start = h("button", { type: "button", class: danger ? "button danger" : "button" }, label);
  const show = () => {
    const yes = h("button", { type: "button", class: danger ? "button danger" : "button primary" }, confirmLabel);
    const no = h("button", { type: "button", class: "button secondary" }, t("common.cancel"));
    const q = h("p", { tabindex: "-1", class: "question" }, question);
    yes.addEventListener("click", () => onConfirm(box));
    no.addEventListener("click", () => {
      box.replaceChildren(start);
      start.focus();
    });
    box.replaceChildren(q, h("div", { class: "actions" }, yes, no));
    q.focus();
  };
  start.addEventListener("click", show);
  box.append(start);
  return box;
}

/** A "busy" state for a form's submit button while a request runs. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
