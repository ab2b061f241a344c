// The data logic of zoom, compare and the snapshot panel: the zoomed range in the URL
// (?from=&to=), the points a `range` request asks for, a `range` ack turned into lines (with
// the rollups' min–max band and breaks for outages), compare data moved onto the shown
// window, and stepping through snapshots. Pure functions (no DOM, no Plotly), so Node can
// test them.

import { gapBefore } from "./buckets.js";

const FROM = "from";
const TO = "to";

function finite(value) {
  return typeof value === "number" && Number.isFinite(value);
}

/** The zoomed range a URL's query names ({start, end}, unix s), or null for the live window. */
export function readRange(search) {
  const params = new URLSearchParams(search);
  if (!params.has(FROM) || !params.has(TO)) return null;
  const start = Number(params.get(FROM));
  const end = Number(params.get(TO));
  if (!finite(start) || !finite(end) || start >= end || start <= 0) return null;
  return { start, end };
}

/** The address with `range` in from/to (null: none), the rest of the query kept; returned as
 * path + query + hash, for history.replaceState. */
export function rangeUrl(href, range) {
  const url = new URL(href);
  if (range) {
    // Milliseconds are the finest a chart shows; more digits only lengthen a shared link.
    url.searchParams.set(FROM, String(Math.round(range.start * 1000) / 1000));
    url.searchParams.set(TO, String(Math.round(range.end * 1000) / 1000));
  } else {
    url.searchParams.delete(FROM);
    url.searchParams.delete(TO);
  }
  return `${url.pathname}${url.search}${url.hash}`;
}

/** How many points to ask `range` for: one a pixel of the chart, within the server's bounds
 * ([low, high], its config's range_points). */
export function pointsFor(width, [low, high]) {
  const wanted = Math.round(finite(width) ? width : 0);
  return Math.min(high, Math.max(low, wanted));
}

const PLOTLY_DATE = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?)?$/;

/** A plotly date string's parts [year, month (0-11), day, hour, minute, second, ms], or null. */
function dateParts(value) {
  const parts = typeof value === "string" ? PLOTLY_DATE.exec(value.trim()) : null;
  if (!parts) return null;
  const numbers = parts.slice(1, 7).map((p) => Number(p || 0));
  numbers[1] -= 1;
  return [...numbers, Number(`0.${parts[7] || "0"}`) * 1000];
}

/**
 * Unix milliseconds of a time on a plotly date axis: plotly hands back ranges and hovered
 * points as "YYYY-MM-DD HH:MM:SS.ffff" in the page's local time (it draws Date objects in
 * local time); a number is taken as unix ms, a Date as itself. NaN for anything else.
 */
export function plotlyTime(value) {
  if (value instanceof Date) return value.getTime();
  if (finite(value)) return value;
  const parts = dateParts(value);
  if (!parts) return NaN;
  return new Date(...parts.slice(0, 6)).getTime() + parts[6];
}

/** The same time as plotly's own number for it on a date axis (what Plotly.Fx.hover takes
 * as xval): the wall-clock digits read as if they were UTC. NaN for anything else. */
export function axisValue(value) {
  const parts = dateParts(value);
  return parts ? Date.UTC(...parts.slice(0, 6)) + parts[6] : NaN;
}

/**
 * What a plotly_relayout event says of the time axis: {start, end} (unix s) for a drag,
 * "live" for an autorange (plotly's own double-click reset), null when it does not touch x.
 */
export function relayoutRange(event) {
  if (!event) return null;
  if (event["xaxis.autorange"] === true) return "live";
  const pair = Array.isArray(event["xaxis.range"]) ? event["xaxis.range"]
    : [event["xaxis.range[0]"], event["xaxis.range[1]"]];
  if (pair[0] === undefined || pair[1] === undefined) return null;
  // To the millisecond, as a Date holds it: the range set on the other charts comes back equal.
  const [a, b] = pair.map((v) => Math.round(plotlyTime(v)) / 1000);
  if (!finite(a) || !finite(b) || a === b) return null;
  return { start: Math.min(a, b), end: Math.max(a, b) };
}

