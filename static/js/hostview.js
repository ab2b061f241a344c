// One host's dashboard: its collectors' chart cards (built from each subscribe ack's series
// when the page did not know them), a channel per collector subscribed with the host's name,
// the live tables (top processes; top services and containers), the charts' synced zoom
// (zoom.js) and compare lines (compare.js), and the process snapshots a click on a chart
// asks for. Closing it frees the charts and
// unsubscribes, so the page can show another host on the same connection.

import { ChartBoard } from "./charts.js";
import { Compare } from "./compare.js";
import { healthProblem } from "./health.js";
import { GROUPS, PROCESSES, ProcessTable } from "./processes.js";
import { Zoom } from "./zoom.js";

export class HostDashboard {
  /**
   * grid: where the cards go; host: the host's name; page: the server's constants;
   * window: the seconds shown; order: views.js cardOrder(); onFlush(ts) after each redraw;
   * onZoom(range or null) when the charts zoom or go back to live; onPick(ts) for a click
   * on a chart.
   */
  constructor({ grid, connection, host, page, window, order, onFlush, onZoom, onPick }) {
    this.grid = grid;
    this.connection = connection;
    this.host = host;
    this.page = page;
    this.window = window;
    this.order = order;
    this.channels = new Map();
    this.tables = [];
    this.board = new ChartBoard({ grid, window, steps: page.bucket_steps,
      points: page.max_points, onFlush: (ts) => {
        onFlush(ts);
        this.compare?.tick(ts);
      } });
    const shared = { board: this.board, channels: this.channels, host,
      limits: page.range_points };
    this.zoom = new Zoom({ ...shared, onChange: (range) => {
      this.compare.refresh();
      onZoom(range);
    } });
    this.compare = new Compare({ ...shared, zoom: this.zoom, window });
    this.board.listen({ onZoom: (range) => this.zoom.zoomTo(range),
      onLive: () => this.zoom.live(), onPick });
  }

  has(name) {
    return this.channels.has(name);
  }

  /** Cards and a channel for a collector ({name, namespace?, interval?, series?, health?}). */
  add(collector) {
    if (this.channels.has(collector.name)) return;
    this.board.addCollector(collector, this.order.of(collector.name));
    this.channels.set(collector.name, this.wire(collector));
  }

  wire(collector) {
    const board = this.board;
    let table = null;
    const channel = this.connection.channel(collector.namespace || `/${collector.name}`, {
      onAck: (ack) => {
        board.configure(collector.name, { interval: ack.interval });
        board.setSeries(collector.name, ack.series || []);
        this.zoom.subscribed(collector.name);
        this.compare.subscribed(collector.name);
      },
      // Zoomed, the charts show the range: live history waits for the way back (Live).
      onReset: (window) => this.zoom.active || board.reset(collector.name, window),
      onSeries: (series) => board.setSeries(collector.name, series),
      onError: (message) => board.setAlert(collector.name, "subscribe", message),
      onFilter: (ack) => table?.filterAck(ack),
      onSamples: (samples) => {
        if (this.zoom.active) board.noteLatest(collector.name, samples);
        else board.push(collector.name, samples);
        const last = samples.at(-1);
        if (table && last?.rows) table.rows(last.rows);
      },
    }, this.window, this.host);
    const kind = this.tableOf(collector.name);
    if (kind) {
      table = new ProcessTable({ ...kind, live: true, maxLimit: this.page.process_max_limit,
        onFilter: (filter) => channel.setFilter(filter) });
      board.insert(table.card, kind.place);
      this.tables.push(table);
      channel.setFilter(table.initialFilter);
    }
    return channel;
  }

  /** The live table a collector's rows fill (or null): the processes', then beside it the
   * services and containers' (cgroups), both after the memory charts. */
  tableOf(name) {
    if (name === "processes") {
      return { kind: PROCESSES, sorts: this.page.process_sorts, place: this.order.table };
    }
    if (name === "cgroups") {
      return { kind: GROUPS, sorts: this.page.cgroup_sorts, place: this.order.table + 0.01,
        id: "services", title: "Top services and containers" };
    }
    return null;
  }

  /** Each channel starts over with the new window's history; its charts follow on the ack. */
  setWindow(seconds) {
    this.window = seconds;
    this.zoom.live({ restart: false }); // a window is live: the subscribes below restart
    for (const channel of this.channels.values()) channel.setWindow(seconds);
    this.compare.setWindow(seconds);
  }

  /** Show `range` ({start, end}, unix s) on every chart, from the server's history. */
  zoomTo(range) {
    this.zoom.zoomTo(range);
  }

  /** Back to the live window. */
  live() {
    this.zoom.live();
  }

  /** Compare lines `offset` seconds earlier (0: none), named `label`. */
  setCompare(offset, label) {
    this.compare.set(offset, label);
  }

  /** A `snapshot` request on /processes for this host ({ts, filter}): its ack. */
  snapshot(payload) {
    const channel = this.channels.get("processes");
    if (!channel) return Promise.resolve({ ok: false, error: "this host has no process list" });
    return channel.request("snapshot", { ...payload, host: this.host });
  }

  /** The collectors' health (this process's own, from /healthz) on their cards. */
  setHealth(collectors) {
    for (const [name, health] of Object.entries(collectors)) {
      this.board.setAlert(name, "health", healthProblem(health));
    }
  }

  /** The page's theme changed: the charts take its colours. */
  setTheme() {
    this.board.setTheme();
  }

  /** The alerts ({rules, alerts, transitions}) drawn on this host's charts. */
  setAlerts(state) {
    this.board.setAlerts({ ...state, host: this.host });
  }

  /** The card of a series (an alert's chart), or null while it is not on the page. */
  cardOf(series) {
    return this.board.cardOf(series);
  }

  close() {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
    for (const table of this.tables) {
      table.stop();
      table.card.remove();
    }
    this.tables = [];
    this.board.destroy();
  }
}
