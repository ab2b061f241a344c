"""The ``range`` request (zoom and compare) against a real eventlet server and websocket.

The server opens a history file written beforehand on a clock set back in time: two hours
three days ago (beyond its 1 h raw retention: only rollups are left of them) and 45 minutes
ending five minutes ago (raw, inside retention). ``cpu.total`` is ``ts % 60`` there, so
every one-minute rollup has min 0, max 59, and every raw sample can be checked by its ts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from dashboard.history.tiers import History, Query
from dashboard.settings import HistorySettings
from tests.clock import T0, Clock
from tests.serverproc import ServerProcess, make_server, serving

pytestmark = pytest.mark.server
BUDGET = 1000  # history points per minute per connection (the smallest the settings take)
NOW = math.floor(time.time() / 600) * 600  # block-aligned, like the files the server writes
OLD = NOW - 3 * 86_400  # two hours of samples from here: rollups only, for the server
RECENT = NOW - 3000  # 45 minutes of samples from here: raw, inside retention


def value(ts: float) -> float:
    return float(ts % 60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, aged_history) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("range")
    # Two hours three days ago (rollups only, for the server), 45 minutes just gone (raw).
    aged_history(folder / "aged.sqlite3", [(OLD, 7200), (RECENT, 2700)], value)
    settings = (
        f'[server]\nasync_mode = "eventlet"\nhistory_points_per_minute = {BUDGET}\n'
        '[history]\npath = "aged.sqlite3"\nretention = "1h"\n'
    )
    with serving(make_server(folder, settings)) as made:
        yield made


@pytest.fixture
def cpu(server: ServerProcess, sio_client: Any) -> socketio.Client:
    """A fresh connection (its own history budget) on /cpu; no subscription."""
    return sio_client(server.url, ["/cpu"])


def ask(client: socketio.Client, payload: Any) -> dict[str, Any]:
    answer: dict[str, Any] = client.call("range", payload, namespace="/cpu", timeout=10)
    return answer


def test_a_30_s_range_inside_retention_is_every_raw_sample(cpu):
    start = RECENT + 600
    answer = ask(cpu, {"start": start, "end": start + 30, "series": ["cpu.total"]})
    assert answer["ok"] is True, answer
    assert (answer["collector"], answer["start"], answer["end"]) == ("cpu", start, start + 30)
    assert answer["interval"] == 1.0 and isinstance(answer["host"], str)
    history = answer["history"]
    assert (history["tier"], history["step"]) == ("raw", 0.0)
    assert history["ts"] == [start + i for i in range(1, 31)]  # start < ts <= end
    assert history["values"] == {"cpu.total": [value(t) for t in history["ts"]]}
    assert "min" not in history and "max" not in history


def test_a_range_beyond_retention_is_rollups_with_min_and_max(cpu):
    answer = ask(cpu, {"start": OLD, "end": OLD + 7200, "series": ["cpu.total"]})
    assert answer["ok"] is True, answer
    history = answer["history"]
    assert (history["tier"], history["step"]) == ("rollup", 60.0)
    assert len(history["ts"]) == 120  # one bucket a minute, stamped with its last sample
    assert history["ts"][0] == OLD + 59 and history["ts"][-1] == OLD + 7199
    assert set(history["values"]) == set(history["min"]) == set(history["max"]) == {"cpu.total"}
    assert set(history["min"]["cpu.total"]) == {0.0}
    assert set(history["max"]["cpu.total"]) == {59.0}
    assert all(0 < avg < 59 for avg in history["values"]["cpu.total"])


def test_a_rollup_range_is_thinned_to_its_points_and_keeps_the_extremes(cpu):
    answer = ask(cpu, {"start": OLD, "end": OLD + 7200, "series": ["cpu.total"], "points": 10})
    history = answer["history"]
    assert history["tier"] == "rollup" and 2 <= len(history["ts"]) <= 10
    assert history["step"] >= 720  # merged buckets: at least 2 h / 10 points each
    assert set(history["min"]["cpu.total"]) == {0.0}
    assert set(history["max"]["cpu.total"]) == {59.0}


def test_a_range_inside_retention_with_more_samples_than_points_is_rollups(cpu):
    start, end = RECENT, RECENT + 2700
    answer = ask(cpu, {"start": start, "end": end, "series": ["cpu.total"], "points": 100})
    history = answer["history"]
    assert history["tier"] == "rollup" and len(history["ts"]) <= 100
    assert max(history["max"]["cpu.total"]) == 59.0 and min(history["min"]["cpu.total"]) == 0.0
    assert all(start < t <= end for t in history["ts"])


def test_every_series_without_a_series_list(cpu):
    answer = ask(cpu, {"start": RECENT + 600, "end": RECENT + 630})
    assert {"cpu.total", "cpu.user"} <= set(answer["history"]["values"])


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"end": NOW}, "start: required (unix seconds)"),
        ({"start": NOW}, "end: required (unix seconds)"),
        ({"start": "yesterday", "end": NOW}, "start: expected a number of seconds, got a string"),
        ({"start": NOW, "end": NOW}, f"end = {NOW:g}: expected a time after start ({NOW:g})"),
        ({"start": -5, "end": NOW}, "start = -5: expected unix seconds >= 0"),
        ({"start": NOW - 40 * 86_400, "end": NOW},
         "end - start = 3.456e+06 s: at most 2.592e+06 s (what history keeps)"),
        ({"start": OLD, "end": NOW, "points": 5}, "points = 5: expected an integer 10..4000"),
        ({"start": OLD, "end": NOW, "points": 2.5},
         "points: expected an integer 10..4000, got a number"),
        ({"start": OLD, "end": NOW, "series": ["cpu.nope"]}, "series: unknown series 'cpu.nope'"),
        ({"start": OLD, "end": NOW, "host": "elsewhere"}, "host 'elsewhere' is not served here"),
        ({"start": OLD, "end": NOW, "since": OLD}, "unknown key 'since'"),
        ([OLD, NOW], "expected an object, got a list"),
    ],
    ids=["no-start", "no-end", "start-text", "empty", "negative", "too-long", "few-points",
         "float-points", "series", "host", "unknown-key", "not-object"],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_field(cpu, payload, error):
    answer = ask(cpu, payload)
    assert answer["ok"] is False and answer["error"].startswith(error), answer
    assert cpu.connected


def test_a_range_over_the_history_budget_is_rate_limited(server, cpu):
    """The budget subscribe's backfill pays from: a request above it spends all of it (it
    would never be served otherwise), the next one waits for the refill."""
    collectors = server.get_json("/api/collectors")["collectors"]
    count = len(next(c for c in collectors if c["namespace"] == "/cpu")["series"])
    assert count * 30 * 1440 > BUDGET  # 30 days of one-minute rollups per series
    month = {"start": NOW - 30 * 86_400, "end": NOW}
    assert ask(cpu, month)["ok"] is True
    answer = ask(cpu, month)
    assert answer["ok"] is False and answer["error"] == "rate_limited", answer
    assert 50 < answer["retry_after"] <= 60
    small = ask(cpu, {"start": RECENT + 600, "end": RECENT + 660})
    assert small["ok"] is False and small["error"] == "rate_limited"  # the bucket is empty
    assert cpu.connected


def test_a_memory_only_history_computes_rollups_from_its_window():
    """``[history] path = ""``: a range too long for raw points is bucketed from memory."""
    clock = Clock(T0 - 1)  # samples from T0 on: whole one-minute buckets
    history = History(HistorySettings(path=None), clock=clock)
    history.register("cpu", 1.0)
    for _ in range(1800):
        clock.now += 1
        history.append("cpu", clock.now, {"cpu.total": value(clock.now)})
    answer = history.answer(Query("cpu", clock.now - 1800, rollup=True, stats=True)).as_json()
    assert (answer["tier"], answer["step"], len(answer["ts"])) == ("rollup", 60.0, 30)
    assert set(answer["min"]["cpu.total"]) == {0.0} and set(answer["max"]["cpu.total"]) == {59.0}
