// static/js/alertsdata.js: globs as the server reads them, the alert list under pushes, the
// badge's counts, the panel's groups, firing bands and each chart's overlay.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { addTransition, alertKey, applyAck, applySilences, applyTransition, badgeCounts,
  chartOverlay, collectorOf,
  escapeGlob, firingBands, globMatch, panelGroups, restartMarks,
  silenceMatchers, silenceMatches, thresholdLines, wordedMarks } from "../../static/js/alertsdata.js";
import { formatDuration } from "../../static/js/format.js";

const COLORS = { warn: "#e3b341", crit: "#f85149", ok: "#3fb950", pending: "#93a0b4" };
const RULES = [
  { name: "fs-full", kind: "threshold", series: "filesystem.*.used_percent", host: "*",
    warn: 90, crit: 95, clear: 88, below: false },
  { name: "db-mem", kind: "threshold", series: "memory.used_percent", host: "db-?",
    warn: 80, crit: null, clear: null, below: false },
  { name: "stale", kind: "stale", series: "*", host: "*", warn: null, crit: null },
];

function alert(state, values = {}) {
  return { rule: "fs-full", host: "web-1", series: "filesystem.root.used_percent", state,
    value: 91, threshold: 90, since: 100, summary: "", unit: "%", silenced: null,
    acked: false, ...values };
}

function move(from, state, ts, values = {}) {
  return { rule: "fs-full", host: "web-1", series: "filesystem.root.used_percent", from,
    state, value: 91, threshold: 90, since: ts, ts, ...values };
}

describe("globMatch (fnmatchcase)", () => {
  it("matches * across dots, ? as one character, sets and negated sets", () => {
    assert.ok(globMatch("filesystem.*.used_percent", "filesystem.root.used_percent"));
    assert.ok(globMatch("filesystem.*.used_percent", "filesystem.var.lib.used_percent"));
    assert.ok(!globMatch("filesystem.*.used_percent", "filesystem.root.free"));
    assert.ok(globMatch("db-?", "db-1") && !globMatch("db-?", "db-12"));
    assert.ok(globMatch("core[0-3]", "core2") && !globMatch("core[0-3]", "core7"));
    assert.ok(globMatch("core[!0]", "core1") && !globMatch("core[!0]", "core0"));
    assert.ok(globMatch("*", "") && globMatch("*", "anything at all"));
  });

  it("reads every other character literally, a lone [ included", () => {
    assert.ok(globMatch("a.b", "a.b") && !globMatch("a.b", "axb"));
    assert.ok(globMatch("x[", "x[") && globMatch("(a)+$^", "(a)+$^"));
    assert.ok(globMatch("[]]", "]") && globMatch("[^]", "^"));
    assert.ok(!globMatch("Web", "web"), "case-sensitive, as fnmatchcase");
  });

  it("escapeGlob makes a name match only itself", () => {
    const name = "disk[1]*?";
    assert.ok(globMatch(escapeGlob(name), name));
    assert.ok(!globMatch(escapeGlob(name), "disk1xx"));
  });
});

describe("silences", () => {
  it("match on every matcher they name; a missing one matches all", () => {
    const a = alert("warning");
    assert.ok(silenceMatches({ matchers: { rule: "fs-*" } }, a));
    assert.ok(silenceMatches({ matchers: {} }, a));
    assert.ok(!silenceMatches({ matchers: { rule: "fs-*", host: "db-*" } }, a));
  });

  it("are made for the alert, its rule on its host, or the whole rule", () => {
    const a = alert("warning", { series: "disk[0].busy" });
    assert.deepEqual(silenceMatchers(a), { rule: "fs-full", host: "web-1",
      series: "disk[[]0].busy" });
    assert.deepEqual(silenceMatchers(a, "host"), { rule: "fs-full", host: "web-1" });
    assert.deepEqual(silenceMatchers(a, "rule"), { rule: "fs-full" });
    assert.ok(silenceMatches({ matchers: silenceMatchers(a) }, a));
  });
});

