"""Socket.IO handlers through Flask-SocketIO's test client: every handler, every bad input."""

from __future__ import annotations

import math

import pytest

from collectors import Sample, Series
from collectors.builtin import BUILTIN
from dashboard import create_app
from tests.toy import Rows, Toy

SETTINGS = {"server": {"async_mode": "threading"}}


@pytest.fixture
def connect(app):
    socketio = app.extensions["socketio"]
    clients = []

    def make(namespace: str = "/toy"):
        client = socketio.test_client(app, namespace=namespace)
        clients.append(client)
        return client

    yield make
    for client in clients:
        if client.is_connected():
            client.disconnect()


def tick(runtime, clock, name="toy", times=1):
    for _ in range(times):
        clock.now += 1
        runtime.runners[name].tick()


def samples(client, namespace="/toy", event="sample"):
    return [m["args"][0] for m in client.get_received(namespace) if m["name"] == event]


def ack(client, event, payload=None, namespace="/toy"):
    if payload is None:
        return client.emit(event, namespace=namespace, callback=True)
    return client.emit(event, payload, namespace=namespace, callback=True)


def test_nothing_is_sent_before_subscribe(runtime, clock, connect):
    client = connect()
    tick(runtime, clock)
    assert samples(client) == []


def test_subscribe_ack_describes_the_collector(connect):
    reply = ack(connect(), "subscribe", {})
    assert reply["ok"] is True
    assert reply["collector"] == "toy"
    assert reply["interval"] == 1.0
    assert reply["series"] == [
        {"name": "toy.a", "unit": "%", "label": "A"},
        {"name": "toy.b", "unit": "bytes", "label": "B"},
    ]
    assert reply["history"] == {"ts": [], "values": {}}


def test_samples_carry_ts_seq_and_values(runtime, clock, connect):
    client = connect()
    ack(client, "subscribe")
    tick(runtime, clock, times=2)
    got = samples(client)
    assert [s["seq"] for s in got] == [1, 2]
    assert got[0]["ts"] == clock.now - 1
    assert got[0]["values"] == {"toy.a": 1.0, "toy.b": 2.0}
    assert got[0]["collector"] == "toy" and got[0]["host"] == runtime.hub.host


def test_series_subset_only_sends_those_series(runtime, clock, connect):
    client = connect()
    assert ack(client, "subscribe", {"series": ["toy.b"]})["series"][0]["name"] == "toy.b"
    tick(runtime, clock)
    assert samples(client)[0]["values"] == {"toy.b": 2.0}


def test_nan_and_infinity_never_reach_the_wire(runtime, clock, connect):
    client = connect()
    ack(client, "subscribe")
    runtime.runners["toy"].collector.next = {"toy.a": math.nan, "toy.b": 2.0}
    tick(runtime, clock)
    runtime.runners["toy"].collector.next = {"toy.a": 1.0, "toy.b": math.inf}
    tick(runtime, clock)  # no backoff: the next tick runs
    got = [s["values"] for s in samples(client)]
    assert got == [{"toy.a": None, "toy.b": 2.0}, {"toy.a": 1.0, "toy.b": None}]
    health = runtime.runners["toy"].health
    assert health.state == "ok" and health.non_finite == 2 and health.last_non_finite == "toy.b"


def test_history_backfills_the_last_seconds(runtime, clock, connect):
    tick(runtime, clock, times=5)
    reply = ack(connect(), "subscribe", {"history": 2.5})
    assert reply["history"]["ts"] == [clock.now - 2, clock.now - 1, clock.now]
    assert reply["history"]["values"]["toy.a"] == [1.0, 1.0, 1.0]


def test_since_returns_exactly_the_missed_samples(runtime, clock, connect):
    tick(runtime, clock, times=3)
    last_seen = clock.now - 1
    reply = ack(connect(), "subscribe", {"since": last_seen, "series": ["toy.a"]})
    assert reply["history"] == {
        "ts": [clock.now], "values": {"toy.a": [1.0]}, "tier": "raw", "step": 0.0,
    }  # fmt: skip


