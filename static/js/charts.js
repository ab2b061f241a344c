// Charts: one plotly chart per (collector, unit) group, built from the collector list, so a
// plugin's namespace gets its charts with no front-end change. Plotly.newPlot once per chart,
// then Plotly.extendTraces with maxPoints, batched per animation frame.

import { axisTicks, formatValue, splitValue } from "./format.js";

/* global Plotly */

const TITLES = {
  cpu: "CPU", memory: "Memory", load: "Load", disk: "Disk", filesystem: "Filesystem",
  network: "Network", processes: "Processes", sensors: "Sensors",
};
const EMPTY_NOTES = { sensors: "No temperature sensors on this host." };
// Groups with more series than this get thin lines, no per-series legend, and the maximum
// as their headline (e.g. dozens of CPU cores).
const MANY = 8;
const LEGEND_CHIPS = 8;

export function collectorTitle(name) {
  if (TITLES[name]) return TITLES[name];
  const words = name.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Which chart a series belongs to: its unit, with per-core series split off. */
function familyOf(collector, series) {
  const title = collectorTitle(collector);
  if (/\.core\d+$/.test(series.name)) {
    return { key: `${collector}|${series.unit}|cores`, title: `${title} cores` };
  }
  return { key: `${collector}|${series.unit}`, title };
}

function slug(text) {
  return text.replace(/%/g, "pct").replace(/\//g, "-per-").replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/-+/g, "-").replace(/^-|-$/g, "") || "x";
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function theme() {
  const palette = [];
  for (let i = 1; i <= 10; i += 1) palette.push(cssVar(`--series-${i}`) || "#7aa2f7");
  return {
    text: cssVar("--text-muted") || "#9aa4b2",
    grid: cssVar("--chart-grid") || "rgba(255,255,255,0.08)",
    axis: cssVar("--chart-axis") || "rgba(255,255,255,0.2)",
    hoverBg: cssVar("--surface-raised") || "#1f2633",
    font: cssVar("--font-ui") || "system-ui, sans-serif",
    palette,
  };
}

function translucent(color, alpha) {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (!hex) return color;
  const n = parseInt(hex[1], 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
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
  /** grid: where the cards go, in collector order. */
  constructor({ grid, window, onFlush = () => {} }) {
    this.grid = grid;
    this.window = window;
    this.onFlush = onFlush;
    this.theme = theme();
    this.collectors = new Map();
    this.charts = new Map();
    this.dirty = new Set();
    this.frame = 0;
    this.latestTs = null;
  }

  addCollector(collector, order) {
    this.collectors.set(collector.name, {
      name: collector.name, order, interval: collector.interval, note: null,
      routes: new Map(), alerts: { subscribe: null, health: null },
    });
    this.setSeries(collector.name, collector.series || []);
  }

  /** Make sure every series of the list has a trace (new disks, sensors, a changed ack). */
  setSeries(name, seriesList) {
    const entry = this.collectors.get(name);
    if (!entry) return;
    const added = new Map();
    for (const series of seriesList) {
      if (entry.routes.has(series.name)) continue;
      const family = familyOf(name, series);
      if (!added.has(family.key)) added.set(family.key, { family, unit: series.unit, list: [] });
      added.get(family.key).list.push(series);
    }
    for (const { family, unit, list } of added.values()) {
      let chart = this.charts.get(family.key);
      if (!chart) {
        const index = [...this.charts.values()].filter((c) => c.collector === name).length;
        chart = new Chart(this, { collector: name, title: family.title, unit, key: family.key,
          order: entry.order + index / 100, maxPoints: this.maxPoints(entry.interval) });
        this.charts.set(family.key, chart);
      }
      const first = chart.series.length;
      chart.addSeries(list);
      list.forEach((series, i) => entry.routes.set(series.name, { chart, index: first + i }));
    }
    this.updateNote(entry);
    this.renderAlert(entry);
  }

  maxPoints(interval) {
    return Math.min(2000, Math.max(10, Math.ceil(this.window / (interval || 1)) + 1));
  }

  updateNote(entry) {
    const empty = entry.routes.size === 0;
    if (empty && !entry.note) {
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

  push(name, samples) {
    const entry = this.collectors.get(name);
    if (!entry) return;
    const interval = entry.interval || 1;
    for (const sample of samples) {
      if (entry.lastTs !== undefined && sample.ts - entry.lastTs > Math.max(3 * interval, 5)) {
        // An outage (server restart, a failing collector): break the lines, don't bridge it.
        const gap = new Date((entry.lastTs + interval) * 1000);
        for (const route of entry.routes.values()) route.chart.queue(route.index, gap, null);
      }
      entry.lastTs = sample.ts;
      const x = new Date(sample.ts * 1000);
      for (const [series, value] of Object.entries(sample.values || {})) {
        const route = entry.routes.get(series);
        if (!route) continue;
        route.chart.queue(route.index, x, value);
        this.dirty.add(route.chart);
      }
      if (this.latestTs === null || sample.ts > this.latestTs) this.latestTs = sample.ts;
    }
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    const charts = [...this.dirty];
    this.dirty.clear();
    for (const chart of charts) chart.flush();
    this.onFlush(this.latestTs);
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
    const cards = [...this.charts.values()].filter((c) => c.collector === entry.name)
      .map((c) => c.card);
    if (entry.note) cards.push(entry.note);
    for (const card of cards) {
      const alert = card.querySelector(".card-alert");
      alert.hidden = !message;
      alert.textContent = message || "";
      card.classList.toggle("is-failing", Boolean(message));
    }
  }
}

class Chart {
  constructor(board, { collector, title, unit, key, order, maxPoints }) {
    this.board = board;
    this.collector = collector;
    this.unit = unit;
    this.maxPoints = maxPoints;
    this.series = [];
    this.labels = [];
    this.latest = [];
    this.pending = new Map();
    this.peers = key.endsWith("|cores"); // equals: no headline trace, the busiest leads
    this.axis = axisTicks(0, 0, unit);
    this.build(title, key);
    board.insert(this.card, order);
    this.gd = this.card.querySelector(".plot");
    Plotly.newPlot(this.gd, [], this.layout(), {
      displayModeBar: false, responsive: true, displaylogo: false, scrollZoom: false,
    });
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
      hoverlabel: { bgcolor: t.hoverBg, bordercolor: t.axis, font: { color: "#e6e9ef" } },
      xaxis: { ...axis, type: "date", showgrid: false, nticks: 6, hoverformat: "%H:%M:%S",
        spikecolor: t.axis, spikethickness: 1, spikedash: "dot",
        tickformatstops: [
          { dtickrange: [null, 59000], value: "%H:%M:%S" },
          { dtickrange: [59000, null], value: "%H:%M" },
        ] },
      yaxis: { ...axis, title: { text: this.unit, standoff: 4, font: { size: 11 } },
        automargin: true, tickmode: "array", range: this.axis.range,
        tickvals: this.axis.tickvals, ticktext: this.axis.ticktext },
    };
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
        line: { color, width: headline ? 2.4 : total > MANY ? 1 : 1.6 },
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
    if (this.many && this.gd.layout.hovermode !== "closest") {
      // A unified hover box listing dozens of cores would cover the chart.
      Plotly.relayout(this.gd, { hovermode: "closest" });
    }
    this.renderLegend();
  }

  queue(index, x, value) {
    let points = this.pending.get(index);
    if (!points) {
      points = { x: [], y: [], text: [] };
      this.pending.set(index, points);
    }
    const y = typeof value === "number" && Number.isFinite(value) ? value : null;
    points.x.push(x);
    points.y.push(y);
    points.text.push(formatValue(y, this.unit));
    if (points.x.length > this.maxPoints) {
      // A hidden tab gets no animation frames: keep the queue bounded until it flushes.
      for (const k of ["x", "y", "text"]) points[k].splice(0, points.x.length - this.maxPoints);
    }
    this.latest[index] = y;
  }

  flush() {
    if (!this.pending.size) return;
    const indices = [];
    const update = { x: [], y: [], text: [] };
    for (const [index, points] of this.pending) {
      indices.push(index);
      update.x.push(points.x);
      update.y.push(points.y);
      update.text.push(points.text);
    }
    this.pending.clear();
    Plotly.extendTraces(this.gd, update, indices, this.maxPoints);
    this.card.classList.add("has-data");
    this.updateAxis();
    this.renderLegend();
  }

  /** Our own ticks (binary prefixes for bytes); relayout only when they must change. */
  updateAxis() {
    let low = Infinity;
    let high = -Infinity;
    for (const trace of this.gd.data) {
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
    Plotly.relayout(this.gd, { "yaxis.range": next.range, "yaxis.tickvals": next.tickvals,
      "yaxis.ticktext": next.ticktext });
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
      legend.textContent = `${this.series.length} series, thin lines; hover for values`;
      legend.classList.add("legend-note");
      return;
    }
    if (legend.children.length !== Math.min(this.series.length, LEGEND_CHIPS)) {
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
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
