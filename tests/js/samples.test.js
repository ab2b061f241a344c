// static/js/samples.js: de-duplication by timestamp, and the subscribe ack's columnar
// history as samples.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { freshSamples, historySamples } from "../../static/js/samples.js";

const at = (...stamps) => stamps.map((ts) => ({ ts, values: { a: ts * 10 } }));
const stamps = (samples) => samples.map((s) => s.ts);

describe("freshSamples", () => {
  it("keeps everything in order the first time, and returns the newest ts", () => {
    const samples = at(1, 2, 3);
    const { fresh, lastTs } = freshSamples(samples, null);
    assert.deepEqual(stamps(fresh), [1, 2, 3]);
    assert.equal(lastTs, 3);
    samples.forEach((sample, i) => assert.equal(fresh[i], sample)); // the same objects
  });

  it("drops samples at or before the newest one delivered", () => {
    const { fresh, lastTs } = freshSamples(at(8, 9, 10, 11, 12), 10);
    assert.deepEqual(stamps(fresh), [11, 12]);
    assert.equal(lastTs, 12);
  });

  it("drops repeats and samples older than one earlier in the same batch", () => {
    const { fresh, lastTs } = freshSamples(at(1, 2, 2, 1.5, 3, 3, 2.5, 4), null);
    assert.deepEqual(stamps(fresh), [1, 2, 3, 4]);
    assert.equal(lastTs, 4);
  });

  it("drops samples whose ts is not a number", () => {
    const odd = [{ ts: "5" }, { ts: null }, {}, null, undefined, { ts: [6] }];
    const { fresh, lastTs } = freshSamples([...odd, ...at(7)], null);
    assert.deepEqual(stamps(fresh), [7]);
    assert.equal(lastTs, 7);
  });

  it("keeps lastTs when nothing is fresh", () => {
    assert.deepEqual(freshSamples([], null), { fresh: [], lastTs: null });
    assert.deepEqual(freshSamples(at(3, 4), 4), { fresh: [], lastTs: 4 });
  });

  it("accepts a ts of 0 as the first", () => {
    const { fresh, lastTs } = freshSamples(at(0, 0, 1), null);
    assert.deepEqual(stamps(fresh), [0, 1]);
    assert.equal(lastTs, 1);
  });
});

describe("historySamples", () => {
  it("turns columns into one sample per ts, marked as backfill with the ack's step", () => {
    const history = { ts: [100, 160], values: { a: [1, null], b: [3, 4] }, step: 60 };
    assert.deepEqual(historySamples(history, true), [
      { ts: 100, values: { a: 1, b: 3 }, backfill: true, step: 60, whole: true },
      { ts: 160, values: { a: null, b: 4 }, backfill: true, step: 60, whole: true },
    ]);
  });

  it("marks a catch-up (since) history as not the whole window", () => {
    const [sample] = historySamples({ ts: [5], values: { a: [2] }, step: 0 }, false);
    assert.equal(sample.whole, false);
    assert.equal(sample.step, 0);
  });

  it("reads a missing or non-numeric step as 0 (stored samples as taken)", () => {
    assert.equal(historySamples({ ts: [1], values: {} }, true)[0].step, 0);
    assert.equal(historySamples({ ts: [1], values: {}, step: "x" }, true)[0].step, 0);
    assert.equal(historySamples({ ts: [1], values: {}, step: "120" }, true)[0].step, 120);
  });

  it("gives no samples for a missing or empty history", () => {
    assert.deepEqual(historySamples(undefined, true), []);
    assert.deepEqual(historySamples(null, false), []);
    assert.deepEqual(historySamples({}, true), []);
    assert.deepEqual(historySamples({ ts: [], values: { a: [] } }, true), []);
  });

  it("gives samples with no values when the history has no series", () => {
    assert.deepEqual(historySamples({ ts: [1, 2] }, true).map((s) => s.values), [{}, {}]);
  });

  it("feeds the de-duplication: live samples queued during the subscribe are not repeated", () => {
    const history = historySamples({ ts: [10, 11, 12], values: { a: [1, 2, 3] } }, true);
    const queued = at(12, 13); // 12 arrived live while the ack was on its way
    const { fresh } = freshSamples([...history, ...queued], null);
    assert.deepEqual(stamps(fresh), [10, 11, 12, 13]);
    assert.equal(fresh[2].backfill, true); // the stored one wins
    assert.equal(fresh[3].backfill, undefined);
  });
});