@pytest.fixture
def stored(tmp_path, clock):
    """An app whose history file holds two days of toy samples, one every 10 s."""
    settings = {**SETTINGS, "history": {"path": str(tmp_path / "stored.sqlite3")}}
    app = create_app(settings, collectors=(Toy, Rows), clock=clock)
    runtime = app.extensions["dashboard"]
    runtime.history.open()
    start = clock.now
    for i in range(1, 2 * 8640 + 1):
        clock.now = start + 10 * i
        runtime.history.append("toy", clock.now, {"toy.a": float(i), "toy.b": 2.0})
        if i % 60 == 0:
            runtime.history.flush()
            runtime.history.maintain()
    runtime.history.flush()
    return app


def test_since_reaches_back_into_the_file(stored, clock):
    client = stored.extensions["socketio"].test_client(stored, namespace="/toy")
    reply = ack(client, "subscribe", {"since": clock.now - 7200})
    history = reply["history"]
    assert history["tier"] == "raw" and history["step"] == 0
    assert history["ts"] == [clock.now - 7200 + 10 * i for i in range(1, 721)]
    assert history["values"]["toy.a"][-1] == 2 * 8640


def test_a_day_of_backfill_comes_from_rollups_within_the_point_cap(stored, clock):
    client = stored.extensions["socketio"].test_client(stored, namespace="/toy")
    history = ack(client, "subscribe", {"history": 86_400})["history"]
    assert history["tier"] == "rollup" and history["step"] >= 60
    assert 720 <= len(history["ts"]) <= 1000
    assert history["ts"][-1] == clock.now and history["ts"][0] >= clock.now - 86_400


def test_unsubscribe_stops_samples(runtime, clock, connect):
    client = connect()
    ack(client, "subscribe")
    assert ack(client, "unsubscribe") == {"ok": True}
    tick(runtime, clock)
    assert samples(client) == []


def test_identical_subscriptions_share_one_emit(runtime, clock, connect, monkeypatch):
    first, second, third = connect(), connect(), connect()
    ack(first, "subscribe")
    ack(second, "subscribe")
    ack(third, "subscribe", {"series": ["toy.a"]})
    emits = []
    server = runtime.hub.emitter
    original = server.emit
    monkeypatch.setattr(server, "emit", lambda *a, **k: (emits.append(k["to"]), original(*a, **k)))
    tick(runtime, clock)
    assert len(emits) == 2  # one per distinct subscription, not one per client
    assert len(samples(first)) == len(samples(second)) == len(samples(third)) == 1


def test_filters_are_per_client(runtime, clock, connect):
    alpha, beta = connect("/rows"), connect("/rows")
    assert ack(alpha, "filter", {"match": "alp"}, "/rows") == {
        "ok": True,
        "filter": {"match": "alp"},
    }
    ack(beta, "filter", {"match": "beta"}, "/rows")
    ack(alpha, "subscribe", None, "/rows")
    ack(beta, "subscribe", None, "/rows")
    tick(runtime, clock, "rows")
    assert [r["name"] for r in samples(alpha, "/rows")[0]["rows"]] == ["alpha", "alpine"]
    assert [r["name"] for r in samples(beta, "/rows")[0]["rows"]] == ["beta"]


def test_filter_on_a_collector_without_filters_is_refused(connect):
    reply = ack(connect(), "filter", {"match": "x"})
    assert reply == {"ok": False, "error": "collector 'toy' takes no filter"}


def test_series_event_when_the_set_changes(runtime, clock, connect):
    from collectors import Series

    client = connect()
    ack(client, "subscribe")
    toy = runtime.runners["toy"].collector
    toy.series.append(Series("toy.c", "%"))
    toy.next = {"toy.a": 1.0, "toy.c": 3.0}
    tick(runtime, clock)
    received = client.get_received("/toy")
    assert [m["name"] for m in received] == ["series", "sample"]
    assert [s["name"] for s in received[0]["args"][0]["series"]] == ["toy.a", "toy.b", "toy.c"]


