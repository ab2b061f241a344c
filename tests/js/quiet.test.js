// static/js/quiet.js: when a chart is quiet enough to fold, and the line it folds into.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { breaksQuiet, isQuiet, quietNames, quietNoun, quietText } from "../../static/js/quiet.js";

const zeros = (n) => Array.from({ length: n }, () => 0);

describe("isQuiet", () => {
  it("folds only zeros, and only once there are enough of them", () => {
    assert.equal(isQuiet([{ y: zeros(30) }, { y: zeros(30) }]), true);
    assert.equal(isQuiet([{ y: zeros(29) }]), false);
    assert.equal(isQuiet([{ y: [...zeros(40), 0.5] }]), false);
    assert.equal(isQuiet([{ y: zeros(40) }, { y: [...zeros(10), -1] }]), false);
  });

  it("skips missing values: gaps neither count nor break the quiet", () => {
    assert.equal(isQuiet([{ y: [null, ...zeros(30), null, undefined] }]), true);
    assert.equal(isQuiet([{ y: Array(50).fill(null) }]), false);
    assert.equal(isQuiet([{ y: zeros(3) }], 3), true);
  });

  it("is not fooled by what is not a finite number", () => {
    assert.equal(isQuiet([{ y: [...zeros(30), NaN, "0"] }]), true);
    assert.equal(breaksQuiet(0), false);
    assert.equal(breaksQuiet(null), false);
    assert.equal(breaksQuiet(NaN), false);
    assert.equal(breaksQuiet(0.001), true);
    assert.equal(breaksQuiet(-3), true);
  });
});

describe("quietText", () => {
  it("says which devices had none of what, for how long", () => {
    const names = quietNames(["network.eth0.rx_errors_per_s", "network.eth0.tx_errors_per_s",
      "network.ifb0.rx_errors_per_s"], ["eth0 in", "eth0 out", "ifb0 in"]);
    assert.deepEqual(names, ["eth0", "ifb0"]);
    assert.equal(quietText(names, "errors/s", 300), "eth0, ifb0: no errors in 5 min");
    assert.equal(quietText(["sda"], "ops/s", 45), "sda: no ops in 45 s");
  });

  it("falls back to labels, and to 'all zero' for a unit that is no count", () => {
    assert.deepEqual(quietNames(["toy.a", "toy.b"], ["A", "B"]), ["A", "B"]);
    assert.equal(quietText(["A", "B"], "%", 3600), "A, B: all zero in 1 h");
    assert.equal(quietNoun("bytes/s"), null);
    assert.equal(quietNoun("packets per second"), "packets");
    assert.equal(quietNoun(""), null);
  });

  it("names the first few and counts the rest", () => {
    const labels = ["a", "b", "c", "d", "e", "f", "g", "h"];
    assert.equal(quietText(labels, "errors/s", 300, 3), "a, b, c +5 more: no errors in 5 min");
  });
});
