// static/js/fleetdata.js: the ring buffer, a fleet row's values, its points per host, the
// sparkline geometry, and the wording for a host that went quiet.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { FLEET_METRICS, FleetHistory, Ring, metricLevel, metricText, mountPath, sortHosts,
  sparkPath, sparkScale, sparkSpan, staleText } from "../../static/js/fleetdata.js";

const metric = (key) => FLEET_METRICS.find((m) => m.key === key);

function summary(host, lastSeen, values = {}) {
  return { host, last_seen: lastSeen, stale: false, cpu: 10, memory: 20, load_per_core: 0.5,
    filesystem: { mount: "root", used_percent: 30 }, net_in: 100, net_out: 200, ...values };
}

describe("Ring", () => {
  it("keeps items oldest first until it is full", () => {
    const ring = new Ring(3);
    ring.push(1);
    ring.push(2);
    assert.deepEqual(ring.toArray(), [1, 2]);
    assert.equal(ring.length, 2);
    assert.equal(ring.last(), 2);
  });

  it("drops the oldest once full, however many are pushed", () => {
    const ring = new Ring(3);
    for (let i = 1; i <= 10; i += 1) ring.push(i);
    assert.deepEqual(ring.toArray(), [8, 9, 10]);
    assert.equal(ring.length, 3);
    assert.equal(ring.at(0), 8);
    assert.equal(ring.at(-1), 10);
    assert.equal(ring.at(3), undefined);
    assert.equal(ring.at(-4), undefined);
  });

  it("is empty at first", () => {
    const ring = new Ring(5);
    assert.deepEqual(ring.toArray(), []);
    assert.equal(ring.last(), undefined);
  });

  it("refuses a capacity below one", () => {
    assert.throws(() => new Ring(0), /at least 1/);
  });
});

describe("metricText and metricLevel", () => {
  it("shows percents, load per core and binary byte rates", () => {
    assert.equal(metricText(metric("cpu"), 43.367), "43.4 %");
    assert.equal(metricText(metric("load"), 0.183), "0.18");
    assert.equal(metricText(metric("net_in"), 1536), "1.5 KiB/s");
    assert.equal(metricText(metric("net_out"), 3 * 1024 ** 2), "3 MiB/s");
  });

  it("shows a dash for no value", () => {
    for (const value of [null, undefined, NaN, Infinity]) {
      assert.equal(metricText(metric("cpu"), value), "—");
      assert.equal(metricLevel(metric("cpu"), value), "none");
    }
  });

  it("colours by the metric's levels", () => {
    assert.equal(metricLevel(metric("cpu"), 50), "ok");
    assert.equal(metricLevel(metric("cpu"), 75), "warn");
    assert.equal(metricLevel(metric("cpu"), 95), "bad");
    assert.equal(metricLevel(metric("net_in"), 1e12), "ok"); // no levels for rates
  });
});

describe("mountPath and sortHosts", () => {
  it("turns the collector's mount names back into paths", () => {
    assert.equal(mountPath("root"), "/");
    assert.equal(mountPath("_srv_data"), "/srv/data");
    assert.equal(mountPath(""), "");
    assert.equal(mountPath(undefined), "");
  });

  it("sorts host names with numbers as numbers", () => {
    assert.deepEqual(sortHosts(["web-10", "db-1", "web-2", "web-1"]),
      ["db-1", "web-1", "web-2", "web-10"]);
  });
});

describe("FleetHistory", () => {
  it("adds a point per host when its last_seen moves on, with one value per metric", () => {
    const fleet = new FleetHistory({ capacity: 10 });
    const first = fleet.update([summary("b", 100), summary("a", 100)]);
    assert.deepEqual([...first.changed].sort(), ["a", "b"]);
    assert.deepEqual([...first.added].sort(), ["a", "b"]);
    assert.deepEqual(fleet.names(), ["a", "b"]);
    const [point] = fleet.get("a").ring.toArray();
    assert.equal(point.ts, 100);
    assert.deepEqual(point.values, [10, 20, 0.5, 30, 100, 200]);
  });

  it("changes nothing for a host whose data did not move (a quiet host)", () => {
    const fleet = new FleetHistory({ capacity: 10 });
    fleet.update([summary("a", 100), summary("b", 100)]);
    const next = fleet.update([summary("a", 101, { cpu: 11 }), summary("b", 100)]);
    assert.deepEqual([...next.changed], ["a"]);
    assert.equal(fleet.get("a").ring.length, 2);
    assert.equal(fleet.get("b").ring.length, 1);
  });

  it("redraws a host that turns stale even without a new point", () => {
    const fleet = new FleetHistory();
    fleet.update([summary("a", 100)]);
    const next = fleet.update([summary("a", 100, { stale: true })]);
    assert.deepEqual([...next.changed], ["a"]);
    assert.equal(fleet.get("a").summary.stale, true);
  });

  it("keeps a bounded ring per host", () => {
    const fleet = new FleetHistory({ capacity: 5 });
    for (let t = 1; t <= 50; t += 1) fleet.update([summary("a", t)]);
    assert.deepEqual(fleet.get("a").ring.toArray().map((p) => p.ts), [46, 47, 48, 49, 50]);
  });

  it("records a missing value as null, and never a point without a time", () => {
    const fleet = new FleetHistory();
    fleet.update([summary("a", 1, { cpu: null, filesystem: null, net_in: NaN })]);
    fleet.update([summary("a", null)]);
    const points = fleet.get("a").ring.toArray();
    assert.equal(points.length, 1);
    assert.deepEqual(points[0].values, [null, 20, 0.5, null, null, 200]);
  });

  it("forgets hosts a push no longer lists", () => {
    const fleet = new FleetHistory();
    fleet.update([summary("a", 1), summary("b", 1)]);
    const next = fleet.update([summary("a", 2)]);
    assert.deepEqual([...next.removed], ["b"]);
    assert.deepEqual(fleet.names(), ["a"]);
  });
});

