// Charts: one plotly chart per (collector, unit) group, built from the collector list, so a
// plugin's namespace gets its charts with no front-end change. Plotly.newPlot once per chart;
// new points are appended to its traces and drawn with one Plotly.redraw per chart, every
// chart in one animation frame a second, and only where someone can see it: a hidden tab draws nothing (and
// catches up in one redraw per chart when shown), a chart scrolled out of view is drawn as
// it comes back in, and a quiet chart (all zero, quiet.js) is folded into one line of text
// and not drawn at all. Each chart shows the
// chosen time window: every sample up to 5 minutes; beyond, live samples are merged into
// buckets (the window's step, buckets.js) so a 7-day chart holds about as many points as a
// 5-minute one. Alerts draw on the charts of their series (alertsdata.js chartOverlay):
// thresholds as dashed lines, firing periods as bands, transitions and the server's restarts
// as marks on the time axis; a chart takes new shapes only when its own overlay changed, in
// the next redraw.

import { chartOverlay, collectorOf } from "./alertsdata.js";
import { collectorTitle, familyOf, highest } from "./families.js";
import { Bucket, bucketKey, bucketStep, gapBefore, isBucketed } from "./buckets.js";
import { translucent } from "./colors.js";
import { axisTicks, formatValue, splitValue } from "./format.js";
import { breaksQuiet, isQuiet, quietNames, quietText } from "./quiet.js";
import { resolveColor } from "./theme.js";
import { watchTouch } from "./touch.js";
import { axisValue, plotlyTime, rangeLines, relayoutRange, sameRange, shiftLines } from "./zoomdata.js";

const EMPTY_NOTES = {
  sensors: "No temperature sensors on this host.",
  cgroups: null, // its table says so
};
// Groups with more series than this get thin lines, no per-series legend, and the maximum
// as their headline (e.g. dozens of CPU cores).
const MANY = 8;
const LEGEND_CHIPS = 8;
// Points kept per trace: 5 minutes of samples drawn as they are (a collector with a short
// interval may send more). A bucketed window (1 h and longer) holds the ack's (at most
// 1,000) points, which leave on the left as live buckets (about 700 a window) come in on the
// right; the cap is only a backstop.
const MAX_RAW_POINTS = 4000;
const MAX_BUCKETED_POINTS = 1500;
const DAY = 86400;
// A line needs two points: a trace with fewer than this many (a long window over a new
// history file, say) also gets dots, so its one bucket is not invisible.
const SPARSE = 10;
// A chart this close below or above the viewport is drawn as if on screen, so it is
// complete when scrolled to.
const NEAR_VIEWPORT = "40px 0px";
// New samples are drawn once a second, every chart in the same frame: the server staggers
// its collectors over the second, and a frame of its own for each costs its paint and commit
// (measured: 12 % of the main thread with a frame per collector, 8 % with one a second).
// A sample waits at most this long (ms) to be drawn.
const DRAW_EVERY_MS = 1000;
// A chart drawing only its highest lines (families.js TOP_LINES) ranks them this often.
const RANK_EVERY_MS = 10000;
// The time axis zooms (a drag, then every chart of the host follows: zoom.js), with a
// crosshair the other charts' hover follows.
const ZOOMABLE = { fixedrange: false, showspikes: true, spikemode: "across", spikesnap: "cursor",
  spikethickness: 1 };
// Rollup bands and compare lines: faint, behind the lines they go with.
const BAND_ALPHA = 0.13;
const COMPARE_OPACITY = 0.55;

