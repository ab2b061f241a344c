"""History: the memory window, the SQLite tiers, restarts, and a file that is corrupt,
read-only or full. Every test drives time with a fake clock; nothing sleeps."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from dashboard.history.inspect import inspect_history
from dashboard.history.store import RAW, ROLLUP
from dashboard.history.tiers import Answer, History, Query
from dashboard.history.window import MemoryHistory
from dashboard.settings import HistorySettings
from tests.clock import T0, Clock


def settings(tmp_path: Path, **overrides) -> HistorySettings:
    return replace(HistorySettings(path=tmp_path / "h.sqlite3"), **overrides)


def run(history: History, clock: Clock, seconds: int, value=lambda t: t % 60, flush=5) -> None:
    """What the server does for ``seconds``: a sample a second, flush and maintain on time."""
    for _ in range(seconds):
        clock.now += 1
        history.append("cpu", clock.now, {"cpu.total": float(value(clock.now)), "cpu.user": 1.0})
        if int(clock.now) % flush == 0:
            history.flush()
        if int(clock.now) % 60 == 0:
            history.maintain()


def ask(history: History, start: float, **options) -> Answer:
    return history.answer(Query("cpu", start, **options))


def opened(path_settings: HistorySettings, clock: Clock, **kwargs) -> History:
    history = History(path_settings, clock=clock, **kwargs)
    history.register("cpu", 1.0)
    history.open()
    return history


# -- the memory window ---------------------------------------------------------------------


def filled(points: int, window: float = 3600.0) -> MemoryHistory:
    memory = MemoryHistory(window)
    memory.register("cpu", 1.0)
    for i in range(points):
        memory.append("cpu", 1000.0 + i, {"cpu.total": float(i)})
    return memory


def test_memory_rows_after_start_and_latest():
    memory = filled(10)
    assert memory.rows("cpu", 1005.0) == ([1006.0, 1007.0, 1008.0, 1009.0],
                                          {"cpu.total": [6.0, 7.0, 8.0, 9.0]})  # fmt: skip
    assert memory.latest("cpu") == (1009.0, {"cpu.total": 9.0})
    assert memory.latest("nope") is None and memory.rows("nope", 0) == ([], {})


def test_the_memory_window_is_bounded():
    ts, _ = filled(500, window=100).rows("cpu", 0)
    assert len(ts) <= 111 and ts[-1] == 1499.0


def test_out_of_order_readings_are_dropped_and_new_series_padded():
    memory = filled(2)
    memory.append("cpu", 1000.5, {"cpu.total": 99.0})
    memory.append("cpu", 1002.0, {"cpu.total": math.nan, "cpu.core0": 5.0})
    ts, columns = memory.rows("cpu", 0)
    assert ts == [1000.0, 1001.0, 1002.0]
    assert columns["cpu.total"][:2] == [0.0, 1.0] and math.isnan(columns["cpu.total"][2])
    assert all(math.isnan(v) for v in columns["cpu.core0"][:2])


# -- the disk tiers ------------------------------------------------------------------------


def test_round_trip_through_the_file(tmp_path):
    clock = Clock()
    history = opened(settings(tmp_path), clock)
    run(history, clock, 7200)
    history.close()

    later = opened(settings(tmp_path), clock)
    got = ask(later, clock.now - 7200, max_points=10_000)
    assert got.tier == "raw" and got.step == 0
    assert got.ts == [T0 + i for i in range(1, 7201)]
    assert got.columns["cpu.total"] == [float((T0 + i) % 60) for i in range(1, 7201)]
    assert later.status()["state"] == "ok"


def test_backfill_is_capped_and_downsampled(tmp_path):
    clock = Clock()
    history = opened(settings(tmp_path), clock)
    run(history, clock, 7200, value=lambda t: 10.0)
    body = ask(history, clock.now - 7200).as_json()
    assert len(body["ts"]) <= 1000 and body["step"] >= 7.2
    assert set(body["values"]["cpu.total"]) == {10.0}
    assert body["ts"][-1] == clock.now  # the newest point is always there


def test_a_long_span_comes_from_the_rollup_tier_with_min_avg_max(tmp_path):
    clock = Clock()
    history = opened(settings(tmp_path), clock)
    run(history, clock, 8 * 3600)
    got = ask(history, clock.now - 8 * 3600, stats=True)
    assert got.tier == "rollup" and got.step == 60
    # Samples run from T0+1 to T0+8h: a first bucket without its 0 s, a last with only it.
    assert len(got.ts) == 8 * 60 + 1 and got.ts[-1] == clock.now
    assert set(got.stats["cpu.total"]["min"]) == {0.0, 1.0}
    assert set(got.stats["cpu.total"]["max"][:-1]) == {59.0}
    assert set(got.columns["cpu.total"][1:-1]) == {29.5}
    assert ask(history, clock.now - 8 * 3600).stats is None  # charts get the averages only
    week = ask(history, clock.now - 7 * 86_400, stats=True).as_json()
    assert week["tier"] == "rollup" and len(week["ts"]) <= 1000
    assert week["min"]["cpu.total"][1] == 0.0 and week["max"]["cpu.total"][1] == 59.0
    # Merging rollup rows further keeps the extremes: min of mins, max of maxes.
    thin = ask(history, clock.now - 8 * 3600, max_points=100, stats=True)
    assert len(thin.ts) <= 100 and thin.step == 300
    assert set(thin.stats["cpu.total"]["min"]) == {0.0}
    assert set(thin.stats["cpu.total"]["max"][:-1]) == {59.0}


def test_a_span_that_starts_before_the_memory_window_is_read_from_the_file(tmp_path):
    clock = Clock()
    history = opened(settings(tmp_path), clock)
    run(history, clock, 4 * 3600)
    got = ask(history, clock.now - 3 * 3600, end=clock.now - 2 * 3600, max_points=5000)
    assert got.tier == "raw" and len(got.ts) == 3600
    assert got.ts[0] == clock.now - 3 * 3600 + 1 and got.ts[-1] == clock.now - 2 * 3600


def test_rollups_are_written_for_closed_blocks_only(tmp_path):
    clock = Clock()
    history = opened(settings(tmp_path), clock)
    run(history, clock, 1500)  # two closed 10-minute blocks and an open one
    history.maintain()
    ts, columns = history.store.read("cpu", ROLLUP, 0, math.inf)
    assert len(ts) == 20 and columns["cpu.total|max"] == [59.0] * 20
    # The answer still covers the open block: its buckets are computed on the fly.
    got = ask(history, clock.now - 1500, prefer_raw=False)
    assert got.ts[-1] == clock.now


def test_pruning_keeps_each_tier_for_its_retention(tmp_path):
    clock = Clock()
    config = settings(tmp_path, retention=3600.0, rollup_retention=7200.0)
    history = opened(config, clock)
    run(history, clock, 4 * 3600)
    history.maintain()
    raw_ts, _ = history.store.read("cpu", RAW, 0, math.inf)
    rollup_ts, _ = history.store.read("cpu", ROLLUP, 0, math.inf)
    assert clock.now - 3600 - 600 <= raw_ts[0] <= clock.now - 3600 + 1
    # Rollups live in day-long chunks: a chunk goes once its newest bucket is too old.
    assert rollup_ts[0] >= T0
    assert ask(history, clock.now - 3 * 3600).tier == "rollup"


def test_a_restart_within_a_block_keeps_both_halves(tmp_path):
    clock = Clock()
    first = opened(settings(tmp_path), clock)
    run(first, clock, 100)
    first.close()
    clock.now += 30  # downtime
    second = opened(settings(tmp_path), clock)
    assert second.memory.rows("cpu", 0)[0][-1] == T0 + 100  # preloaded: instant backfill
    run(second, clock, 100)
    second.close()
    ts, _ = opened(settings(tmp_path), clock).store.read("cpu", RAW, 0, math.inf)
    assert ts == [T0 + i for i in range(1, 101)] + [T0 + 130 + i for i in range(1, 101)]


def test_a_crash_loses_at_most_the_last_flush_interval(tmp_path):
    clock = Clock()
    history = opened(settings(tmp_path), clock)
    run(history, clock, 103, flush=5)  # flushed at +100; +101..+103 only in memory
    # No close(): the process is gone. A new one reads what the file has.
    after = opened(settings(tmp_path), clock)
    ts, _ = after.store.read("cpu", RAW, 0, math.inf)
    assert ts[-1] == T0 + 100 and len(ts) == 100


def test_memory_only_when_path_is_empty(tmp_path):
    clock = Clock()
    history = History(HistorySettings(path=None), clock=clock)
    history.register("cpu", 1.0)
    history.open()
    run(history, clock, 10)
    history.flush()
    assert history.status()["state"] == "memory" and history.window == 3600
    assert len(ask(history, clock.now - 60).as_json()["ts"]) == 10
    assert list(tmp_path.iterdir()) == []


# -- a file that cannot be used ------------------------------------------------------------


def test_a_corrupt_file_is_reported_and_memory_keeps_serving(tmp_path, caplog):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database " * 200)
    clock = Clock()
    history = opened(settings(tmp_path), clock)
    status = history.status()
    assert status["state"] == "degraded"
    assert "corrupt" in status["error"] and f"mv {path} {path}.bad" in status["error"]
    run(history, clock, 20)
    assert history.status()["waiting"] == 0  # nothing piles up for a file that can't be written
    assert len(ask(history, clock.now - 60).as_json()["ts"]) == 20
    assert len(ask(history, clock.now - 86_400).as_json()["ts"]) == 20  # memory, not the file
    assert path.read_bytes().startswith(b"this is not a database")  # never overwritten
    assert sum("corrupt" in r.getMessage() for r in caplog.records) == 1  # logged once


def test_a_read_only_file_still_serves_its_history(tmp_path):
    clock = Clock()
    writer = opened(settings(tmp_path), clock)
    run(writer, clock, 7200)
    writer.close()

    def read_only(path, **kwargs):
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, **kwargs)

    history = opened(settings(tmp_path), clock, connect=read_only)
    status = history.status()
    assert status["state"] == "degraded" and "read-only" in status["error"]
    run(history, clock, 10)  # appends and flushes go nowhere, without raising
    got = ask(history, clock.now - 7000)
    assert got.ts[0] <= T0 + 300 and got.ts[-1] == clock.now


def test_a_full_disk_keeps_samples_waiting_until_space_returns(tmp_path, caplog):
    clock = Clock()
    history = opened(settings(tmp_path), clock)
    run(history, clock, 10)
    db = history.store._db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's own SQLITE_FULL, as on a full disk
    run(history, clock, 3000, value=lambda t: math.sin(t))
    status = history.status()
    assert status["state"] == "degraded" and "no space" in status["error"]
    assert status["waiting"] > 0 and status["dropped"] == 0
    db.execute("PRAGMA max_page_count=1073741823")
    history.flush()
    assert history.status()["state"] == "ok" and history.status()["waiting"] == 0
    ts, _ = history.store.read("cpu", RAW, 0, math.inf)
    assert ts == [T0 + i for i in range(1, 3011)]  # nothing lost
    assert any("writable again" in r.getMessage() for r in caplog.records)


def test_a_missing_folder_is_created(tmp_path):
    clock = Clock()
    config = replace(HistorySettings(), path=tmp_path / "a" / "b" / "h.sqlite3")
    history = opened(config, clock)
    run(history, clock, 5)
    assert history.status()["state"] == "ok" and config.path.exists()


def test_a_folder_that_cannot_be_created_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    history = opened(replace(HistorySettings(), path=blocker / "h.sqlite3"), Clock())
    status = history.status()
    assert status["state"] == "degraded" and "cannot be created" in status["error"]


@pytest.mark.parametrize("ts", [T0 + 0.0004, T0 + 0.9996])
def test_timestamps_are_kept_to_the_millisecond_everywhere(tmp_path, ts):
    clock = Clock(ts)
    history = opened(settings(tmp_path), clock)
    history.append("cpu", ts, {"cpu.total": 1.0})
    history.flush()
    assert history.memory.latest("cpu")[0] == history.store.read("cpu", RAW, 0, math.inf)[0][0]


def test_check_describes_the_file_without_changing_it(tmp_path):
    path = tmp_path / "h.sqlite3"
    assert inspect_history(None).startswith("memory only")
    assert inspect_history(path) == f"{path} (will be created)" and not path.exists()
    clock = Clock()
    history = opened(settings(tmp_path), clock)
    run(history, clock, 7200)
    history.close()
    before = path.read_bytes()
    assert inspect_history(path).endswith("rows over 2.0 h)")
    assert path.read_bytes() == before
    path.write_bytes(b"garbage" * 1000)
    assert inspect_history(path).startswith(f"WARNING: history file {path} is corrupt")
