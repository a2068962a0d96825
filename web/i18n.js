// Languages: Simplified Chinese and English, every string in both (the browser tests check that
// the two tables have the same keys), chosen from the browser and switchable; numbers, money and
// dates formatted for the language and in the community's time zone. Amounts arrive as exact
// decimal strings and are formatted without ever becoming floating-point numbers.

import { STRINGS } from "./strings.js";

export const LANGUAGES = ["zh", "en"];
const STORAGE_KEY = "yishi.lang";

function detect() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGUAGES.includes(saved)) return saved;
  } catch {
    // storage may be unavailable; fall through
  }
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith("zh")) return "zh";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

let current = detect();
const listeners = new Set();

export function lang() {
  return current;
}

/** The BCP 47 tag for Intl and for `<html lang>`. */
export function locale() {
  return current === "zh" ? "zh-CN" : "en-GB";
}

export function htmlLang() {
  return current === "zh" ? "zh-Hans" : "en";
}

export function setLang(next) {
  if (!LANGUAGES.includes(next) || next === current) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // not remembered; still switched
  }
  for (const listener of listeners) listener(next);
}

export function onLangChange(listener) {
  listeners.add(listener);
}

const missing = new Set();
/** Keys asked for but absent (the browser tests read this). */
export function missingKeys() {
  return [...missing];
}

/** Whether `key` has a string (in every language: the tests check the tables match). */
export function hasKey(key) {
  return STRINGS.en[key] !== undefined;
}

/** The string for `key` with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  let text = STRINGS[current][key];
  if (text === undefined) {
    missing.add(`${current}:${key}`);
    text = STRINGS.en[key] ?? key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Capitalises the first letter in English (Chinese has no capitals). */
export function capitalise(text) {
  return current === "en" && text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

/** Plural-aware: uses `key.one` / `key.other` (Chinese has only `other`). */
export function tn(key, count, params = {}) {
  const rule = new Intl.PluralRules(locale()).select(Number(count));
  const specific = `${key}.${rule}`;
  const chosen = STRINGS[current][specific] !== undefined ? specific : `${key}.other`;
  return t(chosen, { count: formatInt(count), ...params });
}

/**
 * Like `t`, but placeholders may be nodes (e.g. a title in a `data-user` span): returns an
 * array of strings and nodes to append.
 */
export function tNodes(key, params = {}) {
  let text = STRINGS[current][key];
  if (text === undefined) {
    missing.add(`${current}:${key}`);
    text = STRINGS.en[key] ?? key;
  }
  const out = [];
  let last = 0;
  for (const m of text.matchAll(/\{(\w+)\}/g)) {
    out.push(text.slice(last, m.index));
    out.push(m[1] in params ? params[m[1]] : m[0]);
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out.filter((x) => x !== "");
}

// ------------------------------------------------------------------------------------------
// Numbers

/** An integer (number, BigInt or digit string) with grouping. */
export function formatInt(n) {
  try {
    return new Intl.NumberFormat(locale()).format(typeof n === "bigint" ? n : BigInt(String(n)));
  } catch {
    return String(n);
  }
}

/** An exact decimal string ("10830.55") with grouping, keeping every digit. */
export function formatDecimal(text) {
  const s = String(text ?? "");
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return s;
  const whole = new Intl.NumberFormat(locale()).format(BigInt(m[2]));
  const point = new Intl.NumberFormat(locale()).formatToParts(1.5).find((p) => p.type === "decimal");
  return m[1] + whole + (m[3] ? (point ? point.value : ".") + m[3] : "");
}

/** An amount of money, exact (the decimal string goes to Intl as a string). */
export function formatMoney(amount, currency) {
  try {
    return new Intl.NumberFormat(locale(), {
      style: "currency",
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    }).format(String(amount));
  } catch {
    return `${formatDecimal(amount)} ${currency}`;
  }
}

/** A share as a percentage for display only (bars and "(55.2%)"). */
export function percentText(part, whole) {
  if (!whole) return "";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(part / whole);
}

const CN_DIGITS = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/** "more than half", "at least two thirds", "超过二分之一", "不少于三分之二". */
export function fraction(comparison, frac) {
  const [p, q] = String(frac).split("/").map((x) => Number(x));
  const named = `frac.${comparison}.${p}/${q}`;
  if (hasKey(named)) return t(named);
  let words;
  if (current === "zh" && p <= 10 && q <= 10) {
    words = `${CN_DIGITS[q]}分之${CN_DIGITS[p]}`;
  } else {
    words = `${p}/${q}`;
  }
  return t(`frac.${comparison}`, { frac: words });
}

// ------------------------------------------------------------------------------------------
// Dates and times, in the community's time zone

function zoneOffsetMs(date, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(date);
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - (date.getTime() - date.getMilliseconds());
}

/** "12 Dec 2026, 18:26 China Standard Time" / "2026年12月12日 18:26 中国标准时间". */
export function formatDateTime(iso, timeZone) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const zone = timeZone || undefined;
  try {
    const main = new Intl.DateTimeFormat(locale(), {
      dateStyle: "medium",
      timeStyle: "short",
      timeZone: zone,
    }).format(date);
    const name = new Intl.DateTimeFormat(locale(), { timeZone: zone, timeZoneName: "long" })
      .formatToParts(date)
      .find((p) => p.type === "timeZoneName");
    return name ? `${main} ${name.value}` : main;
  } catch {
    return date.toISOString();
  }
}

/** "in 3 days", "2 hours ago", "3天后". */
export function formatRelative(iso, now = Date.now()) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const seconds = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const format = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  if (abs < 60) return format.format(seconds, "second");
  if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 86400 * 2) return format.format(Math.round(seconds / 3600), "hour");
  return format.format(Math.round(seconds / 86400), "day");
}

/** The value for `<input type="datetime-local">`: the instant as wall time in `timeZone`. */
export function toLocalInput(iso, timeZone) {
  const date = new Date(iso);
  const wall = new Date(date.getTime() + zoneOffsetMs(date, timeZone));
  return wall.toISOString().slice(0, 16);
}

/** The instant (RFC 3339, UTC) of a `datetime-local` value read as wall time in `timeZone`. */
export function fromLocalInput(value, timeZone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  const first = zoneOffsetMs(new Date(wall), timeZone);
  let instant = wall - first;
  const second = zoneOffsetMs(new Date(instant), timeZone);
  if (second !== first) instant = wall - second;
  return new Date(instant).toISOString();
}