function slug(text) {
  return text.replace(/%/g, "pct").replace(/\//g, "-per-").replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/-+/g, "-").replace(/^-|-$/g, "") || "x";
}

/** The page's colours, resolved for the theme shown (plotly takes no CSS variables). */
function theme() {
  const palette = [];
  for (let i = 1; i <= 10; i += 1) palette.push(resolveColor(`--series-${i}`, "#7aa2f7"));
  const muted = resolveColor("--text-muted", "#93a0b4");
  return {
    text: muted,
    strong: resolveColor("--text", "#e6e9ef"),
    grid: resolveColor("--chart-grid", "rgba(255,255,255,0.08)"),
    axis: resolveColor("--chart-axis", "rgba(255,255,255,0.2)"),
    hoverBg: resolveColor("--surface-raised", "#1f2633"),
    font: getComputedStyle(document.documentElement).getPropertyValue("--font-ui").trim()
      || "system-ui, sans-serif",
    palette,
    alerts: { warn: resolveColor("--warn", "#e3b341"), crit: resolveColor("--bad", "#f85149"),
      ok: resolveColor("--ok", "#3fb950"), pending: muted, restart: muted },
  };
}

/** The time axis for a window: clock times up to a day, dates beyond; hover says the day too. */
function timeAxis(window) {
  return {
    hoverformat: window >= DAY ? "%b %d, %H:%M" : "%H:%M:%S",
    tickformatstops: [
      { dtickrange: [null, 59000], value: "%H:%M:%S" },
      { dtickrange: [59000, DAY * 1000 - 1], value: "%H:%M" },
      { dtickrange: [DAY * 1000 - 1, null], value: "%b %d" },
    ],
  };
}

function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

/** Labels without the words every label of the group shares ("CPU user, all cores" -> "user"). */
function shortLabels(collector, labels) {
  const words = labels.map((l) => l.split(" "));
  if (words.length < 2) return labels;
  const same = (a, b) => a.toLowerCase() === b.toLowerCase();
  const first = words[0];
  let head = 0;
  // Leading words go only when they name the collector: "CPU core 0" keeps "core 0", and
  // a shared phrase ending in a comma goes too ("Load average, 1 minute" -> "1 minute").
  if (first[0] && same(first[0].replace(/,$/, ""), collectorTitle(collector))) {
    let common = 0;
    while (common < first.length - 1 && words.every((w) => w.length > common + 1
      && same(w[common], first[common]))) common += 1;
    head = common > 0 ? 1 : 0;
    for (let i = 1; i < common; i += 1) if (first[i].endsWith(",")) head = i + 1;
  }
  let tail = 0;
  while (words.every((w) => w.length - head - tail > 1
    && same(w[w.length - 1 - tail], first[first.length - 1 - tail]))) tail += 1;
  return words.map((w) => w.slice(head, w.length - tail).join(" ").replace(/,$/, ""));
}

export class ChartBoard {
  /**
   * grid: where the cards go, in collector order; steps: the server's bucket widths;
   * points: the most points its history sends for a window.
   */
  constructor({ grid, window, steps, points, onFlush = () => {} }) {
    this.grid = grid;
    this.window = window;
    this.steps = steps;
    this.points = points;
    this.onFlush = onFlush;
    this.theme = theme();
    this.collectors = new Map();
    this.charts = new Map();
    this.dirty = new Set();
    this.frame = 0;
    this.batchTimer = 0;
    this.latestTs = null;
    this.alerts = null; // {host, rules, alerts, transitions}: what the charts' overlays show
    this.cores = 0; // this host's CPU cores (its cpu.coreN series), for per-core thresholds
    this.redraws = 0; // Plotly redraws so far (the tests count them)
    this.hidden = document.visibilityState === "hidden";
    this.onVisibility = () => {
      this.hidden = document.visibilityState === "hidden";
      if (!this.hidden) this.schedule(); // catch up: one redraw per chart that has news
    };
    document.addEventListener("visibilitychange", this.onVisibility);
    this.viewport = new IntersectionObserver((entries) => this.onIntersect(entries),
      { rootMargin: NEAR_VIEWPORT });
    this.watched = new WeakMap(); // card or plot element -> its chart
  }

  /** Cards and plots came into or went out of view: a plot that came in with news is drawn
   * next frame; a card whose header alone shows gets its headline and legend. */
  onIntersect(entries) {
    let due = false;
    for (const entry of entries) {
      const chart = this.watched.get(entry.target);
      if (!chart) continue;
      if (entry.target === chart.card) chart.cardSeen = entry.isIntersecting;
      else chart.onscreen = entry.isIntersecting;
      due = due || (entry.isIntersecting && this.dirty.has(chart));
    }
    if (due) this.schedule();
  }

  /** Watch a chart's card and plot for coming into view. */
  observe(chart) {
    for (const element of [chart.card, chart.gd]) {
      this.watched.set(element, chart);
      this.viewport.observe(element);
    }
  }

  addCollector(collector, order) {
    this.collectors.set(collector.name, {
      name: collector.name, order, interval: collector.interval, note: null,
      routes: new Map(), alerts: { subscribe: null, health: null },
      window: this.window, step: bucketStep(this.window, this.steps, this.points),
      lastTs: undefined, lastStep: 0, bucket: null,
    });
    this.setSeries(collector.name, collector.series || []);
  }

  /** What a subscribe ack says of a collector that the page did not know (another host's). */
  configure(name, { interval }) {
    const entry = this.collectors.get(name);
    if (entry && typeof interval === "number" && interval > 0) entry.interval = interval;
  }

  /** Take every card off the page and free the charts (the page shows another host). */
  destroy() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    clearTimeout(this.batchTimer);
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.viewport.disconnect();
    for (const chart of this.charts.values()) {
      Plotly.purge(chart.gd);
      chart.card.remove();
    }
    for (const entry of this.collectors.values()) entry.note?.remove();
    this.charts.clear();
    this.collectors.clear();
    this.dirty.clear();
  }

  chartsOf(name) {
    return [...this.charts.values()].filter((c) => c.collector === name);
  }

  /** Start a collector's charts over in another window; its history then comes through push. */
  reset(name, window) {
    const entry = this.collectors.get(name);
    if (!entry) return;
    Object.assign(entry, { window, step: bucketStep(window, this.steps, this.points), lastTs: undefined,
      lastStep: 0, bucket: null });
    for (const chart of this.chartsOf(name)) {
      chart.reset(window, this.maxPoints(entry));
      this.dirty.add(chart); // redrawn (empty, in the new range) even if no history comes
    }
    this.schedule();
  }

  /** Make sure every series of the list has a trace (new disks, sensors, a changed ack). */
  setSeries(name, seriesList) {
    const entry = this.collectors.get(name);
    if (!entry) return;
    const added = new Map();
    for (const series of seriesList) {
      if (entry.routes.has(series.name)) continue;
      const family = familyOf(name, series);
      if (!family) continue; // a series no chart draws
      if (Number.isFinite(family.top)) entry.sparse = true;
      if (!added.has(family.key)) added.set(family.key, { family, unit: series.unit, list: [] });
      added.get(family.key).list.push(series);
    }
    for (const { family, unit, list } of added.values()) {
      let chart = this.charts.get(family.key);
      if (!chart) {
        const index = this.chartsOf(name).length;
        chart = new Chart(this, { collector: name, title: family.title, unit, key: family.key,
          peers: family.peers, top: family.top,
          order: entry.order + index / 100, window: entry.window,
          maxPoints: this.maxPoints(entry) });
        this.charts.set(family.key, chart);
      }
      const first = chart.series.length;
      chart.addSeries(list);
      list.forEach((series, i) => entry.routes.set(series.name, { chart, index: first + i }));
      if (this.alerts && chart.setAlerts(this.alerts)) this.schedule();
    }
    // Per-core thresholds (load) follow the host's core count, known from the cpu cards.
    if (this.alerts && name === "cpu" && added.size) this.setAlerts(this.alerts);
    this.updateNote(entry);
    this.renderAlert(entry);
  }

  maxPoints(entry) {
    if (entry.step > 0) return MAX_BUCKETED_POINTS;
    const samples = Math.ceil(entry.window / (entry.interval || 1)) + 1;
    return Math.min(MAX_RAW_POINTS, Math.max(10, samples));
  }

  updateNote(entry) {
    const empty = entry.routes.size === 0;
    if (empty && !entry.note && EMPTY_NOTES[entry.name] !== null) {
      entry.note = document.createElement("section");
      entry.note.className = "card note-card";
      entry.note.dataset.collector = entry.name;
      const title = document.createElement("h2");
      title.className = "card-title";
      title.textContent = collectorTitle(entry.name);
      const text = document.createElement("p");
      text.className = "note-text";
      text.textContent = EMPTY_NOTES[entry.name] || "No series reported yet.";
      const alert = document.createElement("p");
      alert.className = "card-alert";
      alert.hidden = true;
      entry.note.append(title, text, alert);
      this.insert(entry.note, entry.order + 0.9);
    } else if (!empty && entry.note) {
      entry.note.remove();
      entry.note = null;
    }
  }

  /** Insert a card into the grid in collector order. */
  insert(card, order) {
    card.dataset.order = String(order);
    const after = [...this.grid.children].find((c) => Number(c.dataset.order) > order);
    this.grid.insertBefore(card, after || null);
  }

  /**
   * Samples in time order; `step` > 0 marks one the server averaged over that many seconds.
   * A window's own history is drawn as it came (the server kept it to 1,000 points, at
   * the finest step it could); live samples and a reconnect's catch-up are bucketed.
   */
  push(name, samples) {
    const entry = this.collectors.get(name);
    if (!entry) return;
    for (const sample of samples) {
      if (isBucketed(sample, entry.step)) {
        this.addToBucket(entry, sample);
      } else {
        entry.bucket = null;
        this.addPoint(entry, sample, sample.step || 0);
      }
      if (this.latestTs === null || sample.ts > this.latestTs) this.latestTs = sample.ts;
    }
    this.schedule({ batch: true });
  }

  /** One point per sample: every sample of a short window, a rollup of a long one. */
  addPoint(entry, sample, step) {
    this.breakIfGap(entry, sample.ts, step);
    const x = new Date(sample.ts * 1000);
    const values = sample.values || {};
    for (const [series, value] of Object.entries(values)) {
      const route = entry.routes.get(series);
      if (!route) continue;
      route.chart.queue(route.index, x, value);
      this.dirty.add(route.chart);
    }
    // A collector that sends only its highest lines (cgroups' `top`): a line it left out
    // has no value now, so it breaks, and ranks last until it is sent again.
    if (entry.sparse) {
      this.eachMissing(entry, values,
        (route) => route.chart.queue(route.index, x, null, { current: null }));
    }
  }

  /** fn(route) for each series of the collector a sample's values leave out. */
  eachMissing(entry, values, fn) {
    for (const [series, route] of entry.routes) {
      if (series in values) continue;
      fn(route);
      this.dirty.add(route.chart);
    }
  }

  /** Finer samples of a long window: one point per bucket, the average so far, moving right. */
  addToBucket(entry, sample) {
    const key = bucketKey(sample.ts, entry.step);
    if (entry.bucket?.key !== key) {
      this.breakIfGap(entry, sample.ts, entry.step);
      entry.bucket = new Bucket(key);
    } else {
      entry.lastTs = sample.ts;
    }
    const x = new Date(sample.ts * 1000);
    for (const [series, value] of Object.entries(sample.values || {})) {
      const route = entry.routes.get(series);
      if (!route) continue;
      const { average, first } = entry.bucket.add(series, value);
      route.chart.queue(route.index, x, average, { replace: !first, current: value });
      this.dirty.add(route.chart);
    }
    if (entry.sparse) {
      const values = sample.values || {};
      this.eachMissing(entry, values, (route) => { route.chart.latest[route.index] = null; });
    }
  }

  /** An outage (see gapBefore): break the lines, don't bridge it. */
  breakIfGap(entry, ts, step) {
    const gap = gapBefore(entry, ts, step);
    if (gap !== null) {
      const x = new Date(gap * 1000);
      for (const route of entry.routes.values()) {
        route.chart.gap(route.index, x);
        this.dirty.add(route.chart);
      }
    }
    entry.lastTs = ts;
    entry.lastStep = step;
  }

  /**
   * One animation frame draws every chart with news; a hidden tab asks for none. `batch`
   * (new samples): the frame waits DRAW_EVERY_MS, so the other collectors' samples of that
   * second are drawn in it too.
   */
  schedule({ batch = false } = {}) {
    if (this.frame || this.hidden) return;
    if (batch) {
      this.batchTimer ||= setTimeout(() => {
        this.batchTimer = 0;
        this.schedule();
      }, DRAW_EVERY_MS);
      return;
    }
    clearTimeout(this.batchTimer);
    this.batchTimer = 0;
    this.frame = requestAnimationFrame(() => this.flush());
  }

  /** Draw the charts with news that can be seen; the rest keep theirs until they can. */
  flush() {
    this.frame = 0;
    for (const chart of [...this.dirty]) {
      if (chart.quiet) {
        chart.renderQuiet(this.latestTs);
      } else if (chart.onscreen) {
        this.dirty.delete(chart);
        chart.flush(this.latestTs);
      } else if (chart.cardSeen) {
        chart.renderLegend(); // its plot is out of view, its numbers are not
      }
    }
    this.onFlush(this.latestTs);
  }

  /** The theme changed: every chart takes the new colours at its next redraw. */
  setTheme() {
    this.theme = theme();
    for (const chart of this.charts.values()) chart.applyTheme();
    if (this.alerts) this.setAlerts(this.alerts);
    this.schedule();
  }

  /** The alerts' state changed: each chart whose overlay differs is redrawn once. */
  setAlerts(state) {
    this.alerts = state;
    this.cores = [...this.collectors.get("cpu")?.routes.keys() || []]
      .filter((name) => /^cpu\.core\d+$/.test(name)).length;
    let changed = false;
    for (const chart of this.charts.values()) changed = chart.setAlerts(state) || changed;
    if (changed) this.schedule();
  }

  /** The card showing `series` (or, failing that, its collector's first card), or null. */
  cardOf(series) {
    const entry = this.collectors.get(collectorOf(series));
    if (!entry) return null;
    const route = entry.routes.get(series);
    if (route) return route.chart.card;
    return this.chartsOf(entry.name)[0]?.card || entry.note;
  }

  /** kind: "subscribe" or "health"; message null clears it. */
  setAlert(name, kind, message) {
    const entry = this.collectors.get(name);
    if (!entry) return;
    entry.alerts[kind] = message;
    this.renderAlert(entry);
  }

  renderAlert(entry) {
    const message = entry.alerts.subscribe || entry.alerts.health;
    const cards = this.chartsOf(entry.name).map((c) => c.card);
    if (entry.note) cards.push(entry.note);
    for (const card of cards) {
      const alert = card.querySelector(".card-alert");
      alert.hidden = !message;
      alert.textContent = message || "";
      card.classList.toggle("is-failing", Boolean(message));
    }
  }

  // Zoom, the shared crosshair, compare lines and picking a moment. zoom.js, compare.js and
  // the snapshot panel drive these through the host's dashboard (hostview.js); the charts'
  // plotly events all come in through wire().

  /** Handlers for what the charts report: onZoom({start, end}), onLive(), onPick(ts). */
  listen(events) {
    this.events = { ...this.events, ...events };
  }

  /** Every chart's plotly events: a drag zooms (x only), plotly's double-click reset goes
   * back to live, a click picks its moment, hover moves the other charts' crosshairs. */
  wire(chart) {
    const gd = chart.gd;
    watchTouch(gd, { plotArea: () => chart.plotArea(), zoomed: () => this.zoom,
      onZoom: (range) => this.events?.onZoom?.(range) });
    gd.on("plotly_relayout", (event) => {
      const range = relayoutRange(event);
      if (range === "live") this.events?.onLive?.();
      else if (range && !sameRange(range, this.zoom)) this.events?.onZoom?.(range);
    });
    gd.on("plotly_doubleclick", () => this.events?.onLive?.());
    gd.on("plotly_click", (event) => {
      const ms = plotlyTime(event?.points?.[0]?.x);
      if (Number.isFinite(ms)) this.events?.onPick?.(ms / 1000);
    });
    gd.on("plotly_hover", (event) => {
      const xval = axisValue(event?.xvals?.[0]);
      if (Number.isFinite(xval)) this.hoverAll(chart, xval);
    });
    gd.on("plotly_unhover", () => this.hoverAll(chart, null));
  }

  /** The crosshair and hover values at `xval` (plotly's) on every other chart in view, once
   * a frame; null takes them away. */
  hoverAll(source, xval) {
    this.hoverAt = { source, xval };
    if (this.hoverFrame) return;
    this.hoverFrame = requestAnimationFrame(() => {
      this.hoverFrame = 0;
      const at = this.hoverAt;
      for (const chart of this.charts.values()) {
        if (chart === at.source || !chart.gd.data) continue;
        if (at.xval === null) Plotly.Fx.unhover(chart.gd);
        else if (chart.onScreen()) Plotly.Fx.hover(chart.gd, { xval: at.xval });
      }
    });
  }

  /** Show `range` ({start, end}, unix s) on every chart; live samples no longer move it. */
  zoomTo(range) {
    this.zoom = range;
    for (const chart of this.charts.values()) chart.zoomTo(range);
  }

  /** Leave the zoom: its bands go; each collector's reset (a new subscribe) draws live. */
  unzoom() {
    this.zoom = null;
    for (const chart of this.charts.values()) {
      chart.emptyText("waiting for data…");
      chart.showBands([]);
    }
  }

  /** A `range` ack's history for collector `name`, drawn on its charts while zoomed. */
  showRange(name, history) {
    const entry = this.collectors.get(name);
    if (!entry || !this.zoom) return;
    const { lines, tier } = rangeLines(history, entry.interval);
    for (const chart of this.chartsOf(name)) chart.showLines(lines, tier, this.zoom);
  }

  /** Compare lines on collector `name`'s charts: `history` of `offset` s earlier, drawn
   * that much later (on the shown window); null takes them away. */
  showCompare(name, history, offset, label) {
    const entry = this.collectors.get(name);
    if (!entry) return;
    const lines = history ? shiftLines(rangeLines(history, entry.interval).lines, offset) : null;
    for (const chart of this.chartsOf(name)) chart.showCompare(lines, label);
  }

  /** While zoomed, live samples only update the headlines and legends (and "last sample"). */
  noteLatest(name, samples) {
    const entry = this.collectors.get(name);
    const last = samples.at(-1);
    if (!entry || !last) return;
    for (const [series, value] of Object.entries(last.values || {})) {
      const route = entry.routes.get(series);
      if (route) route.chart.latest[route.index] = isNumber(value) ? value : null;
    }
    for (const chart of this.chartsOf(name)) chart.renderLegend();
    if (this.latestTs === null || last.ts > this.latestTs) this.latestTs = last.ts;
    this.onFlush(this.latestTs);
  }

  /** The plot width (px) of collector `name`'s first chart: the points a range asks for. */
  plotWidth(name) {
    return this.chartsOf(name)[0]?.gd.clientWidth || 0;
  }
}

