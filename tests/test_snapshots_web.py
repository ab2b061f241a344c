"""``snapshot`` on /processes and ``GET /api/processes`` against a real eventlet server:
its own process scans (real psutil), over a real Socket.IO client and HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from tests.serverproc import ServerProcess, make_server, serving
from tests.waits import wait_until

pytestmark = pytest.mark.server
FIELDS = {"pid", "name", "user", "cpu", "memory", "memory_percent", "status"}
SCANS = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    settings = '[server]\nasync_mode = "eventlet"\n[collectors.processes]\ninterval = 0.5\n'
    with serving(make_server(tmp_path_factory.mktemp("snapshots"), settings)) as made:

        def scanned() -> bool:
            runs: int = made.get_json("/healthz")["collectors"]["processes"]["runs"]
            return runs >= SCANS

        wait_until(scanned, f"{SCANS} process scans", timeout=30)
        yield made


@pytest.fixture
def processes(server: ServerProcess, sio_client: Any) -> socketio.Client:
    return sio_client(server.url, ["/processes", "/cpu"])


def ask(client: socketio.Client, payload: Any, namespace: str = "/processes") -> dict[str, Any]:
    answer: dict[str, Any] = client.call("snapshot", payload, namespace=namespace, timeout=10)
    return answer


def get(server: ServerProcess, query: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{server.url}/api/processes{query}", timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def check_snapshot(snapshot: dict[str, Any]) -> None:
    assert set(snapshot) == {"ts", "rows", "total", "prev", "next"}
    assert snapshot["rows"] and len(snapshot["rows"]) <= snapshot["total"] <= 40
    assert all(set(row) == FIELDS for row in snapshot["rows"])
    assert any(row["memory"] for row in snapshot["rows"])


def test_the_newest_snapshot_has_its_own_ts_and_an_earlier_neighbour(processes):
    now = time.time()
    answer = ask(processes, {"ts": now})
    assert answer["ok"] is True and isinstance(answer["host"], str), answer
    snapshot = answer["snapshot"]
    check_snapshot(snapshot)
    assert now - 5 < snapshot["ts"] <= now and snapshot["ts"] != now  # the scan's own time
    assert snapshot["prev"] is not None and snapshot["prev"] < snapshot["ts"]
    earlier = ask(processes, {"ts": snapshot["prev"]})["snapshot"]
    assert earlier["ts"] == snapshot["prev"] and earlier["next"] == snapshot["ts"]


def test_healthz_says_how_the_snapshots_are_kept(server):
    part = server.get_json("/healthz")["snapshots"]
    assert part["state"] == "ok" and part["path"].endswith(".sqlite3") and part["error"] is None
    assert part["dropped"] == 0 and isinstance(part["waiting"], int)


def test_before_the_first_scan_is_the_first_snapshot(processes):
    snapshot = ask(processes, {"ts": 0})["snapshot"]
    check_snapshot(snapshot)
    assert snapshot["prev"] is None and snapshot["next"] is not None


def test_the_filter_is_the_live_tables(processes):
    answer = ask(processes, {"ts": time.time(), "filter": {"sort": "memory", "limit": 2}})
    rows = answer["snapshot"]["rows"]
    assert len(rows) == 2 and rows[0]["memory"] >= rows[1]["memory"]
    assert answer["snapshot"]["total"] > 2
    none = ask(processes, {"ts": time.time(), "filter": {"match": "no-such-process-at-all"}})
    assert none["snapshot"]["rows"] == [] and none["snapshot"]["total"] > 0


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "ts: required (unix seconds)"),
        ({"ts": "now"}, "ts: expected a number of seconds, got a string"),
        ({"ts": 1, "host": "elsewhere"}, "host 'elsewhere' is not served here"),
        ({"ts": 1, "filter": {"sort": "age"}}, "processes filter: 'sort' must be one of"),
        ({"ts": 1, "filter": {"limit": 0}}, "processes filter: 'limit' must be an integer"),
        ({"ts": 1, "filter": []}, "processes filter: expected an object"),
        ({"ts": 1, "at": 1}, "unknown key 'at'"),
        ("now", "expected an object, got a string"),
    ],
    ids=["no-ts", "ts-text", "host", "sort", "limit", "filter-list", "unknown", "not-object"],
)
def test_bad_input_is_refused_naming_the_field(processes, payload, error):
    answer = ask(processes, payload)
    assert answer["ok"] is False and answer["error"].startswith(error), answer
    assert processes.connected


def test_only_processes_answers_snapshot(processes):
    answer = ask(processes, {"ts": 1}, namespace="/cpu")
    assert answer["ok"] is False and answer["error"].startswith("unknown event 'snapshot'")


def test_http_gives_the_same_snapshot_as_the_socket(server, processes):
    status, body = get(server, "")  # at: now
    assert status == 200 and set(body) == {"host", "snapshot"}
    check_snapshot(body["snapshot"])
    assert body["snapshot"]["ts"] > time.time() - 5
    first = ask(processes, {"ts": 0})
    status, again = get(server, "?at=0")
    assert status == 200 and again == {"host": first["host"], "snapshot": first["snapshot"]}
    status, cut = get(server, f"?at={time.time()}&sort=pid&limit=1&host={body['host']}")
    assert status == 200 and len(cut["snapshot"]["rows"]) == 1


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?seconds=5", "unknown parameter 'seconds' (known: at, host, limit, match, sort)"),
        ("?at=yesterday", "at='yesterday': expected unix seconds"),
        ("?at=nan", "at='nan': expected unix seconds"),
        ("?limit=2.5", "limit='2.5': expected an integer"),
        ("?limit=500", "processes filter: 'limit' must be an integer from 1 to 200, got 500"),
        ("?sort=age", "processes filter: 'sort' must be one of cpu, memory, pid, name"),
        ("?host=elsewhere", "host 'elsewhere' is not served here"),
    ],
    ids=["unknown", "at", "nan", "limit", "limit-range", "sort", "host"],
)
def test_http_bad_input_is_a_400_naming_it(server, query, error):
    status, body = get(server, query)
    assert status == 400 and body["error"].startswith(error), body
