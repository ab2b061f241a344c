import assert from "node:assert/strict";
import { test } from "node:test";

import { collectorTitle, familyOf } from "../../static/js/families.js";

const series = (name, unit) => ({ name, unit });

test("most collectors get a chart per unit, cores one of their own", () => {
  assert.deepEqual(familyOf("memory", series("memory.used", "bytes")),
    { key: "memory|bytes", title: "Memory", peers: false });
  assert.deepEqual(familyOf("cpu", series("cpu.core3", "%")),
    { key: "cpu|%|cores", title: "CPU cores", peers: true });
  assert.deepEqual(familyOf("my_plugin", series("my_plugin.x", "ops/s")),
    { key: "my_plugin|ops/s", title: "My plugin", peers: false });
});

test("cgroups go by metric: CPU and memory % never share a chart", () => {
  const of = (metric, unit) => familyOf("cgroups", series(`cgroups.nginx.${metric}`, unit));
  assert.equal(of("cpu_percent", "%").key, "cgroups|cpu");
  assert.equal(of("cpu_percent", "%").title, "Services and containers: CPU");
  assert.equal(of("cpu_percent", "%").peers, true, "the busiest group is the headline");
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
    { key: "cgroups|bytes/s", title: "Services and containers", peers: false });
  assert.equal(collectorTitle("cgroups"), "Services and containers");
});