class Chart {
  constructor(board, { collector, title, unit, key, peers, top, order, window, maxPoints }) {
    this.board = board;
    this.collector = collector;
    this.unit = unit;
    this.window = window;
    this.maxPoints = maxPoints;
    this.cleared = false; // reset() ran: the next flush starts the traces over
    this.series = [];
    this.labels = [];
    this.latest = [];
    this.pending = new Map();
    this.peers = peers; // equals: no headline trace, the busiest leads
    this.top = top; // lines drawn at most: the highest, ranked every RANK_EVERY_MS
    this.rankedAt = -Infinity;
    this.overlayKey = JSON.stringify([]);
    this.overlay = null; // shapes waiting for the next flush
    this.axis = axisTicks(0, 0, unit);
    this.onscreen = true; // the plot is in view (until the board's observer says otherwise)
    this.cardSeen = true; // and any of its card
    this.quiet = false; // folded into one line (quiet.js): not drawn until a value appears
    this.build(title, key);
    board.insert(this.card, order);
    this.gd = this.card.querySelector(".plot");
    board.observe(this);
    Plotly.newPlot(this.gd, [], this.layout(), {
      displayModeBar: false, responsive: true, displaylogo: false, scrollZoom: false,
      showTips: false, // no "double-click to zoom back out" box: the top bar's Live says it
    });
    board.wire(this);
  }

