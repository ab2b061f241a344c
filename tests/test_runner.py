"""The per-collector error boundary: faults are counted and contained, cadence is kept."""

from __future__ import annotations

import logging
import math
import threading
import time

import pytest

from collectors import Sample, Series
from dashboard.pipeline import filters
from dashboard.pipeline.filters import CollectorFault
from dashboard.pipeline.payloads import Prepared
from dashboard.pipeline.runner import CollectorRunner
from dashboard.workers import NativeWorkers
from tests.clock import Clock
from tests.toy import Toy
from tests.waits import wait_until


@pytest.fixture
def published():
    return []


@pytest.fixture
def mono():
    return Clock(100.0)


class Outlet:
    """Records what the runner publishes as (name, reading, changed series)."""

    def __init__(self, published: list) -> None:
        self.published = published

    def prepare(self, name, reading, series):
        return Prepared(reading, series, {}, [])

    def publish(self, name, prepared):
        self.published.append((name, prepared.reading, prepared.series))


@pytest.fixture
def make(published, mono):
    def factory(timeout: float = 1.0) -> CollectorRunner:
        toy = Toy()
        return CollectorRunner(toy, 1.0, timeout, NativeWorkers("threading"), Outlet(published),
                               series=toy.describe(), clock=lambda: 1_800_000_000.0,
                               monotonic=mono)  # fmt: skip

    return factory


def test_a_good_run_publishes_and_reports_ok(make, published):
    runner = make()
    runner.tick()
    assert runner.health.state == "ok" and runner.health.runs == 1
    (name, reading, series) = published[0]
    assert name == "toy" and reading.values == {"toy.a": 1.0, "toy.b": 2.0} and series is None


def test_an_exception_is_counted_logged_once_with_traceback_then_one_line(make, mono, caplog):
    runner = make()
    runner.collector.next = RuntimeError("sensor unplugged")
    with caplog.at_level(logging.WARNING, logger="dashboard.pipeline.runner"):
        for _ in range(3):
            mono.now += 100
            runner.tick()
    assert runner.health.failures == 3 and runner.health.state == "failing"
    assert runner.health.last_error == "RuntimeError: sensor unplugged"
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and len(caplog.records) == 3


def test_failures_back_off_exponentially_and_recover(make, mono):
    runner = make()
    runner.collector.next = ValueError("bad")
    runs = []
    for _ in range(20):  # 20 seconds of one-second ticks
        runner.tick()
        runs.append(runner.health.runs)
        mono.now += 1
    assert runs[-1] == 5  # ran at t=0, 1, 3, 7, 15 rather than 20 times
    runner.collector.next = {"toy.a": 5.0}
    mono.now += 60
    runner.tick()
    assert runner.health.state == "ok" and runner.health.last_error is None


def test_sys_exit_in_a_collector_is_a_failure_not_an_exit(make):
    runner = make()
    runner.collector.next = SystemExit(3)
    runner.tick()
    assert runner.health.last_error == "called sys.exit(3)"


def test_a_hung_collector_times_out_and_is_not_called_again_while_hung(make, mono, published):
    release = threading.Event()
    runner = make(timeout=0.2)
    calls = []

    def hang():
        calls.append(1)
        release.wait(10)
        return {"toy.a": 1.0}

    runner.collector.collect = hang
    started = time.monotonic()
    runner.tick()
    assert time.monotonic() - started < 2
    assert runner.health.state == "timeout" and "timed out after 0.2 s" in runner.health.last_error
    mono.now += 100
    runner.tick()
    assert runner.health.state == "hung" and runner.health.skipped == 1 and len(calls) == 1
    release.set()
    wait_until(lambda: not runner._inflight, "the hung call returned")
    mono.now += 100
    runner.tick()
    assert runner.health.state == "ok" and len(calls) == 2 and published


GARBAGE = [
    (None, "collect() returned None; expected a dict or a Sample"),
    ("42", "collect() returned a str"),
    ({"toy.a": "high"}, "series 'toy.a' = 'high': expected a number or None"),
    ({"toy.a": [1]}, "expected a number or None"),
    ({"toy.zzz": 1.0}, "series 'toy.zzz' is not in describe()"),
    ({"toy.a": True}, "series 'toy.a' = True: expected a number or None"),
    ({f"toy.{i}": 1.0 for i in range(3000)}, "3000 series in one sample; at most 2000"),
    (Sample(values={}, rows="rows"), "rows is a str; expected a list of dicts"),  # type: ignore[arg-type]
    (Sample(values={}, rows=[{"x": object()}]), "row field 'x' = <object"),
    (Sample(values={}, rows=[{}] * 6000), "6000 rows in one sample"),
    (Sample(values={}, ts="now"), "Sample.ts = 'now'"),  # type: ignore[arg-type]
    (Sample(values={}, ts=0.0), "expected unix seconds within a day of now"),
]