describe("silences and acks pushed", () => {
  const root = alert("critical");
  const home = alert("warning", { series: "filesystem.home.used_percent", silenced: "s1" });
  const s1 = { id: "s1", matchers: { series: "*.home.*" } };
  const s2 = { id: "s2", matchers: { rule: "fs-*" } };

  it("a new silence holds what it matches; one still active keeps its own", () => {
    const after = applySilences([root, home], [s1, s2]);
    assert.deepEqual(after.map((a) => a.silenced), ["s2", "s1"]);
    assert.equal(after[1], home, "unchanged: the same object");
  });

  it("an ended or expired silence lets go, unless another one matches", () => {
    assert.deepEqual(applySilences([root, home], [s2]).map((a) => a.silenced), ["s2", "s2"]);
    const none = applySilences([root, home], []);
    assert.deepEqual(none.map((a) => a.silenced), [null, null]);
    assert.equal(none[0], root);
  });

  it("an ack marks its alert only, once", () => {
    const news = { rule: root.rule, host: root.host, series: root.series, acked: true,
      by: "socket from 10.0.0.2" };
    const after = applyAck([root, home], news);
    assert.deepEqual(after.map((a) => a.acked), [true, false]);
    assert.equal(applyAck(after, news), after, "already acked: the same list");
    assert.equal(applyAck([home], news).length, 1, "an unknown alert adds nothing");
  });
});

describe("thresholdLines", () => {
  it("draws each matching rule's levels once per chart, on matching hosts only", () => {
    const series = ["filesystem.root.used_percent", "filesystem.home.used_percent"];
    assert.deepEqual(thresholdLines(RULES, "web-1", series), [
      { rule: "fs-full", level: "crit", value: 95, below: false, label: "crit 95" },
      { rule: "fs-full", level: "warn", value: 90, below: false, label: "warn 90" },
    ]);
    assert.deepEqual(thresholdLines(RULES, "web-1", ["memory.used_percent"]), []);
    assert.deepEqual(thresholdLines(RULES, "db-1", ["memory.used_percent"]),
      [{ rule: "db-mem", level: "warn", value: 80, below: false, label: "warn 80" }]);
  });

  it("ignores rules of other kinds, thresholds or not (stale, failing)", () => {
    const failing = { name: "failing", kind: "failing", series: "*", host: "*", warn: 5 };
    assert.deepEqual(thresholdLines([RULES[2], failing], "web-1", ["cpu.total"]), []);
  });

  it("draws a per-core rule times the host's cores, once they are known", () => {
    const load = { name: "load", kind: "threshold", series: "load.15m", host: "*", warn: 2,
      crit: 4, per_core: true };
    assert.deepEqual(thresholdLines([load], "h", ["load.15m"]), []);
    assert.deepEqual(thresholdLines([load], "h", ["load.15m"], 4).map((l) => [l.value, l.label]),
      [[16, "crit 4×4"], [8, "warn 2×4"]]);
  });
});

describe("the alert list under pushes", () => {
  it("a transition updates its instance and ends an ack", () => {
    const before = [alert("warning", { acked: true, summary: "root at 91 %" })];
    const after = applyTransition(before, move("warning", "critical", 200, { value: 96 }));
    assert.equal(after.length, 1);
    assert.equal(after[0].state, "critical");
    assert.equal(after[0].since, 200);
    assert.equal(after[0].value, 96);
    assert.equal(after[0].acked, false);
    assert.equal(after[0].summary, "root at 91 %", "kept when the push has none");
    assert.equal(before[0].state, "warning", "the old list is left as it was");
  });

  it("a push's summary and silence replace the instance's", () => {
    const before = [alert("warning", { summary: "root at 91 %", silenced: null })];
    const push = move("warning", "critical", 200, { value: 96, summary: "root at 96 %",
      silenced: "s1" });
    const after = applyTransition(before, push);
    assert.equal(after[0].summary, "root at 96 %");
    assert.equal(after[0].silenced, "s1");
  });

  it("a transition of an instance not yet listed adds it", () => {
    const after = applyTransition([], move("ok", "pending", 50));
    assert.equal(after.length, 1);
    assert.equal(alertKey(after[0]), alertKey(move("ok", "pending", 50)));
  });

  it("transitions stay in time order, each once, at most max", () => {
    let list = [];
    list = addTransition(list, move("pending", "warning", 20));
    list = addTransition(list, move("ok", "pending", 10));
    list = addTransition(list, move("pending", "warning", 20));
    assert.deepEqual(list.map((t) => t.ts), [10, 20]);
    for (let ts = 30; ts < 40; ts += 1) list = addTransition(list, move("x", "ok", ts), 5);
    assert.deepEqual(list.map((t) => t.ts), [35, 36, 37, 38, 39]);
  });
});

