// Building the page from elements and text nodes only: nothing here ever parses a string as
// HTML, so no text from the server or a user can become markup.

/**
 * h("button", {class: "big", onclick: f}, "Vote") — attributes starting with "on" become event
 * listeners; `true` sets a boolean attribute, `false`/null/undefined leaves it out. Children may
 * be nodes, strings, numbers, arrays or null.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (nodes, text, nested arrays; null is skipped). */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces all of `el`'s children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Text that came from people, not from the app: kept as written in every language. */
export function user(text, tag = "span", attrs = {}) {
  return h(tag, { ...attrs, "data-user": "" }, text);
}

/** Something to keep verbatim (codes, hashes, logins). */
export function verbatim(text, tag = "code", attrs = {}) {
  return h(tag, { ...attrs, translate: "no", "data-user": "" }, text);
}

let idCounter = 0;
/** A fresh id for label/aria wiring. */
export function uid(prefix = "f") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Says `message` to screen readers through the page's polite live region. */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  // A fresh text node after a tick makes screen readers read repeated messages too.
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}
