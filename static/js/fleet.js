// The fleet overview: one compact row per host (by name) with its latest values and a small
// SVG sparkline per metric, fed by the /fleet pushes. Built to stay cheap at dozens of hosts:
// a row is redrawn only when its host's data changed, and all redraws wait for one
// animation frame. A row opens that host's dashboard on click or Enter.

import { FLEET_METRICS, FleetHistory, RING_POINTS, metricLevel, metricText, mountPath,
  sparkPath, sparkSpan, staleText } from "./fleetdata.js";

const SVG = "http://www.w3.org/2000/svg";
const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 24;

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function svgElement(tag, className) {
  const el = document.createElementNS(SVG, tag);
  if (className) el.setAttribute("class", className);
  return el;
}

export class FleetView {
  /**
   * section: the overview's element (a table inside it gets the rows); hrefOf(host): the
   * address of a host's dashboard; onOpen(host): show it; now(): unix seconds.
   */
  constructor({ section, hrefOf, onOpen, now = () => Date.now() / 1000 }) {
    this.section = section;
    this.hrefOf = hrefOf;
    this.onOpen = onOpen;
    this.now = now;
    this.history = new FleetHistory();
    this.every = 1;
    this.rows = new Map(); // host -> {tr, ...the parts a redraw touches}
    this.dirty = new Set();
    this.reorder = false;
    this.frame = 0;
    this.visible = false;
    this.build();
  }

  build() {
    this.count = element("span", "fleet-count");
    const head = element("header", "fleet-head");
    head.append(element("h2", "fleet-title", "Hosts"), this.count);
    const headings = element("tr");
    headings.append(element("th", "col-host", "Host"));
    for (const metric of FLEET_METRICS) {
      const th = element("th", `col-metric col-${metric.key}`, metric.label);
      th.scope = "col";
      headings.append(th);
    }
    const thead = element("thead");
    thead.append(headings);
    this.body = element("tbody");
    const table = element("table", "fleet-table");
    table.append(thead, this.body);
    this.empty = element("p", "fleet-empty", "No host has reported yet.");
    this.section.replaceChildren(head, table, this.empty);
    this.body.addEventListener("click", (event) => this.onClick(event));
    this.body.addEventListener("keydown", (event) => this.onKey(event));
  }

  /** The rows' hosts, as last pushed: [{host, stale, last_seen, ...summary}]. */
  summaries() {
    return this.history.names().map((name) => this.history.get(name).summary);
  }

  /** One /fleet push (or its subscribe ack). */
  update(summaries, every) {
    if (typeof every === "number" && every > 0) this.every = every;
    const { changed, added, removed } = this.history.update(summaries);
    for (const name of changed) this.dirty.add(name);
    if (added.size || removed.size) this.reorder = true;
    for (const name of removed) {
      this.rows.get(name)?.tr.remove();
      this.rows.delete(name);
      this.dirty.delete(name);
    }
    // A quiet host's "last seen ... ago" moves on while its data does not.
    const now = this.now();
    for (const [name, row] of this.rows) {
      const { summary } = this.history.get(name);
      if (summary.stale && row.seenText !== staleText(summary.last_seen, now)) {
        this.dirty.add(name);
      }
    }
    this.schedule();
  }

  show() {
    this.visible = true;
    this.section.hidden = false;
    this.schedule();
  }

  hide() {
    this.visible = false;
    this.section.hidden = true;
  }

  schedule() {
    if (!this.frame && this.visible) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    if (this.reorder) this.placeRows();
    const now = this.now();
    for (const name of this.dirty) {
      const row = this.rows.get(name);
      if (row) this.render(row, this.history.get(name), now);
    }
    this.dirty.clear();
    const names = this.history.names();
    const stale = names.filter((n) => this.history.get(n).summary.stale).length;
    this.count.textContent = `${names.length} host${names.length === 1 ? "" : "s"}`
      + (stale ? ` · ${stale} stale` : "");
    this.empty.hidden = names.length > 0;
    this.section.dataset.hosts = String(names.length);
  }

