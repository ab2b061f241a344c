// static/js/zoomdata.js: the zoomed range in the URL, the points asked for, `range` acks as
// lines with bands and breaks, compare shifting and spans, and stepping through snapshots.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { axisValue, compareCovers, compareSpan, distanceText, neighbour, plotlyTime, pointsFor,
  rangeLines, rangeUrl, readRange, relayoutRange, sameRange, shiftLines }
  from "../../static/js/zoomdata.js";

const T = 1_800_000_000;

describe("readRange", () => {
  it("reads from and to as unix seconds", () => {
    assert.deepEqual(readRange(`?host=a&from=${T}&to=${T + 30.5}`),
      { start: T, end: T + 30.5 });
  });

  it("is null unless both are numbers in order", () => {
    for (const search of ["", `?from=${T}`, `?to=${T}`, `?from=x&to=${T}`,
      `?from=${T}&to=${T}`, `?from=${T + 1}&to=${T}`, "?from=-5&to=10", "?from=&to=5",
      `?from=${T}&to=Infinity`]) {
      assert.equal(readRange(search), null, search);
    }
  });
});

describe("rangeUrl", () => {
  it("sets from and to to the millisecond and keeps the rest of the query", () => {
    const url = rangeUrl("http://h:5000/?host=db-1&window=1h#x",
      { start: T + 0.12345, end: T + 60.9999 });
    assert.equal(url, `/?host=db-1&window=1h&from=${T}.123&to=${T + 61}#x`);
    assert.deepEqual(readRange(url.slice(1, url.indexOf("#"))),
      { start: T + 0.123, end: T + 61 });
  });

  it("removes them for the live window", () => {
    assert.equal(rangeUrl(`http://h/?from=${T}&host=a&to=${T + 5}`, null), "/?host=a");
  });
});

describe("pointsFor", () => {
  it("asks one point a pixel, within the server's bounds", () => {
    assert.equal(pointsFor(411.6, [10, 4000]), 412);
    assert.equal(pointsFor(3, [10, 4000]), 10);
    assert.equal(pointsFor(9000, [10, 4000]), 4000);
    assert.equal(pointsFor(undefined, [10, 4000]), 10);
  });
});

describe("plotlyTime", () => {
  it("reads plotly's date strings as local time, to the fraction of a second", () => {
    const local = new Date(2026, 11, 2, 1, 11, 59).getTime();
    assert.equal(plotlyTime("2026-12-02 01:11:59.9107"), local + 910.7);
    assert.equal(plotlyTime("2026-12-02 01:11:59"), local);
    assert.equal(plotlyTime("2026-12-02"), new Date(2026, 11, 2).getTime());
  });

  it("takes numbers as unix ms and Dates as themselves; anything else is NaN", () => {
    assert.equal(plotlyTime(T * 1000), T * 1000);
    assert.equal(plotlyTime(new Date(T * 1000)), T * 1000);
    for (const odd of ["yesterday", null, undefined, {}, NaN, "2026-12-02 1:2"]) {
      assert.ok(Number.isNaN(plotlyTime(odd)), String(odd));
    }
  });
});

describe("axisValue", () => {
  it("reads plotly's date strings as its axis numbers: the digits as UTC", () => {
    assert.equal(axisValue("2026-12-02 01:11:59.5"), Date.UTC(2026, 11, 2, 1, 11, 59, 500));
    assert.ok(Number.isNaN(axisValue(5)));
  });
});

describe("relayoutRange", () => {
  const at = (s) => new Date(s * 1000);
  it("turns a drag's two ends into a range in unix seconds, in order", () => {
    assert.deepEqual(relayoutRange({ "xaxis.range[0]": at(T + 60), "xaxis.range[1]": at(T) }),
      { start: T, end: T + 60 });
    assert.deepEqual(relayoutRange({ "xaxis.range": [T * 1000, (T + 5) * 1000] }),
      { start: T, end: T + 5 });
    const local = new Date(2026, 11, 2, 1, 11, 59).getTime() / 1000;
    assert.deepEqual(relayoutRange({ "xaxis.range[0]": "2026-12-02 01:11:59.0534",
      "xaxis.range[1]": "2026-12-02 01:12:00.6446" }), { start: local + 0.053, end: local + 1.645 },
    "to the millisecond, as the Dates set on the other charts hold it");
  });

  it("says live for an autorange and null for anything else", () => {
    assert.equal(relayoutRange({ "xaxis.autorange": true }), "live");
    assert.equal(relayoutRange({ "yaxis.range": [0, 1] }), null);
    assert.equal(relayoutRange({ "xaxis.range[0]": at(T) }), null);
    assert.equal(relayoutRange({ "xaxis.range[0]": "x", "xaxis.range[1]": at(T) }), null);
    assert.equal(relayoutRange({ "xaxis.range[0]": at(T), "xaxis.range[1]": at(T) }), null);
    assert.equal(relayoutRange(undefined), null);
  });
});

