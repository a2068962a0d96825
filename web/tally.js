// The tally in plain words: yes / no / abstain, turnout, and for each condition of the rule a
// bar and a sentence that names its base ("58 of 105 households said yes — more than half of
// all households needed: 53 ✓"), plus whether the outcome is already certain. Amounts are exact
// decimal strings; thresholds are computed with BigInt, never floating point.

import { h } from "./dom.js";
import { t, tn, formatInt, formatDecimal, percentText, fraction, capitalise } from "./i18n.js";
import { measureName, levelName, fromJson } from "./rules.js";

const CHOICES = ["yes", "no", "abstain"];

/** A count as the API sends it: an integer for headcount, a decimal string for a weight. */
function scaleOf(...values) {
  let scale = 0;
  for (const v of values) {
    const m = /\.(\d+)$/.exec(String(v ?? ""));
    if (m) scale = Math.max(scale, m[1].length);
  }
  return scale;
}

function toUnits(value, scale) {
  const [whole, frac = ""] = String(value ?? "0").split(".");
  return BigInt(whole || "0") * 10n ** BigInt(scale) + BigInt((frac + "0".repeat(scale)).slice(0, scale) || "0");
}

function fromUnits(units, scale) {
  if (scale === 0) return units.toString();
  const s = units.toString().padStart(scale + 1, "0");
  return `${s.slice(0, -scale)}.${s.slice(-scale)}`;
}

/** The smallest amount that satisfies `comparison fraction` of `base` (same scale). */
export function threshold(comparison, frac, base, scale) {
  const [p, q] = String(frac).split("/").map((x) => BigInt(x));
  const b = toUnits(base, scale);
  const units = comparison === "at_least" ? (b * p + q - 1n) / q : (b * p) / q + 1n;
  return fromUnits(units, scale);
}

/** An amount with its unit: "53 households" is said by the sentence; weights carry m² etc. */
export function amount(measure, value) {
  if (measure === "headcount") return t("unit.households", { n: formatInt(value) });
  if (measure === "area") return t("unit.area", { n: formatDecimal(value) });
  if (measure === "share") return t("unit.share", { n: formatDecimal(value) });
  return `${formatDecimal(value)} ${measure}`;
}

function number(measure, value) {
  return measure === "headcount" ? formatInt(value) : formatDecimal(value);
}

function ratio(part, whole) {
  const p = Number(part);
  const w = Number(whole);
  return w > 0 ? Math.max(0, Math.min(1, p / w)) : 0;
}

/** One condition in words: the sentence with its base and requirement, and (when it does not
 *  hold yet) what is still missing. */
export function conditionSentence(report) {
  const c = fromJson(report);
  const weight = c.measure !== "headcount";
  const subject = t(`cond.${c.kind}.${weight ? "weight" : "headcount"}.${c.of}`, {
    n: number(c.measure, report.numerator),
    base: weight ? amount(c.measure, report.base) : formatInt(report.base),
    measure: measureName(c.measure),
    Measure: capitalise(measureName(c.measure)),
  });
  const frac = fraction(c.comparison, c.fraction);
  const scale = scaleOf(report.numerator, report.base);
  const baseIsZero = toUnits(report.base, scale) === 0n;
  const thr = baseIsZero ? null : threshold(c.comparison, c.fraction, report.base, scale);
  const thrText = thr === null ? "" : c.measure === "headcount" ? formatInt(thr) : amount(c.measure, thr);
  let need;
  if (c.of === "roll") {
    need = t(weight ? "need.roll.weight" : "need.roll.headcount", { frac, thr: thrText, measure: measureName(c.measure) });
  } else if (report.holds && thr !== null) {
    need = t("need.rel.now", { frac, thr: thrText });
  } else {
    need = t("need.rel", { frac });
  }
  const main = t("cond.sentence", { subject, need }) + (report.holds ? ` ${t("cond.holds")}` : "");
  let missing = null;
  if (report.holds) {
    missing = null;
  } else if (report.needed === null || report.needed === undefined) {
    missing = t("cond.cannot");
  } else if (report.reachable === false) {
    missing = t("cond.unreachable", { more: amount(c.measure, report.needed) });
  } else if (/^0(\.0+)?$/.test(String(report.needed))) {
    missing = t("cond.one_more");
  } else if (weight) {
    missing = t(`cond.more.${c.kind}.weight`, { more: amount(c.measure, report.needed) });
  } else {
    missing = tn(`cond.more.${c.kind}.headcount`, report.needed);
  }
  return { main, missing };
}

