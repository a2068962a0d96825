// Rules as councils speak of them: the presets with one plain sentence each, conditions as
// objects, and the words for a condition's requirement ("more than half of all households
// must say yes"). The server decides; this only explains.

import { t, fraction, hasKey, capitalise } from "./i18n.js";

/** One condition: {kind, measure, of, comparison, fraction}. */
export function cond(kind, measure, of, comparison, frac) {
  return { kind, measure, of, comparison, fraction: frac };
}

/** Presets in the order the picker shows them, with the weights they need. */
export const PRESETS = [
  { id: "absolute-majority", needs: [], levels: [[cond("approval", "headcount", "roll", "more_than", "1/2")]] },
  { id: "simple-majority", needs: [], levels: [[cond("approval", "headcount", "cast", "more_than", "1/2")]] },
  { id: "two-thirds", needs: [], levels: [[cond("approval", "headcount", "cast", "at_least", "2/3")]] },
  { id: "three-quarters", needs: [], levels: [[cond("approval", "headcount", "cast", "at_least", "3/4")]] },
  { id: "unanimous", needs: [], levels: [[cond("approval", "headcount", "roll", "at_least", "1/1")]] },
  {
    id: "cn-278",
    needs: ["area"],
    levels: [[
      cond("quorum", "area", "roll", "at_least", "2/3"),
      cond("quorum", "headcount", "roll", "at_least", "2/3"),
      cond("approval", "area", "participants", "more_than", "1/2"),
      cond("approval", "headcount", "participants", "more_than", "1/2"),
    ]],
  },
  {
    id: "cn-278-major",
    needs: ["area"],
    levels: [[
      cond("quorum", "area", "roll", "at_least", "2/3"),
      cond("quorum", "headcount", "roll", "at_least", "2/3"),
      cond("approval", "area", "participants", "at_least", "3/4"),
      cond("approval", "headcount", "participants", "at_least", "3/4"),
    ]],
  },
  { id: "de-weg-25", needs: [], levels: [[cond("approval", "headcount", "cast", "more_than", "1/2")]] },
  {
    id: "de-weg-21",
    needs: ["share"],
    levels: [
      [cond("approval", "headcount", "cast", "more_than", "2/3"), cond("approval", "share", "roll", "more_than", "1/2")],
      [cond("approval", "headcount", "cast", "more_than", "1/2")],
    ],
  },
  {
    id: "us-quorum-majority",
    needs: ["share"],
    levels: [[cond("quorum", "share", "roll", "at_least", "1/5"), cond("approval", "share", "cast", "more_than", "1/2")]],
  },
];

/** The API's text form: "approval headcount of roll more_than 1/2". */
export function conditionText(c) {
  return `${c.kind} ${c.measure} of ${c.of} ${c.comparison} ${c.fraction}`;
}

/** A condition from the API's rule JSON (`at_least`/`more_than` keys) or a report. */
export function fromJson(c) {
  if (c.comparison) return cond(c.kind, c.measure, c.of, c.comparison, c.fraction);
  const comparison = c.at_least !== undefined ? "at_least" : "more_than";
  return cond(c.kind, c.measure, c.of, comparison, c.at_least ?? c.more_than);
}

/** The name of a measure in words: households, floor area, shares, or the column's own name. */
export function measureName(measure) {
  if (measure === "headcount") return t("measure.headcount");
  if (measure === "area") return t("measure.area");
  if (measure === "share") return t("measure.share");
  return measure;
}

/** What a condition requires, in one sentence, without numbers. */
export function requirement(c) {
  const frac = fraction(c.comparison, c.fraction);
  const base = t(`req.base.${c.of}`);
  if (c.measure === "headcount") {
    return capitalise(t(`req.${c.kind}.headcount`, { frac, base }));
  }
  return capitalise(t(`req.${c.kind}.weight`, { frac, base, measure: measureName(c.measure) }));
}

/** The plain sentence for a preset. */
export function presetSentence(id) {
  return t(`preset.${id}`);
}

/** A level label ("passed", "all-owners-pay") in words. */
export function levelName(label) {
  const key = `level.${label}`;
  return hasKey(key) ? t(key) : label;
}
