"""Whatever a client sends, a real server answers in the protocol's shape (Hypothesis).

One server (the default eventlet mode) for the module. Arbitrary JSON, payloads shaped like
real ones with wrong or edge values, and any event name go to every namespace the server
lists, plus ``/fleet`` and ``/alerts`` (its own events: subscribe, silence, ack,
unsubscribe, with silences and acks shaped like real ones), over a real Socket.IO
connection; every answer is checked against README's protocol and the connection must
survive. Then what no library client sends, as
raw packets: unreadable ones, deep nesting, binary events whose attachments never come (the
server's memory is read before and after). The server's log must hold no traceback.
"""

from __future__ import annotations

import json
import math
import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, currently_in_test_context, given, note, settings
from hypothesis import event as tally
from hypothesis import strategies as st

from tests.serverproc import ServerProcess, make_server
from tests.waits import wait_until

pytestmark = pytest.mark.server
ACK_WITHIN = 2.0  # seconds: a bound for a live server on a shared machine, not a benchmark
MAX_ERROR = 300  # characters: an error names what was wrong; it never echoes a payload back
LIMIT = 60_000  # bytes a message stays under ([server] max_message_bytes is 65536)
EVENTS = ("subscribe", "filter", "unsubscribe", "range", "snapshot")
ALERT_EVENTS = ("subscribe", "silence", "ack", "unsubscribe")
# conftest's autouse guard (server tests carry their mark) is function-scoped; it keeps no
# state between examples, so running every example under one instance of it is right.
FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same examples every run: CI never fails on a new random draw
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


# --- what is sent -------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=()), max_size=24) | st.sampled_from(
    ["", "cpu", "cpu.total", "../../etc/passwd", "$(id)", "\x00", "\x1b[2J", "\u202e",
     "\ud800", "(a+)+$", "x" * 2000, "__malformed__", "connect"]
)  # fmt: skip
NUMBERS = st.integers() | st.floats() | st.sampled_from(
    [2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**30, 2**1000, -0.0, 1e308, 5e-324]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)
ONE = JSON.map(lambda value: (value,))
# An event's arguments as sent: mostly one (the protocol's case), else none or two.
ARGS = ONE | ONE | ONE | st.just(()) | st.tuples(JSON, JSON)
EDGE = JSON | st.sampled_from([0, -1, 1, 200, 201, 86400 * 3650, 1e12, math.nan, math.inf])
NAMES = st.lists(st.sampled_from(["lo", "eth0", "sda", "nvme0n1"]) | TEXT | JSON, max_size=5)


# Unix seconds from past the rollup retention (30 days) to a minute ahead.
AROUND_NOW = st.floats(-32 * 86_400, 60).map(lambda offset: time.time() + offset)
FILTER_KEYS = {"/processes": ["match", "sort", "limit"],
               "/cgroups": ["match", "sort", "limit", "top"],
               "/network": ["interfaces"], "/disk": ["devices"]}  # fmt: skip
# The sorts each table takes, as README's protocol lists them.
TABLE_SORTS = {"/processes": ("cpu", "memory", "pid", "name"),
               "/cgroups": ("cpu", "memory", "pids", "read", "write", "name")}  # fmt: skip


