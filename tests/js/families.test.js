import assert from "node:assert/strict";
import { test } from "node:test";

import { TOP_LINES, collectorTitle, familyOf, highest } from "../../static/js/families.js";

const series = (name, unit) => ({ name, unit });

test("most collectors get a chart per unit, cores one of their own", () => {
  assert.deepEqual(familyOf("memory", series("memory.used", "bytes")),
    { key: "memory|bytes", title: "Memory", peers: false, top: Infinity });
  assert.deepEqual(familyOf("cpu", series("cpu.core3", "%")),
    { key: "cpu|%|cores", title: "CPU cores", peers: true, top: Infinity });
  assert.deepEqual(familyOf("my_plugin", series("my_plugin.x", "ops/s")),
    { key: "my_plugin|ops/s", title: "My plugin", peers: false, top: Infinity });
});

test("cgroups go by metric: CPU and memory % never share a chart", () => {
  const of = (metric, unit) => familyOf("cgroups", series(`cgroups.nginx.${metric}`, unit));
  assert.equal(of("cpu_percent", "%").key, "cgroups|cpu");
  assert.equal(of("cpu_percent", "%").title, "Services and containers: CPU");
  assert.equal(of("cpu_percent", "%").peers, true, "the busiest group is the headline");
  assert.equal(of("memory", "bytes").top, TOP_LINES, "only the busiest groups are drawn");
  assert.equal(of("memory", "bytes").key, "cgroups|memory");
  assert.equal(of("memory_percent", "%"), null); // the table's tooltip has it
  assert.equal(of("io_read_bytes_per_s", "bytes/s").key, "cgroups|io");
  assert.equal(of("io_write_bytes_per_s", "bytes/s").key, "cgroups|io");
  assert.equal(of("pids", "procs").key, "cgroups|pids");
  assert.equal(of("net_rx_bytes_per_s", "bytes/s").key, "cgroups|net");
  assert.equal(of("net_tx_bytes_per_s", "bytes/s").title, "Services and containers: network");
});

test("a cgroups series of a metric it does not know goes by its unit", () => {
  assert.deepEqual(familyOf("cgroups", series("cgroups.nginx.something_new", "bytes/s")),
    { key: "cgroups|bytes/s", title: "Services and containers", peers: false, top: Infinity });
  assert.equal(collectorTitle("cgroups"), "Services and containers");
});

test("highest: the top values' indexes, lines without a value last, ties by index", () => {
  assert.deepEqual([...highest([5, 1, 9, null, 7], 3)].sort(), [0, 2, 4]);
  assert.deepEqual([...highest([null, 2, null], 2)].sort(), [0, 1]);
  assert.deepEqual([...highest([3, 3, 3, 3], 2)].sort(), [0, 1]);
  assert.deepEqual([...highest([1, 2], 8)].sort(), [0, 1], "fewer lines than top: all");
});