BAD_SUBSCRIBE = [
    ([1, 2], "expected an object, got a list"),
    ("cpu", "expected an object, got a string"),
    (42, "expected an object, got a number"),
    ({"series": "toy.a"}, "series: expected a non-empty list of series names"),
    ({"series": []}, "series: expected a non-empty list of series names"),
    ({"series": ["toy.zzz"]}, "series: unknown series 'toy.zzz'"),
    ({"series": [["toy.a"]]}, "series: unknown series ['toy.a']"),
    ({"series": ["../../etc/passwd"]}, "series: unknown series '../../etc/passwd'"),
    ({"series": ["toy.a\x00"]}, "series: unknown series 'toy.a\\x00'"),
    ({"history": "60"}, "history: expected a number of seconds, got a string"),
    ({"history": True}, "history: expected a number of seconds, got a boolean"),
    ({"history": -5}, "history = -5: expected seconds >= 0"),
    ({"history": {"a": {"b": {"c": 1}}}}, "history: expected a number of seconds, got an object"),
    ({"since": None}, "since: expected a number of seconds, got null"),
    ({"since": 4e9}, "since is in the future: expected unix seconds of a past sample"),
    ({"host": "elsewhere"}, "host 'elsewhere' is not served here"),
    ({"series": ["toy.a"], "extra": 1}, "unknown key 'extra'"),
]


@pytest.mark.parametrize(("payload", "error"), BAD_SUBSCRIBE)
def test_bad_subscribe_is_refused_and_changes_nothing(runtime, clock, connect, payload, error):
    client = connect()
    ack(client, "subscribe", {"series": ["toy.a"]})
    reply = ack(client, "subscribe", payload)
    assert reply["ok"] is False
    assert reply["error"].startswith(error)
    assert client.is_connected("/toy")
    tick(runtime, clock)
    assert samples(client)[0]["values"] == {"toy.a": 1.0}  # the old subscription stands


def test_a_10kb_series_name_is_refused_without_echoing_it(connect):
    reply = ack(connect(), "subscribe", {"series": ["x" * 10_000]})
    assert reply["ok"] is False and len(reply["error"]) < 120


@pytest.mark.parametrize("payload", [[1], "x", 3, {"match": 5}, {"match": "a", "other": 1}])
def test_bad_filter_is_refused_and_keeps_the_old_filter(runtime, clock, connect, payload):
    client = connect("/rows")
    ack(client, "filter", {"match": "beta"}, "/rows")
    ack(client, "subscribe", None, "/rows")
    reply = ack(client, "filter", payload, "/rows")
    assert reply["ok"] is False and reply["error"]
    tick(runtime, clock, "rows")
    assert [r["name"] for r in samples(client, "/rows")[0]["rows"]] == ["beta"]


@pytest.mark.parametrize("payload", [[1], "x", {"series": ["toy.a"]}])
def test_bad_unsubscribe_is_refused(connect, payload):
    client = connect()
    reply = ack(client, "unsubscribe", payload)
    assert reply["ok"] is False and client.is_connected("/toy")


def test_extra_arguments_are_refused(connect):
    client = connect()
    reply = client.emit("subscribe", {}, {}, namespace="/toy", callback=True)
    assert reply == {"ok": False, "error": "expected one payload argument, got 2"}


def test_an_internal_error_answers_internal(runtime, connect, monkeypatch):
    def boom(*_args):
        raise RuntimeError("bug")

    monkeypatch.setattr(runtime.hub, "subscribe", boom)
    client = connect()
    assert ack(client, "subscribe") == {"ok": False, "error": "internal"}
    assert client.is_connected("/toy")


def test_disconnect_forgets_the_client(runtime, connect):
    client = connect()
    ack(client, "subscribe")
    assert runtime.hub.clients() == 1
    client.disconnect("/toy")
    assert runtime.hub.clients() == 0


