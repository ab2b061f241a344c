// The fleet overview's data: a bounded ring of points per host built from the /fleet pushes,
// the metrics a row shows, sparkline geometry, and the wording for a host that went quiet.
// Pure (no DOM), so Node can test it.

import { compact, formatBytes, formatClock, formatValue } from "./format.js";

// Points kept per host: five minutes of the server's one-second pushes.
export const RING_POINTS = 300;

/** A fixed-size buffer: pushing past `capacity` drops the oldest item. */
export class Ring {
  constructor(capacity) {
    if (!(capacity >= 1)) throw new RangeError(`ring capacity ${capacity}: expected at least 1`);
    this.capacity = Math.floor(capacity);
    this.items = new Array(this.capacity);
    this.start = 0;
    this.length = 0;
  }

  push(item) {
    const end = (this.start + this.length) % this.capacity;
    this.items[end] = item;
    if (this.length < this.capacity) this.length += 1;
    else this.start = (this.start + 1) % this.capacity;
  }

  /** The i-th item, oldest first (negative: from the newest); undefined out of range. */
  at(i) {
    const index = i < 0 ? this.length + i : i;
    if (index < 0 || index >= this.length) return undefined;
    return this.items[(this.start + index) % this.capacity];
  }

  last() {
    return this.at(-1);
  }

  *[Symbol.iterator]() {
    for (let i = 0; i < this.length; i += 1) yield this.items[(this.start + i) % this.capacity];
  }

  toArray() {
    return [...this];
  }
}

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

/**
 * What a fleet row shows, one column each: the summary's value, its unit, and how the
 * sparkline is scaled (`max`: a fixed top; `floor`: the least top of an automatic one).
 * `warn`/`bad`: the levels at which the value is coloured.
 */
export const FLEET_METRICS = [
  { key: "cpu", label: "CPU", unit: "%", max: 100, warn: 75, bad: 90, value: (s) => s.cpu },
  { key: "memory", label: "Memory", unit: "%", max: 100, warn: 80, bad: 92,
    value: (s) => s.memory },
  { key: "load", label: "Load / core", unit: "per core", floor: 1, warn: 1, bad: 2,
    value: (s) => s.load_per_core },
  { key: "filesystem", label: "Fullest filesystem", unit: "%", max: 100, warn: 80, bad: 90,
    value: (s) => s.filesystem?.used_percent },
  { key: "net_in", label: "Net in", unit: "bytes/s", floor: 1024, value: (s) => s.net_in },
  { key: "net_out", label: "Net out", unit: "bytes/s", floor: 1024, value: (s) => s.net_out },
];

/** A metric's value as a row shows it: "43.4 %", "0.18", "1.2 MiB/s"; "—" for none. */
export function metricText(metric, value) {
  if (!isNumber(value)) return "—";
  if (metric.unit === "bytes/s") return formatBytes(value, "/s");
  if (metric.unit === "%") return formatValue(value, "%");
  return compact(value);
}

/** "ok", "warn" or "bad" by the metric's levels ("none" without a value). */
export function metricLevel(metric, value) {
  if (!isNumber(value)) return "none";
  if (metric.bad !== undefined && value >= metric.bad) return "bad";
  if (metric.warn !== undefined && value >= metric.warn) return "warn";
  return "ok";
}

/** The filesystem collector's mount name as a path: "root" is "/", "_srv_data" "/srv/data". */
export function mountPath(mount) {
  if (typeof mount !== "string" || !mount) return "";
  if (mount === "root") return "/";
  return mount.startsWith("_") ? mount.replace(/_/g, "/") : mount;
}