  build(title, key) {
    const card = document.createElement("section");
    card.className = "card chart-card";
    card.dataset.collector = this.collector;
    card.dataset.unit = this.unit;
    card.innerHTML = `
      <header class="card-head">
        <h2 class="card-title"></h2>
        <div class="headline"><span class="headline-value">—</span><span
          class="headline-unit"></span><span class="headline-label"></span></div>
      </header>
      <p class="card-alert" hidden></p>
      <p class="quiet-line" hidden></p>
      <ul class="legend"></ul>
      <div class="plot-wrap"><div class="plot"></div><p class="plot-empty">waiting for data…</p></div>`;
    const heading = card.querySelector(".card-title");
    heading.textContent = title;
    if (this.unit && this.unit.toLowerCase() !== this.collector.toLowerCase()) {
      const unit = document.createElement("span");
      unit.className = "card-unit";
      unit.textContent = ` · ${this.unit}`;
      heading.append(unit);
    }
    const plot = card.querySelector(".plot");
    plot.id = `chart-${slug(key.replace(/\|/g, "-"))}`;
    plot.dataset.collector = this.collector;
    plot.dataset.unit = this.unit;
    this.card = card;
  }

  layout() {
    const t = this.board.theme;
    // ticklabeloverflow "allow": Plotly's default ("hide past div") re-measures every tick
    // label with getBoundingClientRect on every redraw; that was a third of the page's time.
    const axis = { gridcolor: t.grid, linecolor: t.axis, zeroline: false, fixedrange: true,
      tickfont: { size: 11 }, ticklabeloverflow: "allow" };
    return {
      margin: { l: 58, r: 12, t: 12, b: 26 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: t.text, family: t.font, size: 12 },
      showlegend: false,
      hovermode: "x unified",
      dragmode: "zoom", // x only (the y axis is fixed): every chart of the host follows
      hoverlabel: { bgcolor: t.hoverBg, bordercolor: t.axis, font: { color: t.strong } },
      xaxis: { ...axis, type: "date", showgrid: false, nticks: 6, spikecolor: t.text,
        spikethickness: 1, spikedash: "dot", ...timeAxis(this.window), ...ZOOMABLE },
      yaxis: { ...axis, title: { text: this.unit, standoff: 4, font: { size: 11 } },
        automargin: true, tickmode: "array", range: this.axis.range,
        tickvals: this.axis.tickvals, ticktext: this.axis.ticktext },
    };
  }

