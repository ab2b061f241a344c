// Which chart a series goes on, and the charts' titles. Most collectors get one chart per
// unit (cpu's per-core series on a chart of their own). The cgroups collector sends six
// series per service, container or session: grouped by unit, CPU % and memory % would share
// a chart, so its charts go by metric instead (CPU, memory, disk I/O, processes, and a
// container's network), each with every group as a line; memory % (of the limit) is in the
// table's tooltip, not charted.
// With many groups only the busiest TOP_LINES are drawn (re-ranked now and then): a host
// with 200 services would otherwise redraw 200 lines a chart every second, and the table
// has the rest. Pure (no DOM).

export const TOP_LINES = 8;

const TITLES = {
  cpu: "CPU", memory: "Memory", load: "Load", disk: "Disk", filesystem: "Filesystem",
  network: "Network", processes: "Processes", cgroups: "Services and containers",
  sensors: "Sensors",
};

// cgroups.<group>.<metric>: the chart each metric is drawn on (null: not charted).
const GROUP_CHARTS = {
  cpu_percent: { part: "cpu", title: "CPU" },
  memory: { part: "memory", title: "memory" },
  memory_percent: null,
  io_read_bytes_per_s: { part: "io", title: "disk I/O" },
  io_write_bytes_per_s: { part: "io", title: "disk I/O" },
  pids: { part: "pids", title: "processes" },
  net_rx_bytes_per_s: { part: "net", title: "network" }, // containers with a namespace
  net_tx_bytes_per_s: { part: "net", title: "network" },
};

export function collectorTitle(name) {
  if (TITLES[name]) return TITLES[name];
  const words = name.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The chart a series ({name, unit}) of `collector` belongs to, {key, title, peers, top}, or
 * null for a series no chart draws. `peers`: its series are equals (cores, groups): no line
 * leads, the highest is the headline; `top`: how many of them are drawn (the highest). */
export function familyOf(collector, series) {
  const title = collectorTitle(collector);
  if (collector === "cgroups") {
    const metric = series.name.slice(series.name.lastIndexOf(".") + 1);
    const chart = GROUP_CHARTS[metric];
    if (chart === null) return null;
    if (chart) {
      return { key: `${collector}|${chart.part}`, title: `${title}: ${chart.title}`, peers: true,
        top: TOP_LINES };
    }
  }
  if (/\.core\d+$/.test(series.name)) {
    return { key: `${collector}|${series.unit}|cores`, title: `${title} cores`, peers: true,
      top: Infinity };
  }
  return { key: `${collector}|${series.unit}`, title, peers: false, top: Infinity };
}

/** Which of `latest` (a value or null per line) are the `top` highest: a Set of indexes;
 * lines with no value yet come last, ties by index. */
export function highest(latest, top) {
  if (latest.length <= top) return new Set(latest.keys());
  const order = [...latest.keys()].sort((a, b) => (latest[b] ?? -Infinity)
    - (latest[a] ?? -Infinity) || a - b);
  return new Set(order.slice(0, top));
}