/** Host names in the order rows show them: by name, numbers in names compared as numbers. */
export function sortHosts(names) {
  return [...names].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

/**
 * Every host's newest summary and a ring of its points ({ts, values: one per metric}). A
 * point is added only when the host's `last_seen` moves on, so a quiet host's line stops
 * where its data did.
 */
export class FleetHistory {
  constructor({ capacity = RING_POINTS, metrics = FLEET_METRICS } = {}) {
    this.capacity = capacity;
    this.metrics = metrics;
    this.hosts = new Map(); // name -> {summary, ring}
  }

  /**
   * Take one push (a list of summaries). Returns {changed, added, removed}: the hosts whose
   * row must be redrawn, and those that came or went (the push lists every host).
   */
  update(summaries) {
    const changed = new Set();
    const added = new Set();
    const listed = new Set();
    for (const summary of summaries || []) {
      if (typeof summary?.host !== "string" || listed.has(summary.host)) continue;
      listed.add(summary.host);
      let entry = this.hosts.get(summary.host);
      if (!entry) {
        entry = { summary, ring: new Ring(this.capacity) };
        this.hosts.set(summary.host, entry);
        added.add(summary.host);
        changed.add(summary.host);
      }
      if (entry.summary.stale !== summary.stale || entry.summary.last_seen !== summary.last_seen) {
        changed.add(summary.host);
      }
      entry.summary = summary;
      if (this.addPoint(entry.ring, summary)) changed.add(summary.host);
    }
    const removed = new Set([...this.hosts.keys()].filter((name) => !listed.has(name)));
    for (const name of removed) this.hosts.delete(name);
    return { changed, added, removed };
  }

  addPoint(ring, summary) {
    const ts = summary.last_seen;
    const last = ring.last();
    if (!isNumber(ts) || (last && ts <= last.ts)) return false;
    ring.push({ ts, values: this.metrics.map((m) => {
      const value = m.value(summary);
      return isNumber(value) ? value : null;
    }) });
    return true;
  }

  get(name) {
    return this.hosts.get(name);
  }

  names() {
    return sortHosts(this.hosts.keys());
  }
}

/** [bottom, top] of a sparkline: the metric's fixed top, else its highest point (at least
 * `floor`). */
export function sparkScale(metric, values) {
  if (metric.max !== undefined) return [0, metric.max];
  let high = metric.floor ?? 0;
  for (const v of values) if (isNumber(v) && v > high) high = v;
  return [0, high > 0 ? high * 1.1 : 1];
}

// A ring that has not filled yet (the page just opened) is drawn over at least this long.
const MIN_SPAN = 30;

/** The seconds a sparkline spans: what the ring holds, from half a minute up to `full`. */
export function sparkSpan(ring, full) {
  const first = ring.at(0);
  const last = ring.last();
  const held = first && last ? last.ts - first.ts : 0;
  return Math.min(full, Math.max(MIN_SPAN, held));
}

/**
 * SVG path data for one metric's sparkline in a `width` x `height` box: x spans the `span`
 * seconds up to `end`, y the metric's scale. A missing value, or a pause longer than `gap`
 * seconds, breaks the line (a point alone between breaks is drawn as a dot). Returns
 * {line, area} ("" when there is nothing to draw); `area` closes each stretch of line down
 * to the bottom edge, for a fill.
 */
export function sparkPath(points, index, metric, { width, height, span, end, gap, pad = 1.5 }) {
  const shown = [];
  for (const point of points) if (point.ts >= end - span && point.ts <= end) shown.push(point);
  const [bottom, top] = sparkScale(metric, shown.map((p) => p.values[index]));
  const usable = height - 2 * pad;
  const xOf = (ts) => round(width - ((end - ts) / span) * width);
  const yOf = (v) => round(height - pad - (Math.min(Math.max(v, bottom), top) - bottom)
    / (top - bottom) * usable);
  const stretches = [];
  let current = null;
  let previousTs = null;
  for (const point of shown) {
    const value = point.values[index];
    const paused = previousTs !== null && point.ts - previousTs > gap;
    previousTs = point.ts;
    if (!isNumber(value)) {
      current = null;
      continue;
    }
    if (!current || paused) {
      current = [];
      stretches.push(current);
    }
    current.push([xOf(point.ts), yOf(value)]);
  }
  // A lone point is a line to itself: with round caps it shows as a dot.
  const line = stretches.map((s) => (s.length === 1 ? `M${s[0][0]} ${s[0][1]}L${s[0][0]} ${s[0][1]}`
    : s.map(([x, y], i) => `${i ? "L" : "M"}${x} ${y}`).join(""))).join("");
  const base = round(height);
  const area = stretches.map((s) => `M${s[0][0]} ${base}`
    + s.map(([x, y]) => `L${x} ${y}`).join("") + `L${s.at(-1)[0]} ${base}Z`).join("");
  return { line, area };
}

function round(n) {
  return Math.round(n * 10) / 10;
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

function dayText(date) {
  return date.toLocaleDateString("en", { month: "short", day: "numeric" });
}

/**
 * When a quiet host last reported, for its row and its dashboard's header: "last seen 14 s
 * ago", "last seen 3 min ago" within the hour, "last seen 14:02:11" within the day, "last
 * seen Dec 1 14:02:11" before. `now` and `lastSeen` are unix seconds.
 */
export function staleText(lastSeen, now, { clock = formatClock, day = dayText } = {}) {
  if (!isNumber(lastSeen)) return "never seen";
  const age = Math.max(0, now - lastSeen);
  if (age < MINUTE) return `last seen ${Math.floor(age)} s ago`;
  if (age < HOUR) return `last seen ${Math.floor(age / MINUTE)} min ago`;
  const date = new Date(lastSeen * 1000);
  if (age < DAY) return `last seen ${clock(date)}`;
  return `last seen ${day(date)} ${clock(date)}`;
}
