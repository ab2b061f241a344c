// static/js/views.js: the view a URL and a host list give, each view's address, and the
// order of a host's cards.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { COLLECTOR_ORDER, cardOrder, chooseView, collectorRank, requestedView, sameView,
  viewUrl } from "../../static/js/views.js";

const host = (name) => ({ kind: "host", host: name });
const FLEET = { kind: "fleet" };

describe("requestedView", () => {
  it("reads ?host= and ?view=fleet", () => {
    assert.deepEqual(requestedView("?host=db-1"), { host: "db-1", fleet: false });
    assert.deepEqual(requestedView("?view=fleet&window=1h"), { host: null, fleet: true });
    assert.deepEqual(requestedView(""), { host: null, fleet: false });
    assert.deepEqual(requestedView("?host="), { host: null, fleet: false });
  });

  it("lets a named host win over the overview", () => {
    assert.deepEqual(requestedView("?view=fleet&host=a"), { host: "a", fleet: false });
  });
});

describe("chooseView", () => {
  const bare = requestedView("");

  it("shows the host the URL names, known or not", () => {
    assert.deepEqual(chooseView(requestedView("?host=b"), ["a", "b"]), host("b"));
    assert.deepEqual(chooseView(requestedView("?host=z"), ["a", "b"]), host("z"));
    assert.deepEqual(chooseView(requestedView("?host=z"), null), host("z"));
  });

  it("shows the overview for ?view=fleet, even with one host", () => {
    assert.deepEqual(chooseView(requestedView("?view=fleet"), ["a"], "a"), FLEET);
  });

  it("with a bare URL: the overview for several hosts, the dashboard for one", () => {
    assert.deepEqual(chooseView(bare, ["a", "b"]), FLEET);
    assert.deepEqual(chooseView(bare, ["a", "b"], "a"), FLEET);
    assert.deepEqual(chooseView(bare, ["a"]), host("a"));
    assert.deepEqual(chooseView(bare, ["a"], "a"), host("a"));
  });

  it("starts with this process's own host before the list is known, else waits", () => {
    assert.deepEqual(chooseView(bare, null, "me"), host("me"));
    assert.deepEqual(chooseView(bare, [], "me"), host("me"));
    assert.deepEqual(chooseView(bare, null), { kind: "wait" });
    assert.deepEqual(chooseView(bare, []), { kind: "wait" });
  });
});

describe("sameView", () => {
  it("compares kind and host", () => {
    assert.ok(sameView(host("a"), host("a")));
    assert.ok(!sameView(host("a"), host("b")));
    assert.ok(sameView(FLEET, { kind: "fleet" }));
    assert.ok(!sameView(FLEET, { kind: "wait" }));
    assert.ok(!sameView(null, FLEET));
  });
});

describe("viewUrl", () => {
  const base = "http://dash.example/";

  it("names the host and keeps the window", () => {
    assert.equal(viewUrl(`${base}?window=1h`, host("db-1")), "/?window=1h&host=db-1");
    assert.equal(viewUrl(`${base}?view=fleet&host=a`, host("b")), "/?host=b");
    assert.equal(viewUrl(base, host("a b&c")), "/?host=a+b%26c");
  });

  it("drops the host for the overview, naming it unless a bare URL shows it anyway", () => {
    assert.equal(viewUrl(`${base}?host=a&window=1h`, FLEET), "/?window=1h&view=fleet");
    assert.equal(viewUrl(`${base}?host=a&window=1h`, FLEET, { fleetByDefault: true }),
      "/?window=1h");
    assert.equal(viewUrl(`${base}?host=a`, FLEET, { fleetByDefault: true }), "/");
  });
});

describe("cardOrder", () => {
  it("keeps the order of this process's own collectors", () => {
    const order = cardOrder(["memory", "cpu", "processes", "answer"]);
    assert.equal(order.of("memory"), 0);
    assert.equal(order.of("cpu"), 1);
    assert.equal(order.of("answer"), 3);
    assert.equal(order.of("late"), 4); // one that came later goes last
    assert.equal(order.table, 0.5); // after the memory charts
  });

  it("puts the table after processes' own place when there is no memory collector", () => {
    assert.equal(cardOrder(["cpu", "processes"]).table, 1.5);
  });

  it("orders another host's built-ins as the README lists them, plugins after", () => {
    const order = cardOrder();
    assert.equal(order.of("network"), COLLECTOR_ORDER.indexOf("network"));
    assert.equal(order.of("cpu"), 0);
    assert.equal(order.of("zeta"), COLLECTOR_ORDER.length);
    assert.equal(order.of("alpha"), COLLECTOR_ORDER.length + 1);
    assert.equal(order.of("zeta"), COLLECTOR_ORDER.length); // the same place each time
    assert.equal(order.table, COLLECTOR_ORDER.indexOf("memory") + 0.5);
  });

  it("ranks collectors for the order they are added in", () => {
    assert.equal(collectorRank("cpu"), 0);
    assert.equal(collectorRank("sensors"), COLLECTOR_ORDER.length - 1);
    assert.equal(collectorRank("answer"), COLLECTOR_ORDER.length);
  });
});