def shaped(
    event: str, namespace: str, series: list[str], host: str
) -> st.SearchStrategy[dict[str, Any]]:
    """Payloads with the real keys of the event (on this namespace), each value plausible
    (twice as likely) or edge or junk; half of the ranges whole (a start, an end after it),
    half of the snapshots with a ``ts``."""
    plausible = {
        "series": st.lists(st.sampled_from(series) | TEXT, max_size=6),
        "history": st.floats(-1e12, 1e12) | st.integers(),
        "since": st.floats(0, 4e9),
        "host": st.just(host) | TEXT,
        "match": st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=200),
        "sort": st.sampled_from(["cpu", "memory", "pid", "pids", "read", "name", "CPU", ""]),
        "limit": st.integers(-5, 300),
        "top": st.integers(-1, 5001) | st.booleans(),
        "interfaces": NAMES,
        "devices": NAMES,
        "start": AROUND_NOW,
        "end": AROUND_NOW,
        "points": st.integers(0, 5000),
        "ts": AROUND_NOW,
        "filter": st.fixed_dictionaries(
            {},
            optional={
                "match": st.sampled_from(["", "python", "(a+)+$", "\x00"]) | TEXT,
                "sort": st.sampled_from(["cpu", "memory", "pid", "name", "CPU"]),
                "limit": st.integers(-5, 300),
            },
        )
        | JSON,
    }
    values = {key: value | value | EDGE for key, value in plausible.items()}
    if event == "subscribe":
        keys = ["series", "history", "since", "host"]
    elif event == "range":
        keys = ["start", "end", "series", "host", "points"]
    elif event == "snapshot":
        keys = ["ts", "host", "filter"]
    else:
        keys = FILTER_KEYS.get(namespace, list(values)[4:])  # the others take no filter
    chosen = st.lists(st.sampled_from(keys), unique=True, max_size=len(keys))
    some = chosen.flatmap(lambda ks: st.fixed_dictionaries({k: values[k] for k in ks}))
    if event == "snapshot":
        optional = {k: plausible[k] for k in ("host", "filter")}
        return st.fixed_dictionaries({"ts": AROUND_NOW}, optional=optional) | some
    if event != "range":
        return some
    optional = {k: plausible[k] for k in ("series", "host", "points")}
    whole = st.builds(
        lambda start, span, rest: {"start": start, "end": start + span, **rest},
        AROUND_NOW, st.floats(0.001, 31 * 86_400), st.fixed_dictionaries({}, optional=optional),
    )  # fmt: skip
    return whole | some


def alert_shaped(event: str, host: str) -> st.SearchStrategy[Any]:
    """/alerts payloads: half of them whole (every key, plausible values: many are made),
    the rest with some of the real keys (and a stray one now and then), each value
    plausible, edge or junk. Silences end anywhere from the past to past 30 days ahead."""
    glob = st.sampled_from(["*", "fill", "cpu.*", host, "[", "[!a-", "**?", "a" * 200]) | TEXT
    label = st.sampled_from(["rule", "host", "series"])
    value = glob | glob | EDGE
    if event == "silence":
        ends = st.floats(-86_400, 40 * 86_400).map(lambda ahead: time.time() + ahead)
        soon = st.floats(60, 29 * 86_400).map(lambda ahead: time.time() + ahead)
        huge = st.sampled_from([2**2000, -(10**400), 10**308 * 2])  # no float holds them
        why = st.sampled_from(["disk swap", " maintenance ", "x" * 1000]) | TEXT
        whole = st.fixed_dictionaries(
            {"matchers": st.dictionaries(label, glob, max_size=3),
             "ends": soon | soon | ends | huge, "comment": why}
        )  # fmt: skip
        plausible = {
            "matchers": st.dictionaries(label | TEXT, value, max_size=4) | EDGE,
            "ends": ends | huge | EDGE,
            "comment": TEXT | TEXT | EDGE | st.just(" " * 3) | st.just("y" * 1001),
        }
    elif event == "ack":
        whole = st.fixed_dictionaries({k: glob for k in ("rule", "host", "series")},
                                      optional={"comment": TEXT})  # fmt: skip
        plausible = {name: value for name in ("rule", "host", "series")}
        plausible["comment"] = TEXT | EDGE
    else:
        return st.sampled_from([{}, None]) | JSON
    keys = [*plausible, "stray"]
    plausible["stray"] = JSON
    chosen = st.lists(st.sampled_from(keys), unique=True, max_size=len(keys))
    return whole | chosen.flatmap(lambda ks: st.fixed_dictionaries({k: plausible[k] for k in ks}))


# --- the server and its clients -----------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # The request limits have their own tests (test_limits.py); here every answer is the
    # handlers' own, at the pace Hypothesis sets.
    unlimited = "requests_per_second = 10000\nhistory_points_per_minute = 1000000000\n"
    made = make_server(tmp_path_factory.mktemp("fuzz"), unlimited, async_mode="eventlet")
    made.start()
    try:
        yield made
    finally:
        made.stop()
    assert_clean_log(made)