  /** The board's colours onto the layout and the traces, drawn at the next flush. */
  applyTheme() {
    const { layout } = this.gd;
    const fresh = this.layout();
    for (const key of ["font", "hoverlabel"]) layout[key] = fresh[key];
    for (const axis of ["xaxis", "yaxis"]) {
      for (const key of ["gridcolor", "linecolor", "spikecolor"]) {
        if (key in fresh[axis]) layout[axis][key] = fresh[axis][key];
      }
    }
    const palette = this.board.theme.palette;
    this.seriesTraces().forEach((trace, n) => {
      const color = palette[n % palette.length];
      trace.line = { ...trace.line, color };
      trace.fillcolor = translucent(color, 0.1);
    });
    this.overlayKey = null; // the alert overlay's colours too
    this.legendColors = null;
    this.board.dirty.add(this);
    this.drawExtras(); // bands and compare lines in the new colours
  }

  get many() {
    return this.series.length > MANY;
  }

  /** The headline is the first series, or the highest of a group of equals. */
  get headlineIndex() {
    if (!this.many && !this.peers) return 0;
    return this.latest.reduce((best, v, i) => (v !== null
      && (this.latest[best] === null || v > this.latest[best]) ? i : best), 0);
  }

  addSeries(list) {
    const t = this.board.theme;
    const traces = list.map((series, i) => {
      const n = this.series.length + i;
      const color = t.palette[n % t.palette.length];
      const total = list.length + this.series.length;
      const headline = n === 0 && !this.peers && total <= MANY;
      return {
        type: "scatter", mode: "lines", name: series.label || series.name, x: [], y: [], text: [],
        line: { color, width: headline ? 2.4 : total > MANY ? 1 : 1.6 }, marker: { size: 5 },
        opacity: total > MANY ? 0.75 : 1,
        fill: headline ? "tozeroy" : "none", fillcolor: translucent(color, 0.1),
        hovertemplate: `%{text}<extra>${escapeHtml(series.label || series.name)}</extra>`,
        meta: series.name,
      };
    });
    this.series.push(...list);
    this.latest.push(...list.map(() => null));
    this.labels = shortLabels(this.collector, this.series.map((s) => s.label || s.name));
    if (this.gd.data && traces.length) Plotly.addTraces(this.gd, traces);
    this.extrasLast();
    if (this.many && this.gd.layout.hovermode !== "closest") {
      // A unified hover box listing dozens of cores would cover the chart.
      Plotly.relayout(this.gd, { hovermode: "closest" });
    }
    this.renderLegend();
  }