describe("sameRange", () => {
  it("compares to the millisecond", () => {
    assert.ok(sameRange({ start: T, end: T + 1 }, { start: T + 0.0001, end: T + 1 }));
    assert.ok(!sameRange({ start: T, end: T + 1 }, { start: T + 0.01, end: T + 1 }));
    assert.ok(sameRange(null, null));
    assert.ok(!sameRange(null, { start: T, end: T + 1 }));
  });
});

describe("rangeLines", () => {
  it("draws raw samples as they are, without a band", () => {
    const { tier, step, lines } = rangeLines({ ts: [T, T + 1, T + 2], tier: "raw", step: 0,
      values: { "cpu.total": [5, null, 7] } }, 1);
    assert.equal(tier, "raw");
    assert.equal(step, 0);
    assert.deepEqual(lines.get("cpu.total"), { x: [T * 1000, (T + 1) * 1000, (T + 2) * 1000],
      y: [5, null, 7], min: null, max: null });
  });

  it("gives rollups a min–max band, and nothing for a point with no average", () => {
    const { tier, lines } = rangeLines({ ts: [T, T + 60, T + 120], tier: "rollup", step: 60,
      values: { a: [2, 3, null] }, min: { a: [1, 2, 0] }, max: { a: [9, 4, 5] } }, 1);
    assert.equal(tier, "rollup");
    const a = lines.get("a");
    assert.deepEqual([a.y, a.min, a.max], [[2, 3, null], [1, 2, null], [9, 4, null]]);
  });

  it("has no band for rollups that came without min and max", () => {
    const { lines } = rangeLines({ ts: [T], tier: "rollup", step: 60, values: { a: [2] } }, 1);
    assert.equal(lines.get("a").min, null);
  });

  it("breaks every line across an outage, not across the step", () => {
    const { lines } = rangeLines({ ts: [T, T + 60, T + 600, T + 660], tier: "rollup", step: 60,
      values: { a: [1, 2, 3, 4], b: [5, 6, 7, 8] }, min: { a: [1, 2, 3, 4], b: [5, 6, 7, 8] },
      max: { a: [1, 2, 3, 4], b: [5, 6, 7, 8] } }, 1);
    for (const line of lines.values()) {
      assert.deepEqual(line.x, [T, T + 60, T + 120, T + 600, T + 660].map((t) => t * 1000));
      assert.equal(line.y[2], null);
      assert.equal(line.min[2], null);
    }
  });

  it("takes an empty or odd history as no lines", () => {
    assert.equal(rangeLines(undefined, 1).lines.size, 0);
    assert.deepEqual(rangeLines({ ts: [T], values: { a: ["x"] } }, 1).lines.get("a").y, [null]);
  });
});

describe("shiftLines", () => {
  it("moves every point later by the offset and keeps the values", () => {
    const lines = new Map([["a", { x: [T * 1000], y: [4], min: null, max: null }]]);
    const moved = shiftLines(lines, 86400).get("a");
    assert.deepEqual(moved, { x: [(T + 86400) * 1000], y: [4], min: null, max: null });
    assert.deepEqual(lines.get("a").x, [T * 1000], "the original stays as it was");
  });
});

describe("compareSpan and compareCovers", () => {
  const day = 86400;
  it("asks the zoomed range a day earlier as it is", () => {
    assert.deepEqual(compareSpan({ start: T, end: T + 60 }, day), { start: T - day,
      end: T + 60 - day });
  });

  it("asks the live window with a lead, which lasts until the window moves past it", () => {
    const fetched = compareSpan({ start: T - 300, end: T }, day, { live: true, lead: 150 });
    assert.deepEqual(fetched, { start: T - 300 - day, end: T + 150 - day });
    assert.ok(compareCovers(fetched, { start: T - 300, end: T }, day));
    assert.ok(compareCovers(fetched, { start: T - 150, end: T + 150 }, day));
    assert.ok(!compareCovers(fetched, { start: T - 149, end: T + 151 }, day));
    assert.ok(!compareCovers(fetched, { start: T - 400, end: T }, day), "a longer window");
    assert.ok(!compareCovers(null, { start: T, end: T + 1 }, day));
  });
});

describe("neighbour", () => {
  it("steps to the previous or next snapshot, null at either end", () => {
    const snapshot = { ts: T, prev: T - 10, next: null };
    assert.equal(neighbour(snapshot, -1), T - 10);
    assert.equal(neighbour(snapshot, 1), null);
    assert.equal(neighbour(null, 1), null);
  });
});

describe("distanceText", () => {
  it("says how far the snapshot is from the moment asked for", () => {
    assert.equal(distanceText(T, T + 0.2, "the click"), "at the click");
    assert.equal(distanceText(T + 12, T, "the click"), "12 s after the click");
    assert.equal(distanceText(T - 300, T, "it"), "5 min before it");
    assert.equal(distanceText(T + 3 * 3600, T, "it"), "3 h after it");
  });
});