def test_builtin_collectors_stream_through_their_namespaces():
    app = create_app(SETTINGS)
    runtime = app.extensions["dashboard"]
    socketio = app.extensions["socketio"]
    assert sorted(runtime.runners) == sorted(c.name for c in BUILTIN if c.enabled_by_default)
    client = socketio.test_client(app, namespace="/memory")
    assert ack(client, "subscribe", {}, "/memory")["ok"] is True
    runtime.runners["memory"].tick()
    values = samples(client, "/memory")[0]["values"]
    assert 0 <= values["memory.used_percent"] <= 100


def test_unknown_events_get_an_error_ack(connect):
    reply = ack(connect(), "frobnicate", {})
    assert reply == {
        "ok": False,
        "error": "unknown event 'frobnicate' (known: filter, range, subscribe, unsubscribe)",
    }


def test_a_history_query_that_times_out_answers_from_memory(stored, clock, monkeypatch):
    runtime = stored.extensions["dashboard"]

    def too_slow(fn, timeout):
        raise TimeoutError(f"timed out after {timeout:g} s")

    monkeypatch.setattr(runtime.workers, "call", too_slow)
    client = stored.extensions["socketio"].test_client(stored, namespace="/toy")
    reply = ack(client, "subscribe", {"history": 86_400})
    assert reply["ok"] and reply["history"]["tier"] == "raw"
    # Only what the memory ring holds (3,600 readings here, 10 s apart), not the file's day.
    assert reply["history"]["ts"][0] >= clock.now - 3960 * 10
    assert reply["history"]["ts"][-1] == clock.now


def test_a_collector_stopped_by_a_reload_is_named_not_an_internal_error(runtime, connect, caplog):
    from dashboard.pipeline.registry import load_registry
    from dashboard.service.reload import apply
    from dashboard.settings import parse_settings

    client = connect()
    assert ack(client, "subscribe")["ok"]
    off = parse_settings({**SETTINGS, "collectors": {"toy": {"enabled": False}}})
    registry = load_registry(off, runtime.workers.call, classes=(Toy, Rows), eps=())
    assert apply(runtime, off, registry, lambda name: None) == ["toy stopped"]
    expected = {"ok": False, "error": "collector 'toy' is not running (disabled in settings)"}
    assert ack(client, "subscribe") == expected
    assert ack(client, "filter", {"match": "x"}) == expected
    assert client.is_connected("/toy")
    assert not [r for r in caplog.records if r.exc_info]  # refused, not a traceback


class Faulty(Rows):
    """A tabular collector whose filter code misbehaves as ``mode`` says."""

    name = "faulty"
    mode = "ok"

    def describe(self):
        return [Series("faulty.count", "procs", "Rows")]

    def collect(self):
        return Sample(values={"faulty.count": 3}, rows=[dict(r) for r in self.ROWS])

    def parse_filter(self, request):
        if self.mode == "parse-raises":
            raise RuntimeError("parse bug")
        if self.mode == "parse-garbage":
            return ["not", "a", "dict"]
        if self.mode == "parse-nan":
            return {"match": math.nan}
        return super().parse_filter(request)

    def apply_filter(self, flt, values, rows):
        if self.mode == "apply-raises":
            raise RuntimeError("apply bug")
        if self.mode == "apply-garbage":
            return "garbage"
        if self.mode == "apply-nan":
            return {"faulty.count": math.nan}, rows
        return super().apply_filter(flt, values, rows)