  /** Take the alerts' overlay for this chart's series; true if it changed (it is drawn at
   * the next flush, with the points, in one redraw). */
  setAlerts(state) {
    const overlay = chartOverlay({ ...state, series: this.series.map((s) => s.name),
      colors: this.board.theme.alerts, cores: this.board.cores, window: this.window,
      end: this.board.latestTs });
    if (overlay.key === this.overlayKey) return false;
    this.overlayKey = overlay.key;
    this.overlay = overlay.shapes;
    this.board.dirty.add(this);
    return true;
  }

  /** Drop everything drawn and pending; the next flush draws the new window's points. */
  reset(window, maxPoints) {
    this.window = window;
    this.maxPoints = maxPoints;
    this.pending.clear();
    this.cleared = true;
    if (this.quiet) this.unfold(); // the new window's points decide again
    if (this.board.alerts) this.setAlerts(this.board.alerts); // its marks' words
  }

  /**
   * A point to draw at the next flush. `replace`: it is the newest point again (a bucket
   * still filling), not a new one. `current` is the latest reading, for the headline.
   */
  queue(index, x, value, { replace = false, current = value } = {}) {
    let points = this.pending.get(index);
    if (!points) {
      points = { x: [], y: [], replace: false };
      this.pending.set(index, points);
    }
    const y = isNumber(value) ? value : null;
    if (replace && points.x.length) {
      points.x[points.x.length - 1] = x;
      points.y[points.y.length - 1] = y;
    } else {
      if (!points.x.length) points.replace = replace; // it replaces the newest drawn point
      points.x.push(x);
      points.y.push(y);
    }
    if (points.x.length > this.maxPoints) {
      // A hidden tab gets no animation frames: keep the queue bounded until it flushes (it
      // then replaces everything drawn, so there is no drawn point left to replace).
      for (const k of ["x", "y"]) points[k].splice(0, points.x.length - this.maxPoints);
      points.replace = false;
    }
    this.latest[index] = isNumber(current) ? current : null;
    if (this.quiet && breaksQuiet(y)) this.unfold();
  }

  /** A break in the line (no value), leaving the headline as it is. */
  gap(index, x) {
    this.queue(index, x, null, { current: this.latest[index] });
  }

  /** Draw what is pending in one redraw; `end` (unix s) is the newest sample on the page. */
  flush(end) {
    const gd = this.gd;
    if (this.cleared) {
      for (const trace of this.seriesTraces()) Object.assign(trace, { x: [], y: [], text: [] });
      Object.assign(gd.layout.xaxis, timeAxis(this.window));
      this.cleared = false;
    }
    this.append();
    if (this.overlay) {
      gd.layout.shapes = this.overlay; // the redraw below draws them
      this.overlay = null;
    }
    if (end !== null && end !== undefined && !this.board.zoom) this.showWindow(end);
    if (!this.board.zoom && isQuiet(this.seriesTraces())) {
      this.fold(end);
      return;
    }
    this.rank();
    this.fitAxis();
    // The traces and the layout were edited in place: one full redraw shows it all.
    Plotly.redraw(gd);
    this.board.redraws += 1;
    this.card.classList.toggle("has-data", gd.data.some((trace) => trace.x.length > 0));
    this.renderLegend();
  }

  /** With more lines than it draws, show the highest (by their latest values) and hide the
   * rest; ranked again only every RANK_EVERY_MS, so lines do not come and go each second. */
  rank() {
    if (this.series.length <= this.top) return;
    const now = performance.now();
    if (now - this.rankedAt < RANK_EVERY_MS) return;
    this.rankedAt = now;
    const shown = highest(this.latest, this.top);
    this.seriesTraces().forEach((trace, i) => { trace.visible = shown.has(i); });
  }