def assert_clean_log(server: ServerProcess) -> None:
    log = server.output()
    for bad in ("Traceback", "RecursionError", "Logging error"):
        assert bad not in log, f"{bad!r} in the server's log:\n{log[-6000:]}"


@pytest.fixture(scope="module")
def listing(server: ServerProcess) -> dict[str, Any]:
    """GET /api/collectors: this host's name and every collector with its series."""
    return server.get_json("/api/collectors")


@pytest.fixture(scope="module")
def namespaces(listing: dict[str, Any]) -> list[str]:
    listed = [c["namespace"] for c in listing["collectors"]]
    assert "/cpu" in listed and "/processes" in listed
    return [*listed, "/fleet", "/alerts"]


@pytest.fixture(scope="module")
def client(server: ServerProcess, namespaces: list[str]) -> Iterator[socketio.Client]:
    sio = socketio.Client(reconnection=False)
    sio.connect(server.url, namespaces=namespaces, transports=["websocket"], wait_timeout=10)
    yield sio
    sio.disconnect()
    ws = getattr(sio.eio, "ws", None)
    if ws is not None:
        ws.shutdown()  # see conftest's sio_client: a closed connection's socket stays open


def ask(client: socketio.Client, namespace: str, event: str, args: tuple[Any, ...]) -> Any:
    """The ack to ``event`` with exactly ``args`` (python-socketio spreads a tuple)."""
    tell(f"{namespace} {event} {args!r:.300}")
    try:
        answer = client.call(event, args, namespace=namespace, timeout=ACK_WITHIN)
    except socketio.exceptions.TimeoutError:
        pytest.fail(f"no answer within {ACK_WITHIN:g} s to {namespace} {event} {args!r:.300}")
    tell(f"answer: {answer!r:.300}")
    if currently_in_test_context():  # what was reached: pytest --hypothesis-show-statistics
        ok = isinstance(answer, dict) and answer.get("ok") is True
        where = namespace if namespace in ("/fleet", "/processes", "/alerts") else "/<collector>"
        known = event in (ALERT_EVENTS if namespace == "/alerts" else EVENTS)
        tally(f"{where} {event if known else '<other>'}: {'ok' if ok else 'refused'}")
    if isinstance(answer, dict) and answer.get("error") == "rate_limited":
        # Allowed by the protocol; wait as told (bounded) so the next example is judged fairly.
        time.sleep(min(float(answer["retry_after"]), 5.0))
    return answer


def tell(text: str) -> None:
    """Shown with a failing example (Hypothesis's notes exist only inside its tests)."""
    if currently_in_test_context():
        note(text)


def send_raw(
    client: socketio.Client, namespace: str, text: str, kind: str = "2"
) -> Callable[[], Any]:
    """Send ``<kind><namespace>,<id><text>`` (a packet written by hand, by default an event,
    with an ack id); the returned function waits for its ack."""
    answers: queue.Queue[Any] = queue.Queue()
    ack_id = client._generate_ack_id(namespace, lambda *args: answers.put(args))
    client.eio.send(f"{kind}{namespace},{ack_id}{text}")

    def answer() -> Any:
        try:
            args = answers.get(timeout=ACK_WITHIN)
        except queue.Empty:
            pytest.fail(f"no answer within {ACK_WITHIN:g} s to {namespace} {text[:200]!r}")
        return args[0] if len(args) == 1 else args

    return answer


# --- what comes back ----------------------------------------------------------------------


def check(namespace: str, event: str, answer: Any) -> None:
    """``answer`` is a well-formed refusal, or the protocol's success shape for the event."""
    assert isinstance(answer, dict) and isinstance(answer.get("ok"), bool), answer
    if not answer["ok"]:
        check_refusal(answer)
    elif namespace == "/fleet":
        check_fleet(event, answer)
    elif namespace == "/alerts":
        check_alerts(event, answer)
    else:
        check_collector(namespace, event, answer)