describe("sparkScale and sparkSpan", () => {
  it("keeps percents on 0-100 and scales rates to their highest point", () => {
    assert.deepEqual(sparkScale(metric("cpu"), [1, 2]), [0, 100]);
    assert.deepEqual(sparkScale(metric("net_in"), [10, 20000, null]), [0, 22000]);
    assert.deepEqual(sparkScale(metric("net_in"), [10]), [0, 1024 * 1.1]); // its floor
    assert.deepEqual(sparkScale(metric("load"), [0.1]), [0, 1.1]);
  });

  it("spans what the ring holds, from half a minute up to the whole ring", () => {
    const ring = new Ring(400);
    ring.push({ ts: 1000 });
    assert.equal(sparkSpan(ring, 300), 30);
    ring.push({ ts: 1120 });
    assert.equal(sparkSpan(ring, 300), 120);
    ring.push({ ts: 2000 });
    assert.equal(sparkSpan(ring, 300), 300);
    assert.equal(sparkSpan(new Ring(1), 300), 30);
  });
});

describe("sparkPath", () => {
  const box = { width: 100, height: 20, span: 100, end: 100, gap: 60, pad: 0 };
  const points = (...rows) => rows.map(([ts, v]) => ({ ts, values: [v] }));
  const cpu = metric("cpu");

  it("maps time to x (the end at the right edge) and the value to y (0 at the bottom)", () => {
    const { line, area } = sparkPath(points([0, 0], [50, 50], [100, 100]), 0, cpu, box);
    assert.equal(line, "M0 20L50 10L100 0");
    assert.equal(area, "M0 20L0 20L50 10L100 0L100 20Z");
  });

  it("leaves out points older than the span", () => {
    const { line } = sparkPath(points([-50, 10], [90, 50], [100, 50]), 0, cpu, box);
    assert.equal(line, "M90 10L100 10");
  });

  it("breaks the line at a missing value and at a pause longer than the gap", () => {
    const { line } = sparkPath(points([80, 0], [81, null], [82, 0], [83, 0], [95, 0], [96, 0]),
      0, cpu, { ...box, gap: 5 });
    assert.equal(line, "M80 20L80 20M82 20L83 20M95 20L96 20"); // a lone point: a dot
  });

  it("draws nothing without a value", () => {
    assert.deepEqual(sparkPath([], 0, cpu, box), { line: "", area: "" });
    assert.deepEqual(sparkPath(points([90, null]), 0, cpu, box), { line: "", area: "" });
  });

  it("clamps values outside the scale to its edges", () => {
    const { line } = sparkPath(points([99, -5], [100, 150]), 0, cpu, box);
    assert.equal(line, "M99 20L100 0");
  });

  it("keeps the padding off the edges", () => {
    const { line } = sparkPath(points([100, 100]), 0, cpu, { ...box, pad: 2 });
    assert.equal(line, "M100 2L100 2");
  });
});

describe("staleText", () => {
  const clock = (date) => date.toISOString().slice(11, 19);
  const day = (date) => date.toISOString().slice(0, 10);
  const base = Date.UTC(2024, 5, 1, 14, 2, 11) / 1000;

  it("says how long ago within the hour", () => {
    assert.equal(staleText(base, base + 14.7, { clock }), "last seen 14 s ago");
    assert.equal(staleText(base, base + 185, { clock }), "last seen 3 min ago");
    assert.equal(staleText(base, base + 3599, { clock }), "last seen 59 min ago");
  });

  it("gives the time within the day, and the date before", () => {
    assert.equal(staleText(base, base + 3 * 3600, { clock, day }), "last seen 14:02:11");
    assert.equal(staleText(base, base + 2 * 86400, { clock, day }),
      "last seen 2024-06-01 14:02:11");
  });

  it("copes with a clock behind the server's, and with no time at all", () => {
    assert.equal(staleText(base, base - 30, { clock }), "last seen 0 s ago");
    assert.equal(staleText(null, base), "never seen");
  });
});