  /** Move the pending points onto the traces (at most maxPoints kept per trace). */
  append() {
    for (const [index, points] of this.pending) {
      const trace = this.gd.data[index];
      // Hover text is made here, for the points drawn, not for each one queued.
      const text = (y) => formatValue(y, this.unit);
      if (points.replace && trace.x.length) {
        // A bucket still filling: its newest point is replaced, not added.
        const last = trace.x.length - 1;
        trace.x[last] = points.x.shift();
        trace.y[last] = points.y.shift();
        trace.text[last] = text(trace.y[last]);
      }
      if (!points.x.length) continue;
      trace.mode = trace.x.length + points.x.length < SPARSE ? "lines+markers" : "lines";
      for (const [k, values] of [["x", points.x], ["y", points.y], ["text", points.y.map(text)]]) {
        const column = trace[k];
        for (const v of values) column.push(v);
        if (column.length > this.maxPoints) column.splice(0, column.length - this.maxPoints);
      }
    }
    this.pending.clear();
  }

  /** Fold into one line: the chart held nothing but zeros over everything it shows. */
  fold(end) {
    this.quiet = true;
    this.card.classList.add("is-quiet");
    this.card.querySelector(".quiet-line").hidden = false;
    this.renderQuiet(end);
  }

  /** A value appeared: the chart unfolds and is drawn at the next frame. */
  unfold() {
    this.quiet = false;
    this.card.classList.remove("is-quiet");
    this.card.querySelector(".quiet-line").hidden = true;
    this.board.dirty.add(this);
    this.board.schedule();
  }

  /** The folded line, for how long the chart has been quiet (the window, at most). */
  renderQuiet(end) {
    const first = this.gd.data.reduce((low, t) => Math.min(low, t.x.length ? +t.x[0] : low),
      Infinity);
    const span = end === null || end === undefined || first === Infinity ? 0
      : Math.min(this.window, end - first / 1000);
    const text = quietText(quietNames(this.series.map((s) => s.name), this.labels), this.unit,
      span);
    const line = this.card.querySelector(".quiet-line");
    if (line.textContent !== text) line.textContent = text;
  }

  /**
   * The x axis spans the whole window up to the newest sample, and points before it go
   * (one is kept so the line still enters from the left edge). Set on the layout object:
   * the redraw that follows in flush() applies it, so there is no second redraw.
   */
  showWindow(end) {
    const start = end - this.window;
    const cutoff = start * 1000;
    for (const trace of this.gd.data) {
      let first = 0;
      while (first < trace.x.length && +trace.x[first] < cutoff) first += 1;
      if (first > 1) for (const k of ["x", "y", "text"]) trace[k].splice(0, first - 1);
    }
    Object.assign(this.gd.layout.xaxis, {
      range: [new Date(start * 1000), new Date(end * 1000)], autorange: false,
    });
  }

  /** Our own ticks (binary prefixes for bytes), set on the layout for the redraw that
   * follows; changed only when the data leaves the scale (or fills too little of it). */
  fitAxis() {
    let low = Infinity;
    let high = -Infinity;
    for (const trace of this.gd.data) {
      if (trace.visible === false) continue;
      for (const y of trace.y) {
        if (y === null || y === undefined) continue;
        if (y < low) low = y;
        if (y > high) high = y;
      }
    }
    if (high === -Infinity) return;
    const next = axisTicks(low, high, this.unit);
    const [bottom, top] = this.axis.range;
    const fits = next.range[0] >= bottom && next.range[1] <= top && next.range[1] > top * 0.5
      && next.range[0] <= bottom * 0.5;
    const backTo100 = this.unit === "%" && next.range[1] === 100 && top !== 100;
    if (fits && !backTo100) return; // hysteresis: keep the scale steady while data fits it
    this.axis = next;
    Object.assign(this.gd.layout.yaxis, { range: next.range, tickvals: next.tickvals,
      ticktext: next.ticktext });
  }

  renderLegend() {
    const legend = this.card.querySelector(".legend");
    const t = this.board.theme;
    const headline = this.headlineIndex;
    const [value, unit] = splitValue(this.latest[headline], this.unit);
    this.card.querySelector(".headline-value").textContent = value;
    this.card.querySelector(".headline-unit").textContent = unit;
    const label = this.labels[headline] || "";
    this.card.querySelector(".headline-label").textContent = this.many || this.peers
      ? `max · ${label}` : label;
    if (this.many) {
      legend.textContent = this.series.length > this.top
        ? `the ${this.top} highest of ${this.series.length}; hover for values`
        : `${this.series.length} series, thin lines; hover for values`;
      legend.classList.add("legend-note");
      return;
    }
    if (legend.children.length !== Math.min(this.series.length, LEGEND_CHIPS)
      || this.legendColors !== t.palette) {
      this.legendColors = t.palette;
      legend.replaceChildren(...this.series.slice(0, LEGEND_CHIPS).map((series, i) => {
        const chip = document.createElement("li");
        const swatch = document.createElement("i");
        swatch.style.background = t.palette[i % t.palette.length];
        const name = document.createElement("span");
        name.className = "legend-name";
        const val = document.createElement("b");
        chip.append(swatch, name, val);
        chip.title = series.label || series.name;
        return chip;
      }));
    }
    [...legend.children].forEach((chip, i) => {
      chip.querySelector(".legend-name").textContent = this.labels[i];
      chip.querySelector("b").textContent = formatValue(this.latest[i], this.unit);
    });
  }