describe("badgeCounts", () => {
  it("counts firing alerts that are not silenced; red for critical, amber for warning", () => {
    assert.deepEqual(badgeCounts([]), { firing: 0, critical: 0, warning: 0, pending: 0,
      silenced: 0, level: null });
    const warn = badgeCounts([alert("warning"), alert("ok"), alert("pending")]);
    assert.equal(warn.firing, 1);
    assert.equal(warn.level, "warning");
    const crit = badgeCounts([alert("warning"), alert("critical"),
      alert("critical", { silenced: "s1" })]);
    assert.deepEqual([crit.firing, crit.critical, crit.silenced, crit.level],
      [2, 1, 1, "critical"]);
  });

  it("is quiet with only pending or silenced alerts", () => {
    assert.equal(badgeCounts([alert("pending")]).level, "quiet");
    assert.equal(badgeCounts([alert("critical", { silenced: "s1" })]).level, "quiet");
    assert.equal(badgeCounts([alert("critical", { silenced: "s1" })]).firing, 0);
  });
});

describe("panelGroups", () => {
  it("lists firing (critical first, then oldest), pending, silenced and recent", () => {
    const alerts = [
      alert("warning", { series: "a", since: 10 }),
      alert("critical", { series: "b", since: 30 }),
      alert("warning", { series: "c", since: 5 }),
      alert("pending", { series: "d" }),
      alert("warning", { series: "e", silenced: "s1" }),
      alert("ok", { series: "f" }),
    ];
    const transitions = [move("ok", "pending", 1), move("pending", "warning", 2)];
    const groups = panelGroups(alerts, transitions);
    assert.deepEqual(groups.firing.map((a) => a.series), ["b", "c", "a"]);
    assert.deepEqual(groups.pending.map((a) => a.series), ["d"]);
    assert.deepEqual(groups.silenced.map((a) => a.series), ["e"]);
    assert.deepEqual(groups.recent.map((t) => t.ts), [2, 1], "newest first");
  });
});

describe("firingBands", () => {
  it("runs from firing to resolve; a rise to critical starts a new band", () => {
    const bands = firingBands([
      move("ok", "pending", 10), move("pending", "warning", 20),
      move("warning", "critical", 30), move("critical", "ok", 40),
      move("ok", "pending", 50), move("pending", "ok", 55),
    ]);
    assert.deepEqual(bands.map((b) => [b.state, b.start, b.end]),
      [["warning", 20, 30], ["critical", 30, 40]]);
  });

  it("is open-ended while it fires, from the alert's since if its start was dropped", () => {
    assert.deepEqual(firingBands([move("pending", "warning", 20)]).map((b) => b.end), [null]);
    const old = firingBands([], [alert("critical", { since: 7 })]);
    assert.deepEqual(old.map((b) => [b.state, b.start, b.end]), [["critical", 7, null]]);
    assert.deepEqual(firingBands([], [alert("ok")]), []);
  });

  it("keeps instances apart", () => {
    const bands = firingBands([move("pending", "warning", 20),
      move("pending", "warning", 25, { series: "other" }), move("warning", "ok", 30)]);
    assert.deepEqual(bands.map((b) => [b.series, b.end]),
      [["filesystem.root.used_percent", 30], ["other", null]]);
  });
});

