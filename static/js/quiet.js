// Quiet charts: a chart whose every series held zero over everything it shows (network
// errors, most of the time) folds into one line of text ("eth0, ifb0: no errors in 5 min")
// and unfolds when a value appears. A folded chart is not redrawn at all. Pure functions (no
// DOM, no Plotly), so Node can test them.

import { formatDuration } from "./format.js";

// A chart folds only once it holds this many readings per series: a page that just opened
// on a new server has not seen enough to call a chart quiet.
export const QUIET_MIN_POINTS = 30;

/**
 * Whether traces ({y: [...]}) are quiet: every number in them is zero, and at least one
 * trace has QUIET_MIN_POINTS numbers (missing values, an outage's gaps, do not count).
 */
export function isQuiet(traces, minPoints = QUIET_MIN_POINTS) {
  let most = 0;
  for (const trace of traces) {
    let count = 0;
    for (const y of trace.y) {
      if (typeof y !== "number" || !Number.isFinite(y)) continue;
      if (y !== 0) return false;
      count += 1;
    }
    most = Math.max(most, count);
  }
  return most >= minPoints;
}

/** Whether a reading would unfold a quiet chart: any finite number but zero. */
export function breaksQuiet(value) {
  return typeof value === "number" && Number.isFinite(value) && value !== 0;
}

/** "errors" from "errors/s", "ops" from "ops/s"; a unit that is not a count: null. */
export function quietNoun(unit) {
  const noun = String(unit || "").replace(/\s*(\/\s*s|per\s+s(econd)?)$/i, "").trim();
  if (!noun || /^(%|bytes|°C|°F|s|ms)$/i.test(noun)) return null;
  return noun;
}

/**
 * What a folded chart names: the devices its series are of (`network.eth0.rx_errors_per_s`
 * -> "eth0", once each), or, for series of no device, their labels.
 */
export function quietNames(names, labels) {
  const devices = names.map((name) => name.split(".").slice(1, -1).join("."));
  if (devices.every(Boolean)) return [...new Set(devices)];
  return labels;
}

/**
 * The folded chart's line: the series' labels (the first `max`, then "+n more"), then what
 * was absent and for how long, e.g. "eth0, ifb0: no errors in 5 min". `span` is the seconds
 * the chart's zeros cover (the window, or less on a server that started since).
 */
export function quietText(labels, unit, span, max = 6) {
  const names = labels.filter(Boolean);
  const shown = names.slice(0, max).join(", ");
  const more = names.length > max ? ` +${names.length - max} more` : "";
  const noun = quietNoun(unit);
  const what = noun ? `no ${noun}` : "all zero";
  return `${shown}${more}: ${what} in ${formatDuration(span)}`;
}
