// The alerts' data for the page: glob matching (Python's fnmatchcase, as the server matches
// rules and silences), the alert list kept up to date from `alert` pushes, the badge's
// counts, the panel's groups, and each chart's overlay (threshold lines, firing bands,
// transition and restart marks) as plotly shapes. Pure (no DOM), so Node can test it.

import { translucent } from "./colors.js";

export const FIRING = new Set(["warning", "critical"]);
export const MAX_TRANSITIONS = 100; // what a subscribe sends; pushes keep the list at this
const MARKS_PER_CHART = 20; // the newest transitions marked on one chart's time axis
const RESTARTS_PER_CHART = 10; // the newest of the server's starts marked on one chart
const FOREVER_MS = Date.UTC(2100, 0, 1); // the right edge of a band still firing (clipped)
const SEVERITY = { critical: 3, warning: 2, pending: 1, ok: 0 };

/** One alert instance's identity: rule, host and series. */
export function alertKey(item) {
  return `${item.rule}\u0000${item.host}\u0000${item.series}`;
}

const compiled = new Map();

/** fnmatchcase's glob as a RegExp: `*` any run, `?` one character, `[a-z]`, `[!x]`. */
export function globToRegExp(glob) {
  let out = "";
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i];
    if (c === "*") out += "[\\s\\S]*";
    else if (c === "?") out += "[\\s\\S]";
    else if (c === "[") {
      let j = i + 1;
      if (glob[j] === "!") j += 1;
      if (glob[j] === "]") j += 1;
      while (j < glob.length && glob[j] !== "]") j += 1;
      if (j >= glob.length) {
        out += "\\["; // no closing bracket: a literal one, as fnmatch reads it
        continue;
      }
      let set = glob.slice(i + 1, j).replace(/[\\\]]/g, "\\$&");
      if (set.startsWith("!")) set = `^${set.slice(1)}`;
      else if (set.startsWith("^")) set = `\\${set}`;
      out += `[${set}]`;
      i = j;
    } else out += c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

export function globMatch(glob, text) {
  let re = compiled.get(glob);
  if (!re) {
    re = globToRegExp(glob);
    if (compiled.size > 500) compiled.clear();
    compiled.set(glob, re);
  }
  return re.test(text);
}