describe("chartOverlay", () => {
  const base = { host: "web-1", series: ["filesystem.root.used_percent"], rules: RULES,
    colors: COLORS };

  it("shapes threshold lines, a band and the transition marks of the chart's series", () => {
    const transitions = [move("ok", "pending", 10), move("pending", "warning", 20),
      move("ok", "pending", 10, { host: "web-2" })];
    const overlay = chartOverlay({ ...base, alerts: [alert("warning", { since: 20 })],
      transitions });
    const kinds = overlay.shapes.map((s) => s.name);
    assert.deepEqual(kinds, ["firing fs-full filesystem.root.used_percent",
      "threshold fs-full crit", "threshold fs-full warn",
      "transition fs-full ok->pending", "transition fs-full pending->warning"]);
    const [band, crit] = overlay.shapes;
    assert.equal(band.x0, 20_000);
    assert.equal(band.fillcolor, "rgba(227,179,65,0.14)");
    assert.deepEqual([crit.y0, crit.y1, crit.line.dash, crit.line.color], [95, 95, "dash",
      COLORS.crit]);
  });

  it("has a key that changes only when the shapes do", () => {
    const one = chartOverlay({ ...base, alerts: [], transitions: [] });
    const same = chartOverlay({ ...base, alerts: [alert("ok")], transitions: [] });
    const other = chartOverlay({ ...base, alerts: [], transitions: [move("ok", "pending", 1)] });
    assert.equal(one.key, same.key);
    assert.notEqual(one.key, other.key);
    assert.equal(one.shapes.length, 2, "the two threshold lines");
  });
});

describe("restart marks", () => {
  const base = { host: "web-1", series: ["filesystem.root.used_percent"], rules: [],
    alerts: [], transitions: [], colors: { ...COLORS, restart: "#9aa4b2" } };

  it("marks the server's starts inside the chart's window, each a worded dotted line", () => {
    const overlay = chartOverlay({ ...base, restarts: [100, 1000, 1200], window: 300,
      end: 1250 });
    assert.deepEqual(overlay.restarts, [1000, 1200]);
    const [older, newer] = overlay.shapes;
    assert.deepEqual([newer.name, newer.x0, newer.x1, newer.yref, newer.line.dash,
      newer.line.color], ["restart", 1_200_000, 1_200_000, "paper", "dot", "#9aa4b2"]);
    assert.equal(newer.label.text, "restart");
    assert.equal(newer.label.textposition, "start", "at the foot: transitions word the top");
    assert.equal(older.label.text, "restart", "200 s apart: room for both words");
  });

  it("words the newest of starts close together, all of them before the first point", () => {
    assert.deepEqual(restartMarks([5, 1, 3], 60), [1, 3, 5], "no end yet: every one, sorted");
    assert.deepEqual(restartMarks([1, 2, "x", null], 60, 100), []);
    const close = chartOverlay({ ...base, restarts: [990, 1000], window: 300, end: 1000 });
    assert.deepEqual(close.shapes.map((s) => Boolean(s.label)), [false, true]);
    const many = restartMarks(Array.from({ length: 30 }, (_, i) => i), 600, 30);
    assert.deepEqual([many.length, many[0]], [10, 20], "the newest ten");
  });

  it("change the overlay's key", () => {
    const before = chartOverlay({ ...base, restarts: [] });
    const after = chartOverlay({ ...base, restarts: [10] });
    assert.notEqual(before.key, after.key);
    assert.equal(chartOverlay({ ...base, restarts: [10] }).key, after.key);
  });
});

describe("wordedMarks", () => {
  it("words fired and resolved marks, the newest of any close together", () => {
    const marks = [move("ok", "pending", 0), move("pending", "warning", 2),
      move("warning", "ok", 100), move("ok", "pending", 101), move("pending", "warning", 105)];
    const worded = wordedMarks(marks, 300); // 37.5 s apart at least
    assert.deepEqual([...worded].map((m) => m.ts).sort((a, b) => a - b), [2, 105]);
    assert.equal(wordedMarks(marks, 30).size, 3, "a shorter window has room for more");
  });
});

describe("wording", () => {
  it("formats how long something has held", () => {
    assert.deepEqual([5, 125, 3600, 3900, 86400, 93600].map(formatDuration),
      ["5 s", "2 min", "1 h", "1 h 5 min", "1 d", "1 d 2 h"]);
  });

  it("finds a series' collector", () => {
    assert.equal(collectorOf("filesystem.root.used_percent"), "filesystem");
    assert.equal(collectorOf("toy"), "toy");
  });
});