  /** The traces of this chart's series; rollup bands and compare lines come after them. */
  seriesTraces() {
    return this.gd.data.slice(0, this.series.length);
  }

  /** Where the plot area is on the page and the time it shows, for touch (touch.js). */
  plotArea() {
    const drag = this.gd.querySelector(".nsewdrag"); // plotly's drag layer: the plot area
    const range = this.gd.layout?.xaxis?.range;
    if (!drag || !Array.isArray(range)) return null;
    const box = drag.getBoundingClientRect();
    return { left: box.left, width: box.width, range: range.map((v) => plotlyTime(v) / 1000) };
  }

  /** Whether the card is in (or next to) the viewport: hover follows only what can be seen. */
  onScreen() {
    return this.onscreen && !this.quiet;
  }

  zoomTo(range) {
    if (this.quiet) this.unfold(); // the zoomed moment may not have been quiet
    // Live points still waiting for their frame are not the range's; going back to live
    // subscribes afresh, with the whole window.
    this.pending.clear();
    const span = range.end - range.start;
    const update = { "xaxis.range": [...dates(range)],
      "xaxis.autorange": false };
    for (const [key, value] of Object.entries(timeAxis(span))) update[`xaxis.${key}`] = value;
    Plotly.relayout(this.gd, update);
  }

  /** The zoomed range's lines (zoomdata.rangeLines) in place of the live ones; rollups
   * (tier "rollup") get their min–max band and say it in the hover text. */
  showLines(lines, tier, range) {
    const bands = this.series.map((series, i) => {
      const line = lines.get(series.name) || { x: [], y: [], min: null, max: null };
      const x = line.x.map((ms) => new Date(ms));
      const text = line.y.map((y, j) => (line.min && y !== null
        ? `${formatValue(y, this.unit)} (${formatValue(line.min[j], this.unit)} – `
          + `${formatValue(line.max[j], this.unit)})` : formatValue(y, this.unit)));
      Object.assign(this.gd.data[i], { x, y: line.y, text,
        mode: x.length < SPARSE ? "lines+markers" : "lines" });
      return tier === "rollup" && line.min && !this.many ? { x, min: line.min, max: line.max }
        : null;
    });
    Object.assign(this.gd.layout.xaxis, { autorange: false,
      range: [...dates(range)] });
    this.emptyText("nothing stored for this range");
    this.showBands(bands);
  }

  /** What the empty chart says: live, it waits for data; zoomed, the range had none. */
  emptyText(text) {
    this.card.querySelector(".plot-empty").textContent = text;
  }

  /** One min–max band a series (null: none), drawn with the next extras. */
  showBands(bands) {
    this.bands = bands;
    this.drawExtras();
  }

  /** Compare lines (already moved onto this window), one a series; null: none. */
  showCompare(lines, label) {
    this.compare = lines ? this.series.map((series) => {
      const line = lines.get(series.name);
      return line ? { x: line.x.map((ms) => new Date(ms)), y: line.y, label } : null;
    }) : [];
    this.drawExtras();
  }

  /** Bands and compare lines as traces after the series' own, in one redraw. */
  drawExtras() {
    const palette = this.board.theme.palette;
    const extras = [];
    (this.bands || []).forEach((band, i) => {
      if (band) extras.push(...bandTraces(band, palette[i % palette.length]));
    });
    (this.compare || []).forEach((line, i) => {
      if (line) extras.push(this.compareTrace(line, i, palette[i % palette.length]));
    });
    if (!extras.length && this.gd.data.length === this.series.length) return;
    this.gd.data.splice(this.series.length, Infinity, ...extras);
    this.board.dirty.add(this); // drawn with the next flush, once in view, like new points
    this.board.schedule();
  }

  compareTrace(line, i, color) {
    const series = this.series[i];
    const label = `${series.label || series.name} · ${line.label}`;
    return { type: "scatter", mode: "lines", name: label, x: line.x, y: line.y,
      text: line.y.map((y) => formatValue(y, this.unit)), opacity: COMPARE_OPACITY,
      line: { color, width: this.many ? 0.8 : 1.3, dash: "dash" },
      hovertemplate: `%{text}<extra>${escapeHtml(label)}</extra>`, meta: `compare ${series.name}` };
  }

  /** New series' traces were added after the extras: put the extras back behind them. */
  extrasLast() {
    if (!this.gd.data || this.gd.data.length === this.series.length) return;
    const extras = this.gd.data.filter((trace) => !this.series.some((s) => s.name === trace.meta));
    const own = this.gd.data.filter((trace) => !extras.includes(trace));
    this.gd.data.splice(0, Infinity, ...own);
    this.drawExtras();
  }
}

/** A range's two ends as Dates, to the millisecond (a Date would cut 0.9999 ms off). */
function dates(range) {
  return [new Date(Math.round(range.start * 1000)), new Date(Math.round(range.end * 1000))];
}

/** A min–max band: its low edge, then its high edge filled down to it; no hover of its own. */
function bandTraces(band, color) {
  const edge = { type: "scatter", mode: "lines", x: band.x, line: { width: 0, color },
    hoverinfo: "skip", showlegend: false };
  return [{ ...edge, y: band.min, meta: "band low" },
    { ...edge, y: band.max, fill: "tonexty", fillcolor: translucent(color, BAND_ALPHA),
      meta: "band high" }];
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