def check_refusal(answer: dict[str, Any]) -> None:
    error = answer["error"]
    assert isinstance(error, str) and error.strip(), answer
    if error == "rate_limited":
        assert set(answer) == {"ok", "error", "retry_after"}
        assert finite(answer["retry_after"]) and answer["retry_after"] >= 0
        return
    assert set(answer) == {"ok", "error"}, answer
    assert "Traceback" not in error and 'File "' not in error, error
    assert len(error) <= MAX_ERROR, f"a {len(error)}-character error: {error[:200]}..."
    assert error != "internal"  # an unexpected exception: the log says which
    # The built-in collectors' own filter code never fails on what a client sends.
    assert "failed to check the filter" not in error, error


def check_collector(namespace: str, event: str, answer: dict[str, Any]) -> None:
    assert event in EVENTS, f"{event!r} was answered ok: {answer}"
    if event == "unsubscribe":
        assert answer == {"ok": True}
    elif event == "filter":
        assert set(answer) == {"ok", "filter"} and isinstance(answer["filter"], dict)
        check_filter(namespace, answer["filter"])
    elif event == "range":
        check_range(namespace, answer)
    elif event == "snapshot":
        check_snapshot(namespace, answer)
    else:
        check_subscribe(namespace, answer)


def check_filter(namespace: str, flt: dict[str, Any]) -> None:
    if namespace in TABLE_SORTS:
        assert set(flt) == {"match", "sort", "limit"} | (
            {"top"} if namespace == "/cgroups" else set()
        )
        assert namespace != "/cgroups" or (type(flt["top"]) is int and 0 <= flt["top"] <= 5000)
        assert isinstance(flt["match"], str) and flt["sort"] in TABLE_SORTS[namespace]
        assert type(flt["limit"]) is int and 1 <= flt["limit"] <= 200
    else:
        [(key, names)] = flt.items()
        assert key in ("interfaces", "devices") and isinstance(names, list)
        assert all(isinstance(name, str) and name for name in names)


def check_subscribe(namespace: str, answer: dict[str, Any]) -> None:
    assert set(answer) == {"ok", "collector", "host", "interval", "seq", "series", "history"}
    assert "/" + answer["collector"] == namespace and isinstance(answer["host"], str)
    assert finite(answer["interval"]) and answer["interval"] > 0
    assert type(answer["seq"]) is int and answer["seq"] >= 0
    for series in answer["series"]:
        assert set(series) == {"name", "unit", "label"}
        assert all(isinstance(value, str) for value in series.values())
    history = answer["history"]
    assert {"ts", "values"} <= set(history) <= {"ts", "values", "tier", "step"}
    assert all(finite(ts) for ts in history["ts"])
    for values in history["values"].values():
        assert len(values) == len(history["ts"])
        assert all(v is None or finite(v) for v in values)
    if "tier" in history:
        assert history["tier"] in ("raw", "rollup") and finite(history["step"])


def check_range(namespace: str, answer: dict[str, Any]) -> None:
    assert set(answer) == {"ok", "collector", "host", "start", "end", "interval", "history"}
    assert "/" + answer["collector"] == namespace and isinstance(answer["host"], str)
    assert finite(answer["start"]) and finite(answer["end"]) and answer["start"] < answer["end"]
    history = answer["history"]
    assert history["tier"] in ("raw", "rollup") and finite(history["step"])
    stats = {"min", "max"} if history["tier"] == "rollup" else set()
    assert set(history) == {"ts", "values", "tier", "step", *stats}
    assert all(answer["start"] < ts <= answer["end"] for ts in history["ts"])
    for key in ("values", *stats):
        for values in history[key].values():
            assert len(values) == len(history["ts"])
            assert all(v is None or finite(v) for v in values)


def check_snapshot(namespace: str, answer: dict[str, Any]) -> None:
    assert namespace == "/processes", f"snapshot answered ok on {namespace}: {answer}"
    assert set(answer) == {"ok", "host", "snapshot"} and isinstance(answer["host"], str)
    snapshot = answer["snapshot"]
    if snapshot is None:  # nothing stored yet for that host
        return
    assert set(snapshot) == {"ts", "rows", "total", "prev", "next"} and finite(snapshot["ts"])
    assert type(snapshot["total"]) is int and len(snapshot["rows"]) <= snapshot["total"]
    for neighbour in ("prev", "next"):
        assert snapshot[neighbour] is None or finite(snapshot[neighbour])
    for row in snapshot["rows"]:
        assert set(row) == {"pid", "name", "user", "cpu", "memory", "memory_percent", "status"}


