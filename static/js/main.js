// Entry point: builds the page from the collector list embedded in it, then wires the
// connection, the charts, the process table and the health strip together.

import { ChartBoard } from "./charts.js";
import { Connection } from "./connection.js";
import { formatClock } from "./format.js";
import { HealthStrip, healthProblem } from "./health.js";
import { ProcessTable } from "./processes.js";

const WINDOW_SECONDS = 300;

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

function wire(connection, board, collector, tableOrder, host) {
  let table = null;
  const channel = connection.channel(collector.namespace || `/${collector.name}`, {
    onAck: (ack) => board.setSeries(collector.name, ack.series || []),
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
  }, WINDOW_SECONDS);
  if (collector.name === "processes") {
    table = new ProcessTable({ onFilter: (filter) => channel.setFilter(filter) });
    board.insert(table.card, tableOrder);
    channel.setFilter(table.initialFilter);
  }
}

function main() {
  const config = readConfig();
  const badge = document.getElementById("connection");
  const updated = document.getElementById("updated");
  const board = new ChartBoard({
    grid: document.getElementById("charts"),
    window: WINDOW_SECONDS,
    onFlush: (ts) => {
      if (ts !== null) updated.textContent = `last sample ${formatClock(new Date(ts * 1000))}`;
    },
  });
  config.collectors.forEach((collector, i) => board.addCollector(collector, i));

  const connection = new Connection({ onState: (state) => showState(badge, state) });
  const names = config.collectors.map((c) => c.name);
  const tableOrder = (names.includes(TABLE_AFTER) ? names.indexOf(TABLE_AFTER)
    : names.indexOf("processes")) + 0.5;
  for (const collector of config.collectors) {
    wire(connection, board, collector, tableOrder, config.host);
  }
  connection.update();

  const health = new HealthStrip({
    strip: document.getElementById("health"),
    onHealth: (collectors) => {
      for (const [name, h] of Object.entries(collectors)) {
        board.setAlert(name, "health", healthProblem(h));
      }
    },
  });
  health.start(Object.fromEntries(config.collectors.map((c) => [c.name, c.health || {}])));
}

main();
