// static/js/touch.js: which gesture a touch is, and the span it sweeps or pans.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MIN_SPAN_PX, SLOP_PX, gestureKind, pannedRange, sweptRange } from "../../static/js/touch.js";

const AREA = { left: 50, width: 300, range: [1000, 1300] }; // 1 s per pixel

describe("gestureKind", () => {
  it("waits for the slop, then tells sideways from up and down", () => {
    assert.equal(gestureKind(SLOP_PX - 1, 0), null);
    assert.equal(gestureKind(40, 5), "zoom");
    assert.equal(gestureKind(-40, 10), "zoom");
    assert.equal(gestureKind(10, 60), "scroll");
    assert.equal(gestureKind(30, 25), "scroll", "a diagonal is the page's");
  });
});

describe("sweptRange", () => {
  it("maps the swept pixels onto the time shown, either direction", () => {
    assert.deepEqual(sweptRange(100, 200, AREA), { start: 1050, end: 1150 });
    assert.deepEqual(sweptRange(200, 100, AREA), { start: 1050, end: 1150 });
  });

  it("clamps to the plot area and refuses a sliver", () => {
    assert.deepEqual(sweptRange(0, 120, AREA), { start: 1000, end: 1070 });
    assert.deepEqual(sweptRange(300, 900, AREA), { start: 1250, end: 1300 });
    assert.equal(sweptRange(100, 100 + MIN_SPAN_PX - 1, AREA), null);
    assert.equal(sweptRange(100, 200, { ...AREA, width: 0 }), null);
  });
});

describe("pannedRange", () => {
  it("moves the range against the fingers, keeping its span", () => {
    assert.deepEqual(pannedRange({ start: 100, end: 160 }, 150, 300), { start: 70, end: 130 });
    assert.deepEqual(pannedRange({ start: 100, end: 160 }, -300, 300), { start: 160, end: 220 });
    assert.equal(pannedRange(null, 10, 300), null);
  });
});