def check_fleet(event: str, answer: dict[str, Any]) -> None:
    if event == "unsubscribe":
        assert answer == {"ok": True}
        return
    assert event == "subscribe", f"{event!r} was answered ok: {answer}"
    assert set(answer) == {"ok", "every", "now", "hosts"}
    assert finite(answer["every"]) and finite(answer["now"])
    for host in answer["hosts"]:
        assert {"host", "last_seen", "stale", "cpu", "memory"} <= set(host)


def check_alerts(event: str, answer: dict[str, Any]) -> None:
    assert event in ALERT_EVENTS, f"{event!r} was answered ok: {answer}"
    if event == "unsubscribe":
        assert answer == {"ok": True}
    elif event == "subscribe":
        assert set(answer) == {"ok", "alerts", "transitions", "silences", "rules", "restarts"}
        assert all(finite(ts) for ts in answer["restarts"]) and answer["restarts"]
        for silence in answer["silences"]:
            assert set(silence) == {"id", "matchers", "ends", "comment", "created", "by"}
            assert finite(silence["ends"]) and silence["comment"].strip()
    elif event == "silence":
        assert set(answer) == {"ok", "id"} and isinstance(answer["id"], str) and answer["id"]
    else:
        assert set(answer) == {"ok", "alert"} and answer["alert"]["acked"] is True


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fits(args: tuple[Any, ...]) -> bool:
    """Under the size limit as the client will encode it (a larger message closes the
    connection by design: tests/test_server.py covers that)."""
    return len(json.dumps(["event", *args])) < LIMIT


# --- the properties -----------------------------------------------------------------------


@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_any_json_at_any_event_is_answered_in_shape(client, namespaces, data):
    namespace = data.draw(st.sampled_from(namespaces), "namespace")
    known = ALERT_EVENTS if namespace == "/alerts" else EVENTS
    event = data.draw(st.sampled_from([*known, "no-such-event"]), "event")
    args = data.draw(ARGS.filter(fits), "args")
    check(namespace, event, ask(client, namespace, event, args))
    assert client.connected


@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_payloads_shaped_like_real_ones_are_answered_in_shape(client, listing, data):
    collectors = {c["namespace"]: c for c in listing["collectors"]}
    namespace = data.draw(st.sampled_from(sorted(collectors)), "namespace")
    event = data.draw(st.sampled_from(["subscribe", "filter", "range", "snapshot"]), "event")
    series = [s["name"] for s in collectors[namespace]["series"]] or ["none"]
    payloads = shaped(event, namespace, series, listing["host"])
    payload = data.draw(payloads.filter(lambda p: fits((p,))), "payload")
    check(namespace, event, ask(client, namespace, event, (payload,)))
    assert client.connected


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_snapshot_requests_shaped_like_real_ones_are_answered_in_shape(client, listing, data):
    """What was running then: a filter the live table refuses is refused here too, naming
    the field; a good request is the nearest snapshot (or none yet)."""
    payload = data.draw(shaped("snapshot", "/processes", [], listing["host"]), "payload")
    if fits((payload,)):
        check("/processes", "snapshot", ask(client, "/processes", "snapshot", (payload,)))
    assert client.connected


@settings(FUZZ, max_examples=300)
@given(data=st.data())
def test_alerts_requests_shaped_like_real_ones_are_answered_in_shape(client, listing, data):
    """A silence or ack with a wrong or edge value is an ``{"ok": false, "error"}`` that
    names it, never ``internal``; a good one is made (and pushed: the client subscribes)."""
    event = data.draw(st.sampled_from(ALERT_EVENTS), "event")
    args = data.draw(alert_shaped(event, listing["host"]).map(lambda p: (p,)) | ARGS, "args")
    if fits(args):
        check("/alerts", event, ask(client, "/alerts", event, args))
    assert client.connected