/** A glob that matches exactly `text` (its *, ? and [ made literal). */
export function escapeGlob(text) {
  return text.replace(/[*?[]/g, (c) => `[${c}]`);
}

/** Whether a silence's matchers (globs; a missing one matches all) cover an alert. */
export function silenceMatches(silence, alert) {
  return Object.entries(silence.matchers || {}).every(([label, glob]) =>
    globMatch(glob, String(alert[label] ?? "")));
}

/** Threshold rules (not stale or failing ones) whose series and host globs match. */
export function matchingRules(rules, host, series) {
  return (rules || []).filter((rule) => (rule.kind ?? "threshold") === "threshold"
    && (isNumber(rule.warn) || isNumber(rule.crit))
    && globMatch(rule.series || "*", series) && globMatch(rule.host || "*", host));
}

/**
 * The dashed lines for one chart's series: one per rule and level, crit before warn. A
 * `per_core` rule's thresholds are per CPU core: drawn times `cores` (the host's cpu.coreN
 * series), and not at all while the page does not know how many there are.
 */
export function thresholdLines(rules, host, seriesNames, cores = 0) {
  const lines = new Map();
  for (const series of seriesNames) {
    for (const rule of matchingRules(rules, host, series)) {
      if (rule.per_core && !(cores > 0)) continue;
      for (const level of ["crit", "warn"]) {
        const value = rule[level];
        const key = `${rule.name}|${level}`;
        if (isNumber(value) && !lines.has(key)) {
          const scaled = rule.per_core ? value * cores : value;
          lines.set(key, { rule: rule.name, level, value: scaled, below: Boolean(rule.below),
            label: rule.per_core ? `${level} ${value}×${cores}` : `${level} ${value}` });
        }
      }
    }
  }
  return [...lines.values()];
}

/** The alert list after a transition (`alert` push): the instance takes its new state. */
export function applyTransition(alerts, transition) {
  const key = alertKey(transition);
  let found = false;
  const next = alerts.map((alert) => {
    if (alertKey(alert) !== key) return alert;
    found = true;
    // A new state ends an ack (it stops repeats until the state changes).
    return { ...alert, state: transition.state, value: transition.value,
      threshold: transition.threshold, since: transition.since, acked: false,
      summary: transition.summary ?? alert.summary, unit: transition.unit ?? alert.unit,
      silenced: transition.silenced !== undefined ? transition.silenced : alert.silenced };
  });
  if (!found) {
    next.push({ rule: transition.rule, host: transition.host, series: transition.series,
      state: transition.state, value: transition.value, threshold: transition.threshold,
      since: transition.since, summary: transition.summary ?? "", unit: transition.unit ?? "",
      silenced: transition.silenced ?? null, acked: false });
  }
  return next;
}

/**
 * The alert list under a `silences` push (the active silences): an alert keeps its silence
 * while that one is active, else takes the first active one that matches it, else none (as
 * the server decides). Alerts that do not change stay the same objects.
 */
export function applySilences(alerts, silences) {
  const active = silences || [];
  const ids = new Set(active.map((s) => s.id));
  return alerts.map((alert) => {
    if (alert.silenced && ids.has(alert.silenced)) return alert;
    const silenced = active.find((s) => silenceMatches(s, alert))?.id ?? null;
    return silenced === (alert.silenced ?? null) ? alert : { ...alert, silenced };
  });
}

/** The alert list under an `acked` push ({rule, host, series, acked, by}); the same list
 * when it changes nothing. */
export function applyAck(alerts, news) {
  const key = alertKey(news);
  const acked = news.acked !== false;
  if (!alerts.some((a) => alertKey(a) === key && a.acked !== acked)) return alerts;
  return alerts.map((a) => (alertKey(a) === key ? { ...a, acked } : a));
}

/** The transitions with one more, oldest first, each once (a push may repeat the ack's). */
export function addTransition(transitions, transition, max = MAX_TRANSITIONS) {
  const id = transitionId(transition);
  if (transitions.some((t) => transitionId(t) === id)) return transitions;
  const next = [...transitions, transition].sort((a, b) => a.ts - b.ts);
  return next.length > max ? next.slice(next.length - max) : next;
}

function transitionId(t) {
  return `${alertKey(t)}\u0000${t.ts}\u0000${t.state}`;
}

/** What the header badge says: firing alerts not silenced, and its colour. */
export function badgeCounts(alerts) {
  const counts = { firing: 0, critical: 0, warning: 0, pending: 0, silenced: 0, level: null };
  for (const alert of alerts) {
    if (alert.silenced && alert.state !== "ok") counts.silenced += 1;
    else if (alert.state === "critical") counts.critical += 1;
    else if (alert.state === "warning") counts.warning += 1;
    else if (alert.state === "pending") counts.pending += 1;
  }
  counts.firing = counts.critical + counts.warning;
  if (counts.critical) counts.level = "critical";
  else if (counts.warning) counts.level = "warning";
  else if (counts.pending || counts.silenced) counts.level = "quiet";
  return counts;
}

/** The panel's lists: firing (worst and oldest first), pending, silenced, recent changes. */
export function panelGroups(alerts, transitions, recent = 25) {
  const bySeverity = (a, b) => SEVERITY[b.state] - SEVERITY[a.state] || a.since - b.since
    || alertKey(a).localeCompare(alertKey(b));
  const live = alerts.filter((a) => a.state !== "ok").sort(bySeverity);
  return {
    firing: live.filter((a) => FIRING.has(a.state) && !a.silenced),
    pending: live.filter((a) => a.state === "pending" && !a.silenced),
    silenced: live.filter((a) => a.silenced),
    recent: transitions.slice(-recent).reverse(),
  };
}

/**
 * Firing periods from the transitions (oldest first): a band from each move into warning
 * or critical to the next move (a rise to critical starts a new band), open-ended while it
 * still fires. An alert firing since before the oldest transition kept gets a band from
 * its `since`.
 */
export function firingBands(transitions, alerts = []) {
  const open = new Map();
  const bands = [];
  for (const t of [...transitions].sort((a, b) => a.ts - b.ts)) {
    const key = alertKey(t);
    const current = open.get(key);
    if (current && current.state === t.state) continue;
    if (current) {
      current.end = t.ts;
      open.delete(key);
    }
    if (FIRING.has(t.state)) {
      const band = { rule: t.rule, host: t.host, series: t.series, state: t.state,
        start: t.ts, end: null };
      bands.push(band);
      open.set(key, band);
    }
  }
  for (const alert of alerts) {
    const band = open.get(alertKey(alert));
    if (band && !FIRING.has(alert.state)) open.delete(alertKey(alert)); // resolved since
    else if (!band && FIRING.has(alert.state)) {
      bands.push({ rule: alert.rule, host: alert.host, series: alert.series,
        state: alert.state, start: alert.since, end: null });
    }
  }
  return bands;
}

/**
 * One chart's overlay: `shapes` (threshold lines, firing bands, transition and restart
 * marks) and a `key` that changes only when they do, so the chart is redrawn for alerts
 * only then. host: the chart's host; series: its series names; colors: {warn, crit, ok,
 * pending, restart}; cores: the host's CPU cores, for per-core thresholds; window: the
 * seconds the chart spans (marks closer than an eighth of it share one word: the newest);
 * restarts: the server's starts (unix s, oldest first); end: the chart's newest time (unix
 * s; null before its first point), so only the restarts inside its window are marked.
 */
export function chartOverlay({ host, series, rules, alerts, transitions, colors, cores = 0,
  window = 300, restarts = [], end = null }) {
  const names = new Set(series);
  const mine = (item) => item.host === host && names.has(item.series);
  const lines = thresholdLines(rules, host, series, cores);
  const bands = firingBands(transitions.filter(mine), alerts.filter(mine));
  const marks = transitions.filter(mine).slice(-MARKS_PER_CHART);
  const worded = wordedMarks(marks, window);
  const starts = restartMarks(restarts, window, end);
  const startWords = spacedWords(starts, window);
  const shapes = [
    ...bands.map((band) => bandShape(band, colors)),
    ...lines.map((line) => lineShape(line, colors)),
    ...marks.map((mark) => markShape(mark, colors, worded.has(mark))),
    ...starts.map((ts) => restartShape(ts, colors, startWords.has(ts))),
  ];
  return { shapes, key: JSON.stringify(shapes), lines, bands, marks, restarts: starts };
}

/**
 * The server's starts a chart marks: those inside its window (`end - window` on; every one
 * while `end` is unknown), the newest `RESTARTS_PER_CHART`, oldest first.
 */
export function restartMarks(restarts, window, end = null) {
  const from = isNumber(end) ? end - window : -Infinity;
  return (restarts || []).filter((ts) => isNumber(ts) && ts >= from)
    .sort((a, b) => a - b).slice(-RESTARTS_PER_CHART);
}

/** Of times (oldest first) those that get a word: the newest of any within window / 8. */
function spacedWords(times, window) {
  const worded = new Set();
  let next = Infinity;
  for (const ts of [...times].reverse()) {
    if (next - ts < window / 8) continue;
    worded.add(ts);
    next = ts;
  }
  return worded;
}

function levelColor(state, colors) {
  if (state === "critical" || state === "crit") return colors.crit;
  if (state === "warning" || state === "warn") return colors.warn;
  if (state === "pending") return colors.pending ?? colors.warn;
  return colors.ok;
}

function lineShape(line, colors) {
  const color = levelColor(line.level, colors);
  return { type: "line", name: `threshold ${line.rule} ${line.level}`, xref: "paper", x0: 0,
    x1: 1, yref: "y", y0: line.value, y1: line.value, layer: "above",
    line: { color, width: 1.2, dash: "dash" },
    label: { text: line.label, textposition: "start", yanchor: "bottom",
      font: { size: 10, color } } };
}

function bandShape(band, colors) {
  return { type: "rect", name: `firing ${band.rule} ${band.series}`, xref: "x", yref: "paper",
    x0: band.start * 1000, x1: band.end === null ? FOREVER_MS : band.end * 1000, y0: 0, y1: 1,
    layer: "below", line: { width: 0 },
    fillcolor: translucent(levelColor(band.state, colors), 0.14) };
}

/** The marks that get a word: fired or resolved (a pending one sits just before those), and
 * of several close together only the newest, so the words never overlap. */
export function wordedMarks(marks, window) {
  const worded = new Set();
  let next = Infinity;
  for (const mark of [...marks].reverse()) {
    if (mark.state === "pending" || next - mark.ts < window / 8) continue;
    worded.add(mark);
    next = mark.ts;
  }
  return worded;
}

function markShape(mark, colors, worded) {
  const color = levelColor(mark.state, colors);
  const shape = { type: "line", name: `transition ${mark.rule} ${mark.from}->${mark.state}`,
    xref: "x", yref: "paper", x0: mark.ts * 1000, x1: mark.ts * 1000, y0: 0, y1: 1,
    layer: "above", line: { color, width: 1, dash: "dot" } };
  if (worded) {
    shape.label = { text: mark.state === "ok" ? "resolved" : mark.state, textposition: "end",
      textangle: 0, xanchor: "right", font: { size: 9, color } };
  }
  return shape;
}

// A restart's word sits at the foot of its line, a transition's at the top: never on each
// other.
function restartShape(ts, colors, worded) {
  const color = colors.restart ?? colors.pending ?? colors.ok;
  const shape = { type: "line", name: "restart", xref: "x", yref: "paper", x0: ts * 1000,
    x1: ts * 1000, y0: 0, y1: 1, layer: "above", line: { color, width: 1, dash: "dot" } };
  if (worded) {
    shape.label = { text: "restart", textposition: "start", textangle: 0, xanchor: "right",
      yanchor: "bottom", font: { size: 9, color } };
  }
  return shape;
}

/** The matchers of a silence for an alert: just it, its rule on its host, or the rule. */
export function silenceMatchers(alert, scope = "alert") {
  const rule = escapeGlob(alert.rule);
  if (scope === "rule") return { rule };
  if (scope === "host") return { rule, host: escapeGlob(alert.host) };
  return { rule, host: escapeGlob(alert.host), series: escapeGlob(alert.series) };
}

/** The collector a series belongs to (its first dotted part: `filesystem.root.used`). */
export function collectorOf(series) {
  const dot = series.indexOf(".");
  return dot < 0 ? series : series.slice(0, dot);
}

function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}