@pytest.fixture
def faulty(clock):
    app = create_app(SETTINGS, collectors=(Toy, Faulty), clock=clock)
    yield app, app.extensions["dashboard"]
    Faulty.mode = "ok"


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("parse-raises", "RuntimeError: parse bug"),
        ("parse-garbage", "bad output: parse_filter() returned a list; expected a dict"),
        ("parse-nan", "bad output: Out of range float values are not JSON compliant"),
    ],
)
def test_a_filter_check_that_fails_is_the_collectors_fault_not_the_clients(faulty, mode, error):
    app, runtime = faulty
    client = app.extensions["socketio"].test_client(app, namespace="/faulty")
    Faulty.mode = mode
    reply = ack(client, "filter", {"match": "a"}, "/faulty")
    assert reply == {
        "ok": False,
        "error": f"collector 'faulty' failed to check the filter: {error}",
    }
    health = runtime.runners["faulty"].health
    assert health.failures == 1 and health.state == "failing" and error in health.last_error
    Faulty.mode = "ok"
    assert ack(client, "filter", {"match": "a"}, "/faulty")["ok"]  # nothing left stuck


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("apply-raises", "apply_filter() raised RuntimeError: apply bug"),
        ("apply-garbage", "apply_filter() returned a str; expected (values, rows)"),
        ("apply-nan", "apply_filter() returned values that are not JSON"),
    ],
)
def test_a_filter_that_fails_costs_its_room_one_sample_and_nobody_else(faulty, clock, mode, error):
    app, runtime = faulty
    socketio = app.extensions["socketio"]
    filtered = socketio.test_client(app, namespace="/faulty")
    plain = socketio.test_client(app, namespace="/faulty")  # the default filter
    toy = socketio.test_client(app, namespace="/toy")
    assert ack(filtered, "filter", {"match": "alp"}, "/faulty")["ok"]
    for client, namespace in ((filtered, "/faulty"), (plain, "/faulty"), (toy, "/toy")):
        assert ack(client, "subscribe", None, namespace)["ok"]
    Faulty.mode = mode
    tick(runtime, clock, "faulty")
    tick(runtime, clock, "toy")
    assert samples(filtered, "/faulty") == samples(plain, "/faulty") == []  # both rooms filter
    assert len(samples(toy, "/toy")) == 1
    health = runtime.runners["faulty"].health
    assert health.state == "failing" and error in health.last_error
    Faulty.mode = "ok"
    tick(runtime, clock, "faulty")  # no backoff: the next run serves everyone again
    assert [r["name"] for r in samples(filtered, "/faulty")[0]["rows"]] == ["alpha", "alpine"]
    assert runtime.runners["faulty"].health.state == "ok"


def test_fleet_summarizes_every_host(runtime, app, clock):
    from dashboard.fleet import summary

    tick(runtime, clock)
    client = app.extensions["socketio"].test_client(app, namespace="/fleet")
    reply = ack(client, "subscribe", None, "/fleet")
    assert reply["ok"] and reply["every"] == summary.EVERY
    [line] = reply["hosts"]
    assert line["host"] == runtime.hub.host and line["stale"] is False
    assert set(line) >= {"cpu", "memory", "load_per_core", "filesystem", "net_in", "net_out"}
    runtime.hub.publish_fleet(summary.summaries(runtime), clock.now)
    pushed = samples(client, "/fleet", event="fleet")
    assert pushed and pushed[0]["hosts"][0]["host"] == runtime.hub.host
    assert pushed[0]["now"] == reply["now"] == clock.now
    assert ack(client, "subscribe", {"x": 1}, "/fleet")["ok"] is False
    assert ack(client, "unsubscribe", None, "/fleet") == {"ok": True}
    assert runtime.hub.fleet_followers() == 0


def test_ten_years_of_history_or_a_million_series_are_clamped_or_refused(runtime, clock, connect):
    """RELIABILITY A: a backfill of 10 years is clamped to what is kept; more series names
    than a collector may have are refused before any is looked up."""
    tick(runtime, clock, times=3)
    client = connect()
    reply = ack(client, "subscribe", {"history": 10 * 365 * 86_400})
    assert reply["ok"] and len(reply["history"]["ts"]) == 3  # all there is, nothing more
    reply = ack(client, "subscribe", {"since": clock.now - 10 * 365 * 86_400})
    assert reply["ok"] and len(reply["history"]["ts"]) == 3
    reply = ack(client, "subscribe", {"series": ["toy.a"] * 1_000_000})
    assert reply == {"ok": False, "error": "series: 1000000 names; at most 2000"}