@pytest.mark.parametrize(
    ("event", "payload", "error"),
    [
        ("silence", {"matchers": {}, "ends": 2**2000, "comment": "x"},
         "ends: expected unix seconds (a number), got an integer of 2001 bits"),
        ("silence", {"matchers": {}, "ends": -(10**400), "comment": "x"},
         "ends: expected unix seconds (a number), got an integer of 1329 bits"),
        # ends: a day ahead of collection, so still ahead when a long run reaches this test
        ("silence", {"matchers": {}, "ends": time.time() + 86_400, "comment": "why\ud800"},
         "comment: not valid text (a lone surrogate at character 4)"),
        ("ack", {"rule": "\udfff", "host": "h", "series": "s"},
         "rule: not valid text (a lone surrogate at character 1)"),
    ],
    ids=["huge", "huge-negative", "surrogate-comment", "surrogate-rule"],
)  # fmt: skip
def test_alerts_values_json_carries_but_no_float_or_utf_8_holds(server, client, event, payload,
                                                                 error):  # fmt: skip
    """An ``ends`` past any float was "internal" (an OverflowError; the property above
    found it); a lone surrogate in a comment failed as SQLite encoded it, in words that
    named no field."""
    assert ask(client, "/alerts", event, (payload,)) == {"ok": False, "error": error}
    assert_clean_log(server)


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_any_event_name_is_answered_in_shape(client, namespaces, data):
    """Socket.IO's own event names and ours for a malformed message are refused too."""
    namespace = data.draw(st.sampled_from(namespaces), "namespace")
    known = ALERT_EVENTS if namespace == "/alerts" else EVENTS
    event = data.draw(TEXT.filter(lambda name: name not in known), "event")
    check(namespace, event, ask(client, namespace, event, data.draw(ARGS.filter(fits))))
    assert client.connected


# --- by hand: what no library client sends ------------------------------------------------

DEEP = 5_000  # levels: past the parser's recursion limit, ~10 KB, inside the size limit
SHALLOW = 900  # levels: the parser takes it; anything that walks it recursively may not


@pytest.mark.parametrize(
    ("namespace", "text"),
    [
        ("/cpu", '["subscribe",' + "[" * DEEP + "]" * DEEP + "]"),
        ("/cpu", '["subscribe",' + '{"a":' * DEEP + "1" + "}" * DEEP + "]"),
        ("/fleet", '["subscribe",' + "[" * DEEP + "]" * DEEP + "]"),
        ("/cpu", '["subscribe",{"series":[' + "[" * SHALLOW + "]" * SHALLOW + "]}]"),
        ("/cpu", '["subscribe",{"host":' + "[" * SHALLOW + "]" * SHALLOW + "}]"),
        ("/processes", '["filter",{"match":' + "[" * SHALLOW + "]" * SHALLOW + "}]"),
        ("/network", '["filter",{"interfaces":[' + "[" * SHALLOW + "]" * SHALLOW + "]}]"),
        ("/processes", '["filter",' + "[" * SHALLOW + "]" * SHALLOW + "]"),
    ],
    ids=["list", "object", "fleet", "series", "host", "match", "interfaces", "filter"],
)
def test_deeply_nested_json_within_the_size_limit_is_refused(server, client, namespace, text):
    assert len(text) < LIMIT
    answer = send_raw(client, namespace, text)()
    assert answer["ok"] is False
    check_refusal(answer)
    assert client.connected
    assert_clean_log(server)
    health = server.get_json("/healthz")["collectors"]
    assert all(c["failures"] == 0 for c in health.values()), health


LONG = "x" * 60_000


