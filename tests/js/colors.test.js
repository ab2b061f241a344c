// static/js/colors.js: a colour with its alpha set, from what the browser resolves.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { translucent } from "../../static/js/colors.js";

describe("translucent", () => {
  it("takes #rrggbb, rgb() and rgba() and sets the alpha", () => {
    assert.equal(translucent("#5ab0ff", 0.1), "rgba(90,176,255,0.1)");
    assert.equal(translucent("rgb(9, 105, 218)", 0.14), "rgba(9,105,218,0.14)");
    assert.equal(translucent("rgba(0, 0, 0, 0.22)", 0.5), "rgba(0,0,0,0.5)");
    assert.equal(translucent("rgb(9 105 218 / 50%)", 0.2), "rgba(9,105,218,0.2)");
  });

  it("leaves what it cannot read as it is", () => {
    assert.equal(translucent("red", 0.3), "red");
    assert.equal(translucent("", 0.3), "");
    assert.equal(translucent(undefined, 0.3), undefined);
  });
});