  /** Rows in name order; a new host gets its row (drawn at once). */
  placeRows() {
    this.reorder = false;
    const rows = this.history.names().map((name) => {
      let row = this.rows.get(name);
      if (!row) {
        row = this.makeRow(name);
        this.rows.set(name, row);
        this.dirty.add(name);
      }
      return row.tr;
    });
    const current = [...this.body.children];
    if (rows.length !== current.length || rows.some((tr, i) => tr !== current[i])) {
      this.body.replaceChildren(...rows);
    }
  }

  makeRow(name) {
    const tr = element("tr", "fleet-row");
    tr.tabIndex = 0;
    tr.dataset.host = name;
    tr.title = `Open ${name}'s dashboard`;
    const hostCell = element("th", "col-host");
    hostCell.scope = "row";
    const link = element("a", "fleet-host", name);
    link.href = this.hrefOf(name);
    link.tabIndex = -1; // the row is the tab stop; the link is for a new tab or a copy
    const badge = element("span", "stale-badge", "stale");
    badge.hidden = true;
    const seen = element("span", "fleet-seen");
    const names = element("div", "host-cell");
    names.append(link, badge, seen);
    hostCell.append(names);
    tr.append(hostCell);
    const cells = FLEET_METRICS.map((metric) => {
      const td = element("td", `col-metric col-${metric.key}`);
      const value = element("span", "metric-value", "—");
      const svg = svgElement("svg", "spark");
      svg.setAttribute("viewBox", `0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`);
      svg.setAttribute("preserveAspectRatio", "none");
      svg.setAttribute("aria-hidden", "true");
      const area = svgElement("path", "spark-area");
      const line = svgElement("path", "spark-line");
      svg.append(area, line);
      const text = element("span", "metric-text");
      text.append(value);
      let note = null;
      if (metric.key === "filesystem") {
        note = element("span", "metric-note");
        text.append(note);
      }
      td.append(text, svg);
      return { metric, td, value, note, line, area };
    });
    tr.append(...cells.map((c) => c.td));
    return { tr, badge, seen, seenText: null, cells };
  }

  render(row, { summary, ring }, now) {
    const stale = Boolean(summary.stale);
    row.tr.classList.toggle("is-stale", stale);
    row.tr.dataset.stale = String(stale);
    row.badge.hidden = !stale;
    row.seenText = stale ? staleText(summary.last_seen, now) : null;
    row.seen.textContent = row.seenText || "";
    row.seen.hidden = !stale;
    if (typeof summary.last_seen === "number") {
      row.seen.title = `last sample ${new Date(summary.last_seen * 1000).toLocaleString()}`;
    }
    const last = ring.last();
    const geometry = { width: SPARK_WIDTH, height: SPARK_HEIGHT,
      span: sparkSpan(ring, RING_POINTS * this.every), end: last ? last.ts : now,
      gap: Math.max(5, 3 * this.every) };
    const points = ring.toArray();
    row.cells.forEach((cell, i) => {
      const value = cell.metric.value(summary);
      cell.value.textContent = metricText(cell.metric, value);
      cell.td.dataset.level = metricLevel(cell.metric, value);
      if (cell.note) {
        const mount = summary.filesystem?.mount;
        cell.note.textContent = mount ? mountPath(mount) : "";
        cell.td.title = mount ? `fullest filesystem: ${mountPath(mount)} (${mount})` : "";
      }
      const { line, area } = sparkPath(points, i, cell.metric, geometry);
      cell.line.setAttribute("d", line);
      cell.area.setAttribute("d", area);
    });
  }

  hostOf(event) {
    return event.target.closest?.("tr[data-host]")?.dataset.host || null;
  }

  onClick(event) {
    const host = this.hostOf(event);
    if (!host) return;
    // A modified click on the link opens a new tab, as a link does.
    const link = event.target.closest("a");
    if (link && (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0)) return;
    event.preventDefault();
    this.onOpen(host);
  }

  onKey(event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    if (!event.target.matches?.("tr[data-host]")) return;
    event.preventDefault();
    this.onOpen(event.target.dataset.host);
  }
}