@pytest.mark.parametrize(
    ("namespace", "event", "payload"),
    [
        ("/cpu", "subscribe", {"series": [LONG]}),
        ("/cpu", "subscribe", {"host": LONG}),
        ("/cpu", "subscribe", {LONG: 1}),
        ("/cpu", "subscribe", LONG),
        ("/processes", "filter", {"match": LONG}),
        ("/processes", "filter", {"sort": LONG}),
        ("/processes", "filter", {LONG: 1}),
        ("/network", "filter", {"interfaces": [LONG]}),
        ("/disk", "filter", {"devices": LONG}),
        ("/cpu", LONG[:50_000], {}),
        ("/fleet", "subscribe", {"x": LONG}),
    ],
    ids=lambda value: value[:12] if isinstance(value, str) else type(value).__name__,
)
def test_a_60_kb_string_is_refused_without_echoing_it(server, client, namespace, event, payload):
    answer = ask(client, namespace, event, (payload,))
    assert answer["ok"] is False
    check_refusal(answer)
    assert client.connected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"a":1}', "an event is [name, payload], got an object"),
        ("[]", "an event is [name, payload], got an empty list"),
        ('"subscribe"', "an event is [name, payload], got a string"),
        ('[5,{}]', "an event's name is a string, got a number"),
        ('[["subscribe"],{}]', "an event's name is a string, got a list"),
        ('["connect",{}]', "event 'connect' is reserved"),
        ('["disconnect","client disconnect"]', "event 'disconnect' is reserved"),
        ('["__malformed__","' + "x" * 50_000 + '"]', "event '__malformed__' is reserved"),
        ('["subscribe",{', "unreadable: 'Expecting property name enclosed in double quotes"),
        ('["subscribe",{"history":' + "9" * 5_000 + "}]", "unreadable: 'Exceeds the limit (4300"),
    ],
    ids=["object", "empty", "string", "name", "unhashable", "connect", "disconnect",
         "ours", "json", "bigint"],
)  # fmt: skip
def test_an_unreadable_event_is_refused_with_an_ack(server, client, text, error):
    answer = send_raw(client, "/cpu", text)()
    assert answer["ok"] is False and answer["error"].startswith("malformed message: " + error)
    check_refusal(answer)
    assert ask(client, "/cpu", "subscribe", ({},))["ok"] is True
    assert_clean_log(server)


IGNORED = "a client's Socket.IO packet ignored: "


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        ("9/cpu,", "unknown packet type '9'"),
        ('4/cpu,{"message":"no"}', "CONNECT_ERROR is the server's to send"),
        ("x", "unknown packet type 'x'"),
        ('61-/cpu,7[{"_placeholder":true,"num":0}]', "binary attachments are not part of"),
        (b"\x00\x01binary", "a bytes frame outside any packet"),
        ('3/cpu,4711["nobody asked"]', None),  # python-socketio drops an unknown ack itself
    ],
    ids=["type", "connect_error", "junk", "binary_ack", "frame", "ack"],
)
def test_a_packet_with_nothing_to_answer_is_dropped(server, client, packet, reason):
    warned = server.output().count(IGNORED)
    client.eio.send(packet)
    if reason is not None:
        line = wait_until(lambda: server.output().count(IGNORED) > warned and last(server), reason)
        assert line.startswith(IGNORED + reason), line
    assert ask(client, "/cpu", "subscribe", ({},))["ok"] is True  # still connected and served
    assert_clean_log(server)


def last(server: ServerProcess) -> str:
    """The newest 'packet ignored' warning, from its reason on."""
    text = server.output()
    return text[text.rindex(IGNORED) :].splitlines()[0]


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


def test_binary_events_whose_attachments_never_come_leave_memory_flat(server, client):
    """Each claims 1,000 attachments and sends none: python-socketio alone would keep every
    later frame as one (10 MB here), until the connection closes."""
    header = '["subscribe",{"_placeholder":true,"num":0},"' + "p" * 10_000 + '"]'
    refused = "malformed message: binary attachments are not part of this protocol"

    def burst(times: int) -> None:
        # In rounds of 50 (500 KB): the answers to one round come as soon as it is read.
        for _ in range(times // 50):
            waits = [send_raw(client, "/cpu", header, kind="51000-") for _ in range(50)]
            assert [wait() for wait in waits] == [{"ok": False, "error": refused}] * 50

    burst(50)  # the server's allocator and caches settle first
    before = rss_kb(server.pid)
    burst(1_000)
    growth = rss_kb(server.pid) - before
    print(f"server RSS {before} kB before 1,000 unfinished binary events, growth {growth} kB")
    assert growth < 5 * 1024, f"the server grew by {growth} kB"
    assert ask(client, "/cpu", "subscribe", ({},))["ok"] is True
    assert server.get_json("/healthz")["status"] == "ok"