/** A condition as a bar with a threshold mark and its sentence. */
export function conditionRow(report) {
  const c = fromJson(report);
  const words = conditionSentence(report);
  const fill = ratio(report.numerator, report.base);
  const [p, q] = String(c.fraction).split("/").map(Number);
  const bar = h("div", { class: "bar", "aria-hidden": "true" });
  const filled = h("div", { class: "fill" });
  filled.style.width = `${(fill * 100).toFixed(2)}%`;
  const mark = h("div", { class: "mark" });
  mark.style.left = `${Math.min(100, (p / q) * 100).toFixed(2)}%`;
  bar.append(filled, mark);
  return h(
    "li",
    { class: `condition ${report.holds ? "holds" : "open"}` },
    h("p", { class: "sentence" }, words.main),
    words.missing ? h("p", { class: "missing" }, words.missing) : null,
    bar,
  );
}

/** The parts of a tally view (API tally, live message or certificate), in one shape. */
export function normalize(view) {
  const tally = view.tally || null;
  return {
    visible: view.results_visible !== false,
    final: Boolean(view.final) || ["closed", "certified"].includes(view.state),
    state: view.state,
    electorate: view.electorate || { headcount: 0, weights: {} },
    participants: (tally && tally.participants) || view.turnout || view.participants || { headcount: 0, weights: {} },
    tally,
    conditions: Array.isArray(view.conditions) ? view.conditions : [],
    outcome: view.outcome,
    level: view.level,
    certainty: view.certainty,
  };
}

/** The outcome line: certain or not, and what it would be now / what it is. */
export function outcomeBox(n) {
  if (!n.visible) return null;
  if (n.final) {
    const level = n.outcome === "passed" && n.level && n.level !== "passed" ? ` — ${levelName(n.level)}` : "";
    return h(
      "div",
      { class: `outcome final ${n.outcome}`, "data-outcome": n.outcome },
      h("p", { class: "verdict" }, t(`outcome.${n.outcome}`) + level),
    );
  }
  const children = [];
  if (n.certainty === "passed_already") {
    children.push(h("p", { class: "verdict" }, t("certainty.passed_already")));
  } else if (n.certainty === "cannot_pass") {
    children.push(h("p", { class: "verdict" }, t("certainty.cannot_pass")));
  } else {
    children.push(h("p", { class: "verdict" }, t("certainty.open")));
    if (n.outcome) children.push(h("p", {}, t(`now.${n.outcome}`)));
  }
  return h("div", { class: `outcome ${n.certainty || "open"}`, "data-certainty": n.certainty || "open" }, ...children);
}

/** Yes / no / abstain tiles and turnout. */
function counts(n) {
  const weights = Object.keys(n.electorate.weights || {});
  const tiles = n.visible && n.tally
    ? h(
        "dl",
        { class: "counts" },
        CHOICES.map((choice) =>
          h(
            "div",
            { class: `count ${choice}`, "data-choice": choice },
            h("dt", {}, t(`choice.${choice}.short`)),
            h("dd", {}, h("span", { class: "num" }, formatInt(n.tally[choice].headcount)),
              weights.map((w) => h("span", { class: "weight" }, amount(w, n.tally[choice].weights[w])))),
          ),
        ),
      )
    : null;
  const took = n.participants.headcount;
  const all = n.electorate.headcount;
  const turnout = h(
    "p",
    { class: "turnout" },
    t("turnout.line", { n: formatInt(took), all: formatInt(all), pct: percentText(took, all) }),
  );
  return [tiles, turnout];
}

/** The whole tally block. `options.hiddenReason` explains hidden results. */
export function tallyBlock(view, options = {}) {
  const n = normalize(view);
  const summary = [...counts(n)];
  if (!n.visible) {
    summary.push(h("p", { class: "notice" }, options.hiddenReason || t("tally.hidden")));
  }
  const levels = [...new Set(n.conditions.map((c) => c.level))];
  const conditions = [];
  if (n.conditions.length) {
    conditions.push(h("h3", { class: "conditions-title" }, n.visible ? t("tally.conditions") : t("tally.quorum_only")));
    for (const level of levels) {
      if (levels.length > 1) conditions.push(h("h4", {}, t("tally.level", { level: levelName(level) })));
      conditions.push(h("ul", { class: "conditions" }, n.conditions.filter((c) => c.level === level).map(conditionRow)));
    }
  }
  return h(
    "div",
    { class: `tally${options.big ? " big" : ""}` },
    outcomeBox(n),
    h("div", { class: "tally-summary" }, ...summary),
    conditions.length ? h("div", { class: "tally-conditions" }, ...conditions) : null,
  );
}
