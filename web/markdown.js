// A small, safe Markdown subset for proposal texts: headings, paragraphs, bullet and numbered
// lists, quotes, bold, italic, code and http(s) links. It builds elements and text nodes
// directly — text is never parsed as HTML — and any other link (javascript:, data:, relative)
// stays plain text.

const CJK = /[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]/;

/** The URL if it is an absolute http(s) URL, else null. */
export function safeUrl(href) {
  try {
    const url = new URL(href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** Joins the lines of one paragraph; no space between Chinese characters. */
function joinLines(lines) {
  let out = "";
  for (const line of lines) {
    const text = line.trim();
    if (!out) {
      out = text;
    } else if (CJK.test(out.slice(-1)) && CJK.test(text.charAt(0))) {
      out += text;
    } else {
      out += " " + text;
    }
  }
  return out;
}

const INLINE = [
  { kind: "code", re: /`([^`\n]+)`/ },
  { kind: "link", re: /\[([^\]\n]+)\]\(([^)\s]+)\)/ },
  { kind: "strong", re: /\*\*(\S(?:.*?\S)?)\*\*|(?<![\p{L}\p{N}_])__(\S(?:.*?\S)?)__(?![\p{L}\p{N}_])/u },
  { kind: "em", re: /\*(\S(?:[^*]*?\S)?)\*|(?<![\p{L}\p{N}_])_(\S(?:[^_]*?\S)?)_(?![\p{L}\p{N}_])/u },
  { kind: "url", re: /https?:\/\/[^\s<>()\u3000-\u303f\uff00-\uffef]*[^\s<>().,;:!?'"\u3000-\u303f\uff00-\uffef]/ },
];

/** Inline Markdown to an array of nodes. */
export function inline(text, allowLinks = true) {
  const out = [];
  let rest = text;
  while (rest) {
    let best = null;
    for (const rule of INLINE) {
      if (!allowLinks && (rule.kind === "link" || rule.kind === "url")) continue;
      const m = rule.re.exec(rest);
      if (m && (!best || m.index < best.m.index)) best = { rule, m };
    }
    if (!best) {
      out.push(document.createTextNode(rest));
      break;
    }
    const { rule, m } = best;
    if (m.index > 0) out.push(document.createTextNode(rest.slice(0, m.index)));
    out.push(render(rule.kind, m, allowLinks));
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

function render(kind, m, allowLinks) {
  switch (kind) {
    case "code": {
      const el = document.createElement("code");
      el.textContent = m[1];
      return el;
    }
    case "strong":
    case "em": {
      const el = document.createElement(kind);
      el.append(...inline(m[1] ?? m[2], allowLinks));
      return el;
    }
    case "link": {
      const href = safeUrl(m[2]);
      if (!href) return document.createTextNode(m[0]);
      return link(href, inline(m[1], false));
    }
    case "url":
    default: {
      const href = safeUrl(m[0]);
      if (!href) return document.createTextNode(m[0]);
      return link(href, [document.createTextNode(m[0])]);
    }
  }
}

function link(href, children) {
  const a = document.createElement("a");
  a.href = href;
  a.rel = "noopener noreferrer nofollow";
  a.target = "_blank";
  a.append(...children);
  return a;
}

/** Markdown text to a DocumentFragment. `# ` headings start at `<h{top}>`. */
export function markdown(source, top = 2) {
  const fragment = document.createDocumentFragment();
  const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
  let paragraph = [];
  let list = null; // {el, ordered}
  let quote = [];

  const flushParagraph = () => {
    if (paragraph.length) {
      const p = document.createElement("p");
      p.append(...inline(joinLines(paragraph)));
      fragment.append(p);
      paragraph = [];
    }
  };
  const flushQuote = () => {
    if (quote.length) {
      const q = document.createElement("blockquote");
      const p = document.createElement("p");
      p.append(...inline(joinLines(quote)));
      q.append(p);
      fragment.append(q);
      quote = [];
    }
  };
  const flushList = () => {
    if (list) {
      fragment.append(list.el);
      list = null;
    }
  };
  const flushAll = () => {
    flushParagraph();
    flushQuote();
    flushList();
  };

  for (const line of lines) {
    if (!line.trim()) {
      flushAll();
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      flushAll();
      const level = Math.min(6, top + heading[1].length - 1);
      const el = document.createElement(`h${level}`);
      el.append(...inline(heading[2]));
      fragment.append(el);
      continue;
    }
    const bullet = /^\s{0,3}[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/.exec(line);
    if (bullet || numbered) {
      flushParagraph();
      flushQuote();
      const ordered = Boolean(numbered);
      if (!list || list.ordered !== ordered) {
        flushList();
        const el = document.createElement(ordered ? "ol" : "ul");
        if (ordered && numbered[1] !== "1") el.start = Number(numbered[1]);
        list = { el, ordered, lines: null };
      }
      const li = document.createElement("li");
      li.append(...inline(ordered ? numbered[2] : bullet[1]));
      list.el.append(li);
      continue;
    }
    if (list && /^\s{2,}\S/.test(line)) {
      // A continuation of the last list item.
      const li = list.el.lastElementChild;
      li.append(document.createTextNode(" "), ...inline(line.trim()));
      continue;
    }
    const quoted = /^\s{0,3}>\s?(.*)$/.exec(line);
    if (quoted) {
      flushParagraph();
      flushList();
      quote.push(quoted[1]);
      continue;
    }
    flushQuote();
    flushList();
    paragraph.push(line);
  }
  flushAll();
  return fragment;
}
