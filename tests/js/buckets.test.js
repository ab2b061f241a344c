// static/js/buckets.js: the step per window, which samples are bucketed, bucket keys, the
// running average, and where a line breaks for an outage.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Bucket, bucketKey, bucketStep, gapBefore, isBucketed } from "../../static/js/buckets.js";

// The server's rollup widths as its page config serves them (dashboard/history/rollup.py);
// tests/test_page_config.py checks the served list against the Python one.
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200];

describe("bucketStep", () => {
  it("draws every sample up to 5 minutes", () => {
    assert.equal(bucketStep(60, STEPS, 1000), 0);
    assert.equal(bucketStep(300, STEPS, 1000), 0);
  });

  it("picks the smallest server step giving at most ~1,000 points per window", () => {
    assert.equal(bucketStep(3600, STEPS, 1000), 5); // 3.6 s -> 5 s
    assert.equal(bucketStep(86400, STEPS, 1000), 120); // 86.4 s -> 2 min
    assert.equal(bucketStep(604800, STEPS, 1000), 900); // 604.8 s -> 15 min
    assert.equal(bucketStep(301, STEPS, 1000), 1); // 0.301 s -> 1 s
    assert.equal(bucketStep(5000, STEPS, 1000), 5); // exactly a step
  });

  it("uses the steps it is given", () => {
    assert.equal(bucketStep(3600, [10, 20], 1000), 10);
    assert.equal(bucketStep(86400, [10, 20, 90], 1000), 90);
  });

  it("falls back to whole days past the largest step", () => {
    assert.equal(bucketStep(600 * 86400, STEPS, 1000), 86400); // 51,840 s -> 1 d
    assert.equal(bucketStep(100_000_000, STEPS, 1000), 2 * 86400); // 100,000 s -> 2 d
    assert.equal(bucketStep(3600, [], 1000), 86400);
  });
});

describe("isBucketed", () => {
  it("never buckets in a window drawn sample by sample", () => {
    assert.equal(isBucketed({ ts: 1 }, 0), false);
  });

  it("buckets live and catch-up samples finer than the window's step", () => {
    assert.equal(isBucketed({ ts: 1 }, 5), true);
    assert.equal(isBucketed({ ts: 1, step: 0, backfill: true, whole: false }, 5), true);
    assert.equal(isBucketed({ ts: 1, step: 2, whole: false }, 5), true);
  });

  it("draws the window's own history and rollups as wide as the step as they came", () => {
    assert.equal(isBucketed({ ts: 1, step: 0, whole: true }, 5), false);
    assert.equal(isBucketed({ ts: 1, step: 5, whole: false }, 5), false);
    assert.equal(isBucketed({ ts: 1, step: 60 }, 5), false);
  });
});

describe("bucketKey", () => {
  it("aligns buckets to multiples of the step", () => {
    assert.equal(bucketKey(1000, 5), 200);
    assert.equal(bucketKey(1004.999, 5), 200);
    assert.equal(bucketKey(1005, 5), 201);
    assert.equal(bucketKey(1_700_000_123.4, 120), Math.floor(1_700_000_123.4 / 120));
  });

  it("puts samples one step apart in neighbouring buckets", () => {
    const keys = [1000, 1002, 1004, 1006, 1011].map((ts) => bucketKey(ts, 5));
    assert.deepEqual(keys, [200, 200, 200, 201, 202]);
  });
});

describe("Bucket", () => {
  it("keeps a running average per series", () => {
    const bucket = new Bucket(200);
    assert.equal(bucket.key, 200);
    assert.deepEqual(bucket.add("a", 10), { average: 10, first: true });
    assert.deepEqual(bucket.add("b", 1), { average: 1, first: true });
    assert.deepEqual(bucket.add("a", 20), { average: 15, first: false });
    assert.deepEqual(bucket.add("a", 60), { average: 30, first: false });
    assert.deepEqual(bucket.add("b", 3), { average: 2, first: false });
  });

  it("ignores readings that are not finite numbers", () => {
    const bucket = new Bucket(0);
    assert.deepEqual(bucket.add("a", null), { average: null, first: true });
    assert.deepEqual(bucket.add("a", undefined), { average: null, first: false });
    assert.deepEqual(bucket.add("a", NaN), { average: null, first: false });
    assert.deepEqual(bucket.add("a", 4), { average: 4, first: false });
    assert.deepEqual(bucket.add("a", null), { average: 4, first: false });
    assert.deepEqual(bucket.add("a", Infinity), { average: 4, first: false });
    assert.deepEqual(bucket.add("a", "8"), { average: 4, first: false });
    assert.deepEqual(bucket.add("a", 8), { average: 6, first: false });
  });
});

describe("gapBefore", () => {
  const live = (lastTs, interval = 1) => ({ lastTs, lastStep: 0, interval });

  it("never breaks before the first point", () => {
    assert.equal(gapBefore(live(undefined), 1_000_000, 0), null);
  });

  it("breaks after three times the spacing, at least 5 s, one spacing after the last point", () => {
    // interval 1 s: the floor of 5 s applies.
    assert.equal(gapBefore(live(100), 105, 0), null);
    assert.equal(gapBefore(live(100), 105.5, 0), 101);
    // interval 2 s: 3 x 2 = 6 s.
    assert.equal(gapBefore(live(100, 2), 106, 0), null);
    assert.equal(gapBefore(live(100, 2), 107, 0), 102);
    assert.equal(gapBefore(live(100, 2), 500, 0), 102);
  });

  it("draws no gap between points within the spacing", () => {
    for (const ts of [100.5, 101, 102, 103, 104]) assert.equal(gapBefore(live(100), ts, 0), null);
  });

  it("treats a missing interval as 1 s", () => {
    const entry = { lastTs: 100, lastStep: 0, interval: undefined };
    assert.equal(gapBefore(entry, 105, 0), null);
    assert.equal(gapBefore(entry, 106, 0), 101);
  });

  it("spaces rollups by their step, so minute buckets are not all gaps", () => {
    const rollup = { lastTs: 6000, lastStep: 60, interval: 1 };
    assert.equal(gapBefore(rollup, 6060, 60), null);
    assert.equal(gapBefore(rollup, 6180, 60), null); // 3 x 60 s: still a line
    assert.equal(gapBefore(rollup, 6181, 60), 6060);
  });

  it("keeps the wider spacing either side of a change of step", () => {
    // From a 60 s rollup to a live 5 s bucket: the rollup's spacing still counts.
    assert.equal(gapBefore({ lastTs: 6000, lastStep: 60, interval: 1 }, 6150, 5), null);
    // From live 1 s samples to a 120 s rollup: the rollup's own step counts.
    assert.equal(gapBefore({ lastTs: 6000, lastStep: 0, interval: 1 }, 6300, 120), null);
    assert.equal(gapBefore({ lastTs: 6000, lastStep: 0, interval: 1 }, 6361, 120), 6120);
  });
});