@pytest.mark.parametrize(("result", "message"), GARBAGE)
def test_garbage_output_is_a_failure_naming_the_problem(make, published, result, message):
    runner = make()
    runner.collector.next = result
    runner.tick()
    assert runner.health.state == "failing" and not published
    assert message in runner.health.last_error


def test_a_nan_costs_its_one_value_not_the_run(make, mono, published, caplog):
    runner = make()
    runner.collector.next = {"toy.a": math.nan, "toy.b": 2.0}
    with caplog.at_level(logging.WARNING, logger="dashboard.pipeline.runner"):
        runner.tick()
        mono.now += 1
        runner.tick()
    assert [r.values for _name, r, _series in published] == [{"toy.a": None, "toy.b": 2.0}] * 2
    health = runner.health.as_dict()
    assert health["state"] == "ok" and health["failures"] == 0 and health["last_error"] is None
    assert health["non_finite"] == 2 and health["last_non_finite"] == "toy.a"
    assert runner._retry_at == 0.0  # no backoff: the next tick runs on time
    (warning,) = caplog.messages  # the second one, a second later, is not logged
    assert warning.startswith("collector toy: 'toy.a' was NaN or infinite, published as no value")


def test_non_finite_values_are_warned_about_once_a_minute_naming_the_series(make, mono, caplog):
    runner = make()
    with caplog.at_level(logging.WARNING, logger="dashboard.pipeline.runner"):
        for value in (math.inf, -math.inf, math.nan):
            runner.collector.next = Sample(values={"toy.b": value}, rows=[{"cpu": math.inf}])
            runner.tick()
            mono.now += 30
    assert runner.health.non_finite == 6 and runner.health.last_non_finite == "toy.b"
    assert len(caplog.messages) == 2  # at 0 s and 60 s, not at 30 s
    assert "'toy.b' was NaN or infinite" in caplog.messages[1]
    assert "(2 such value(s) in this reading, 6 since start;" in caplog.messages[1]


def test_a_run_with_no_non_finite_value_leaves_the_count_alone(make, published):
    runner = make()
    runner.collector.next = {"toy.a": None, "toy.b": 2.0}
    runner.tick()
    assert runner.health.non_finite == 0 and runner.health.last_non_finite is None


def test_none_is_no_value_and_huge_strings_are_cut(make, published):
    runner = make()
    runner.collector.next = Sample(values={"toy.a": None}, rows=[{"name": "x" * 10_000_000}])
    runner.tick()
    reading = published[0][1]
    assert reading.values == {"toy.a": None} and len(reading.rows[0]["name"]) == 256


def test_a_changed_series_set_is_published_with_the_reading(make, published):
    runner = make()
    runner.collector.series.append(Series("toy.c", "%"))
    runner.tick()
    assert [s.name for s in published[0][2]] == ["toy.a", "toy.b", "toy.c"]
    runner.tick()
    assert published[1][2] is None


def test_bad_describe_output_is_a_failure(make):
    runner = make()
    runner.collector.series = ["not a Series"]
    runner.tick()
    assert "describe() returned 'not a Series'" in runner.health.last_error


def test_a_series_without_the_collector_prefix_is_refused(make, published):
    runner = make()
    runner.collector.series.append(Series("other.x", "%"))
    runner.tick()
    assert runner.health.state == "failing" and not published
    assert "series 'other.x' must start with 'toy.'" in runner.health.last_error


def test_filter_checks_run_side_by_side_and_only_a_hung_one_holds_new_ones(make, monkeypatch):
    runner = make()
    both_inside = threading.Barrier(2, timeout=5)
    release = threading.Event()

    def parse(request):
        if request.get("hang"):
            release.wait(10)
        elif request.get("pair"):
            both_inside.wait()  # fails unless two checks are in parse_filter at once
        return {"ok": True}

    runner.collector.parse_filter = parse
    results: list = []
    pair = [threading.Thread(target=lambda: results.append(runner.check_filter({"pair": 1})))
            for _ in range(2)]  # fmt: skip
    for thread in pair:
        thread.start()
    for thread in pair:
        thread.join(10)
    assert results == [{"ok": True}, {"ok": True}]

    monkeypatch.setattr(filters, "FILTER_TIMEOUT", 0.2)
    with pytest.raises(CollectorFault, match=r"parse_filter\(\) took longer than 0.2 s"):
        runner.check_filter({"hang": True})
    with pytest.raises(CollectorFault, match="still checking an earlier filter"):
        runner.check_filter({})
    assert runner.health.failures == 1 and runner.health.state == "timeout"
    release.set()
    wait_until(lambda: not runner._filters.stuck, "the hung check returned")
    assert runner.check_filter({}) == {"ok": True}