/** The same range, to the millisecond (the URL's precision): a chart's echo of a range set
 * by the page is not a new zoom. */
export function sameRange(a, b) {
  if (!a || !b) return a === b;
  const ms = (t) => Math.round(t * 1000);
  return ms(a.start) === ms(b.start) && ms(a.end) === ms(b.end);
}

function column(table, name) {
  return table && Array.isArray(table[name]) ? table[name] : null;
}

function valueAt(list, i) {
  return list && finite(list[i]) ? list[i] : null;
}

/**
 * A `range` ack's history ({ts, values, tier, step, min?, max?}) as one line a series:
 * {tier, step, lines: Map(name -> {x: [unix ms], y, min, max})}; min and max are null
 * unless the tier is "rollup" and the ack has them. A stretch with no points (an outage:
 * gapBefore in buckets.js, spaced by `interval` or the step) breaks every line with a null.
 */
export function rangeLines(history, interval) {
  const ts = Array.isArray(history?.ts) ? history.ts : [];
  const step = finite(history?.step) ? history.step : 0;
  const rollup = history?.tier === "rollup";
  const sources = Object.entries(history?.values || {}).map(([name, values]) => {
    const low = rollup ? column(history.min, name) : null;
    const high = rollup ? column(history.max, name) : null;
    const band = Boolean(low && high);
    return { name, values, low, high,
      line: { x: [], y: [], min: band ? [] : null, max: band ? [] : null } };
  });
  const spacing = { lastTs: undefined, lastStep: step, interval };
  ts.forEach((t, i) => {
    const gap = gapBefore(spacing, t, step);
    spacing.lastTs = t;
    for (const { values, low, high, line } of sources) {
      if (gap !== null) pushPoint(line, gap * 1000, null, null, null);
      pushPoint(line, t * 1000, valueAt(values, i), valueAt(low, i), valueAt(high, i));
    }
  });
  return { tier: rollup ? "rollup" : "raw", step,
    lines: new Map(sources.map(({ name, line }) => [name, line])) };
}

function pushPoint(line, x, y, low, high) {
  line.x.push(x);
  line.y.push(y);
  if (line.min) {
    line.min.push(y === null ? null : low);
    line.max.push(y === null ? null : high);
  }
}

/** Lines moved later by `offset` seconds: data from a day earlier drawn on today's axis. */
export function shiftLines(lines, offset) {
  const moved = new Map();
  for (const [name, line] of lines) {
    moved.set(name, { ...line, x: line.x.map((x) => x + offset * 1000) });
  }
  return moved;
}

/**
 * The span (unix s) a compare fetch asks for, `offset` seconds earlier than what is shown:
 * the zoomed range as it is; for the live window (`live`), `lead` seconds more on the right,
 * so the window can move on for a while before the next fetch.
 */
export function compareSpan({ start, end }, offset, { live = false, lead = 0 } = {}) {
  return { start: start - offset, end: end - offset + (live ? lead : 0) };
}

/** Whether compare data fetched for `fetched` (the shifted span) still covers the window
 * shown now (`shown`, unshifted), `offset` seconds on. */
export function compareCovers(fetched, shown, offset) {
  if (!fetched) return false;
  return fetched.start <= shown.start - offset + 1e-6 && fetched.end >= shown.end - offset;
}

/** The snapshot's neighbour one step back (-1) or on (+1): its ts, or null at either end. */
export function neighbour(snapshot, direction) {
  const ts = direction < 0 ? snapshot?.prev : snapshot?.next;
  return finite(ts) ? ts : null;
}

/** How far a snapshot is from `asked`, named `what`: "at the click", "12 s after the click",
 * "2 min before the click". */
export function distanceText(snapshotTs, asked, what) {
  const delta = snapshotTs - asked;
  const size = Math.abs(delta);
  if (size < 0.5) return `at ${what}`;
  const s = Math.round(size);
  const amount = s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min`
    : `${Math.round(s / 3600)} h`;
  return `${amount} ${delta > 0 ? "after" : "before"} ${what}`;
}
