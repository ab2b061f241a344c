// Entry point: builds the page from the config embedded in it (the collector list, and in
// `page` the server's constants: time windows, bucket widths, the span kept in memory, the
// process sort keys), then wires the connection, the charts, the process table, the
// time-window picker and the health strip together.

import { ChartBoard } from "./charts.js";
import { Connection } from "./connection.js";
import { formatClock } from "./format.js";
import { HealthStrip, HistoryBanner, PluginBanner, healthProblem } from "./health.js";
import { ProcessTable } from "./processes.js";
import { WindowPicker, initialWindow, rememberWindow, windowByKey } from "./timewindow.js";

function readConfig() {
  const block = document.getElementById("dashboard-config");
  return JSON.parse(block.textContent);
}

function showState(badge, state) {
  badge.dataset.state = state.name;
  badge.querySelector(".badge-text").textContent = state.name;
  badge.title = state.detail ? `${state.name}: ${state.detail}` : state.name;
  document.body.dataset.connection = state.name;
}

// The process table sits near the top, after the memory charts: on a wall screen "what is
// using the machine" belongs next to CPU and memory.
const TABLE_AFTER = "memory";

function wire(connection, board, collector, { tableOrder, host, sorts, maxLimit, seconds }) {
  let table = null;
  const channel = connection.channel(collector.namespace || `/${collector.name}`, {
    onAck: (ack) => board.setSeries(collector.name, ack.series || []),
    onReset: (window) => board.reset(collector.name, window),
    onSeries: (series) => board.setSeries(collector.name, series),
    onError: (message) => board.setAlert(collector.name, "subscribe", message),
    onFilter: (ack) => table?.filterAck(ack),
    onSamples: (samples) => {
      // One page shows one host; with a shared message queue others may pass through.
      const mine = samples.filter((s) => !s.host || s.host === host);
      board.push(collector.name, mine);
      const last = mine.at(-1);
      if (table && last?.rows) table.rows(last.rows);
    },
  }, seconds);
  if (collector.name === "processes") {
    table = new ProcessTable({ sorts, maxLimit, onFilter: (filter) => channel.setFilter(filter) });
    board.insert(table.card, tableOrder);
    channel.setFilter(table.initialFilter);
  }
  return channel;
}

function main() {
  const config = readConfig();
  const { page } = config;
  const secondsOf = (key) => windowByKey(page.windows, key).seconds;
  const badge = document.getElementById("connection");
  const updated = document.getElementById("updated");
  const chosen = initialWindow(page.windows, page.default_window);
  const board = new ChartBoard({
    grid: document.getElementById("charts"),
    window: secondsOf(chosen),
    steps: page.bucket_steps,
    points: page.max_points,
    onFlush: (ts) => {
      if (ts !== null) updated.textContent = `last sample ${formatClock(new Date(ts * 1000))}`;
    },
  });
  config.collectors.forEach((collector, i) => board.addCollector(collector, i));

  const connection = new Connection({
    memoryWindow: page.memory_window,
    onState: (state) => showState(badge, state),
  });
  const names = config.collectors.map((c) => c.name);
  const tableOrder = (names.includes(TABLE_AFTER) ? names.indexOf(TABLE_AFTER)
    : names.indexOf("processes")) + 0.5;
  const channels = config.collectors.map((collector) => wire(connection, board, collector,
    { tableOrder, host: config.host, sorts: page.process_sorts,
      maxLimit: page.process_max_limit, seconds: secondsOf(chosen) }));
  connection.update();

  // Each channel starts over with the new window's history; its charts follow on the ack.
  new WindowPicker({
    group: document.getElementById("window"),
    selected: chosen,
    onChange: (key) => {
      rememberWindow(key);
      for (const channel of channels) channel.setWindow(secondsOf(key));
    },
  });

  const banner = new HistoryBanner(document.getElementById("history-banner"));
  const pluginBanner = new PluginBanner(document.getElementById("plugin-banner"));
  const health = new HealthStrip({
    strip: document.getElementById("health"),
    onHealth: (collectors) => {
      for (const [name, h] of Object.entries(collectors)) {
        board.setAlert(name, "health", healthProblem(h));
      }
    },
    onHistory: (history) => banner.show(history),
    onPlugins: (errors) => pluginBanner.show(errors),
  });
  health.start(Object.fromEntries(config.collectors.map((c) => [c.name, c.health || {}])));
}

main();
