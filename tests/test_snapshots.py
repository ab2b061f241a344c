"""Process snapshots: which rows are kept, the codec, and the store on a real SQLite file
(size, retention, the nearest snapshot at every edge, a reopened file, a broken one).
Time is a fake clock; nothing sleeps."""

from __future__ import annotations

import functools
import logging
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from collectors.processes import DEFAULT_FILTER, ProcessesCollector
from dashboard.pipeline.hub import Topic
from dashboard.pipeline.validate import Reading
from dashboard.snapshots.codec import Snapshot, SnapshotError, decode, encode
from dashboard.snapshots.pick import pick
from dashboard.snapshots.recorder import Recorder
from dashboard.snapshots.store import BLOCK, SnapshotStore
from tests.clock import T0, Clock

GIB = 1024**3
TOTAL = 16 * GIB  # the machine the tables below come from
SCAN = 2.0  # the processes collector's default interval
NAMES = ["bash", "python3", "postgres", "nginx", "sshd", "chrome", "systemd-journald",
         "kworker/0:1", "node", "redis-server"]  # fmt: skip


class Machine:
    """A process table that changes as a real one does: most processes idle, a few busy
    (their CPU and memory move every scan), now and then one starts and one exits."""

    def __init__(self, processes: int = 150, seed: int = 14) -> None:
        self.random = random.Random(seed)
        self.next_pid = 1000
        self.table: dict[int, dict[str, Any]] = {}
        for _ in range(processes):
            self._start()

    def _start(self) -> None:
        pid, self.next_pid = self.next_pid, self.next_pid + self.random.randint(1, 40)
        name = self.random.choice(NAMES)
        self.table[pid] = {
            "pid": pid, "name": name, "user": self.random.choice(["root", "www-data", "ana"]),
            "busy": self.random.random() < 0.08, "rss": self.random.randint(1, 50_000) * 4096,
        }  # fmt: skip

    def scan(self) -> list[dict[str, Any]]:
        if self.random.random() < 0.05:
            del self.table[self.random.choice(list(self.table))]
            self._start()
        rows = []
        for proc in self.table.values():
            if proc["busy"]:
                proc["rss"] = max(4096, proc["rss"] + self.random.randint(-64, 64) * 4096)
            cpu = self.random.uniform(0.5, 80) if proc["busy"] else 0.0
            rows.append({"pid": proc["pid"], "name": proc["name"], "user": proc["user"],
                         "cpu": cpu, "memory": float(proc["rss"]),
                         "memory_percent": 100 * proc["rss"] / TOTAL,
                         "status": "running" if cpu > 40 else "sleeping"})  # fmt: skip
        return rows


def snapshots(count: int, start: float = T0, machine: Machine | None = None) -> list[Snapshot]:
    machine = machine or Machine()
    return [Snapshot(start + i * SCAN, pick(machine.scan())) for i in range(count)]


@functools.cache
def ten_minutes_twice() -> list[Snapshot]:
    """600 scans from T0 (made once: every store test reads the same)."""
    return snapshots(600)


def opened(path: Path | None) -> SnapshotStore:
    store = SnapshotStore(path)
    store.open()
    return store


# -- which rows ------------------------------------------------------------------------------


def test_the_top_20_by_cpu_and_the_top_20_by_memory_once_each_by_pid():
    rows = Machine(processes=150).scan()
    kept = pick(rows)
    by_cpu = sorted((r for r in rows if r["cpu"] > 0), key=lambda r: -r["cpu"])[:20]
    by_memory = sorted(rows, key=lambda r: -r["memory"])[:20]
    assert [r["pid"] for r in kept] == sorted({r["pid"] for r in [*by_cpu, *by_memory]})
    assert 20 <= len(kept) <= 40
    assert set(kept[0]) == {"pid", "name", "user", "cpu", "memory", "memory_percent", "status"}


def test_idle_processes_are_not_the_top_by_cpu_and_rows_of_the_wrong_shape_are_left_out():
    rows = [{"pid": pid, "name": "idle", "user": "u", "cpu": 0.0, "memory": 1.0,
             "memory_percent": 0.1, "status": "sleeping"} for pid in range(1, 31)]  # fmt: skip
    rows += [{"pid": "7", "name": "x", "user": "u"}, {"pid": 99, "name": None, "user": "u"}]
    rows.append({"pid": 50, "name": "busy", "user": "u", "cpu": 3.0, "memory": None,
                 "memory_percent": None, "status": "running"})  # fmt: skip
    kept = pick(rows)
    assert [r["pid"] for r in kept] == [*range(1, 21), 50]  # 20 by memory (ties: low pids)


# -- the codec -------------------------------------------------------------------------------


def shown(memory: float) -> str:
    """Memory as the process table shows it (static/js/format.js: three digits, binary)."""
    value, unit = memory, 0
    while value >= 1024 and unit < 4:
        value, unit = value / 1024, unit + 1
    digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:.{digits}f} {'B KMGT'[unit]}"


def test_decoding_gives_back_every_row_as_the_table_shows_it():
    """CPU to 0.1 %, memory to the table's three digits (in KiB), its share recomputed."""
    made = snapshots(300)
    back = decode(encode(made))
    assert [s.ts for s in back] == [s.ts for s in made]
    differ = 0
    for before, after in zip(made, back, strict=True):
        assert [r["pid"] for r in after.rows] == [r["pid"] for r in before.rows]
        for old, new in zip(before.rows, after.rows, strict=True):
            keys = ("name", "user", "status")
            assert [new[k] for k in keys] == [old[k] for k in keys]
            assert new["cpu"] == round(old["cpu"] * 10) / 10
            assert abs(new["memory"] - old["memory"]) <= 0.005 * old["memory"]
            assert new["memory"] % 1024 == 0
            assert new["memory_percent"] == round(100 * new["memory"] / TOTAL, 3)
            differ += shown(new["memory"]) != shown(old["memory"])
    assert differ <= 0.001 * sum(len(s.rows) for s in made)  # a rounding tie, now and then


def test_a_pid_taken_by_another_process_and_unknown_numbers_round_trip():
    first = {"pid": 5, "name": "old", "user": "u", "cpu": None, "memory": None,
             "memory_percent": None, "status": "zombie"}  # fmt: skip
    second = {**first, "name": "new", "cpu": 12.34, "memory": 8192.0, "status": "running"}
    back = decode(encode([Snapshot(T0, [first]), Snapshot(T0 + 2, [second]),
                          Snapshot(T0 + 4, [])]))  # fmt: skip
    assert [s.rows for s in back] == [[first], [{**second, "cpu": 12.3}], []]
    assert isinstance(back[1].rows[0]["memory"], int)


def test_a_damaged_blob_is_a_snapshot_error():
    blob = encode(snapshots(10))
    for bad in (b"", b"\x07" + blob[1:], blob[:-5], blob[:1] + bytes(len(blob) - 1)):
        with pytest.raises(SnapshotError):
            decode(bad)


# -- the store on a real file ----------------------------------------------------------------


def test_a_sealed_day_costs_little_per_snapshot(tmp_path):
    """A day at the 2 s default is 43,200 snapshots; sealed 10-minute blocks keep them small
    (bench/snapshots.py measures this machine's real scans)."""
    store = opened(tmp_path / "h.sqlite3")
    machine = Machine()
    for block in range(6):  # an hour, written as the recorder does: a segment every 5 s
        made = snapshots(300, T0 + block * BLOCK, machine)
        for i in range(0, 300, 2):
            store.append("h", made[i : i + 2])
    segments = store.stats()
    store.seal(T0 + 6 * BLOCK)
    sealed = store.stats()
    assert sealed["snapshots"] == segments["snapshots"] == 1800 and sealed["rows"] == 6
    per_snapshot = sealed["bytes"] / sealed["snapshots"]
    print(f"{per_snapshot:.1f} B per snapshot sealed, {segments['bytes'] / 1800:.1f} unsealed")
    assert per_snapshot < 60
    assert sealed["bytes"] < segments["bytes"] / 3


def test_retention_prunes_old_blocks_and_keeps_the_rest(tmp_path):
    clock = Clock(T0)
    store = opened(tmp_path / "h.sqlite3")
    retention = 1200.0
    recorder = Recorder(store, retention=retention, flush_interval=5.0, clock=clock)
    machine = Machine(processes=60)
    topic = Topic("h", ProcessesCollector(), None, [], SCAN, "processes")
    for _ in range(int(2 * retention / SCAN)):
        clock.now += SCAN
        recorder.observe(topic, Reading(clock.now, {}, machine.scan()))
        if clock.now % 10 == 0:
            recorder.flush()
        if clock.now % 60 == 0:
            recorder.maintain()
    found = store.nearest("h", T0)
    assert found is not None
    # Whole blocks go: the oldest kept one ended within retention.
    assert clock.now - retention - BLOCK <= found.snapshot.ts <= clock.now - retention
    assert found.prev is None
    assert retention / SCAN <= store.stats()["snapshots"] <= (retention + BLOCK) / SCAN


def test_scans_the_store_cannot_take_in_time_are_dropped_and_counted(tmp_path):
    from dashboard.snapshots.recorder import MAX_WAITING

    clock = Clock(T0)
    recorder = Recorder(opened(tmp_path / "h.sqlite3"), retention=3600, flush_interval=5.0,
                        clock=clock)  # fmt: skip
    machine = Machine(processes=5)
    topic = Topic("h", ProcessesCollector(), None, [], SCAN, "processes")
    for _ in range(MAX_WAITING + 7):  # no flush: the store is "too slow"
        clock.now += SCAN
        recorder.observe(topic, Reading(clock.now, {}, machine.scan()))
    status = recorder.status()
    assert status["waiting"] == MAX_WAITING and status["dropped"] == 7
    assert status["state"] == "ok" and status["error"] is None
    recorder.flush()
    assert recorder.status()["waiting"] == 0
    first = recorder.nearest("h", T0)
    assert first is not None and first.snapshot.ts == T0 + 8 * SCAN  # the oldest 7 went


@pytest.fixture
def stored(tmp_path) -> SnapshotStore:
    """Snapshots at T0, T0+2, ... T0+1198 (two blocks) for host "h", at T0+2000 for "g"."""
    store = opened(tmp_path / "h.sqlite3")
    made = ten_minutes_twice()
    store.append("h", made[:400])
    store.append("h", made[400:])
    store.append("g", snapshots(1, T0 + 2000))
    store.seal(T0)  # nothing has ended yet: segments and sealed rows must answer alike
    return store


@pytest.mark.parametrize("seal", [False, True])
@pytest.mark.parametrize(
    ("ts", "nearest", "prev", "next"),
    [
        (T0 - 500, T0, None, T0 + 2),  # before the first
        (T0, T0, None, T0 + 2),
        (T0 + 3, T0 + 2, T0, T0 + 4),  # exactly between two: the earlier
        (T0 + 3.01, T0 + 4, T0 + 2, T0 + 6),
        (T0 + 599, T0 + 598, T0 + 596, T0 + 600),  # between blocks: the earlier
        (T0 + 600.5, T0 + 600, T0 + 598, T0 + 602),
        (T0 + 799, T0 + 798, T0 + 796, T0 + 800),  # between the two segments
        (T0 + 1198, T0 + 1198, T0 + 1196, None),
        (T0 + 86_400, T0 + 1198, T0 + 1196, None),  # after the last
    ],
    ids=["before", "first", "tie", "past-tie", "block-tie", "next-block", "segments", "last",
         "after"],
)  # fmt: skip
def test_the_nearest_snapshot_and_its_neighbours(stored, seal, ts, nearest, prev, next):
    if seal:
        stored.seal(T0 + 86_400)
        assert stored.stats()["rows"] == 3
    found = stored.nearest("h", ts)
    assert found is not None
    assert (found.snapshot.ts, found.prev, found.next) == (nearest, prev, next)
    assert found.snapshot.rows


def test_an_empty_store_and_another_host_have_nothing(stored, tmp_path):
    assert opened(tmp_path / "empty.sqlite3").nearest("h", T0) is None
    assert stored.nearest("elsewhere", T0) is None
    found = stored.nearest("g", T0)
    assert found is not None and (found.snapshot.ts, found.prev, found.next) == (
        T0 + 2000, None, None)  # fmt: skip


def test_a_reopened_file_finds_them_again(stored, tmp_path):
    before = stored.nearest("h", T0 + 301)
    stored.close()
    again = opened(tmp_path / "h.sqlite3")
    assert again.nearest("h", T0 + 301) == before
    assert again.stats()["snapshots"] == 601


def test_the_answer_goes_through_the_live_tables_filter(stored):
    found = stored.nearest("h", T0)
    assert found is not None
    body = found.as_json({**DEFAULT_FILTER, "sort": "memory", "limit": 3})
    assert body["total"] == len(found.snapshot.rows) and len(body["rows"]) == 3
    memory = [row["memory"] for row in body["rows"]]
    assert memory == sorted(memory, reverse=True) and body["ts"] == T0
    name = found.snapshot.rows[0]["name"]
    named = found.as_json({**DEFAULT_FILTER, "match": name.upper()})  # as the live table
    assert named["rows"] and all(name in row["name"] for row in named["rows"])


def test_history_in_memory_keeps_snapshots_in_memory():
    store = opened(None)
    store.append("h", snapshots(3))
    found = store.nearest("h", T0 + 2)
    assert found is not None and found.snapshot.ts == T0 + 2
    assert store.status() == {"state": "memory", "path": None, "error": None}


def test_a_corrupt_file_degrades_to_memory_without_raising(tmp_path, caplog):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    caplog.set_level(logging.ERROR)
    store = opened(path)
    store.append("h", snapshots(3))
    store.append("h", snapshots(3, T0 + 10))
    found = store.nearest("h", T0)
    assert found is not None and found.snapshot.ts == T0  # kept in memory meanwhile
    assert store.status()["state"] == "degraded" and "corrupt" in store.status()["error"]
    said = [r.getMessage() for r in caplog.records if "snapshots" in r.getMessage()]
    assert len(said) == 1 and "(corrupt)" in said[0]


def test_a_read_only_file_degrades_to_memory_without_raising(tmp_path):
    path = tmp_path / "h.sqlite3"
    opened(path).close()
    read_only = SnapshotStore(path, connect=_read_only)
    read_only.open()
    read_only.append("h", snapshots(2))
    assert read_only.status()["state"] == "degraded"
    assert "read-only" in read_only.status()["error"]
    found = read_only.nearest("h", T0 + 2)
    assert found is not None and found.snapshot.ts == T0 + 2


def test_an_unreadable_block_is_skipped_and_the_others_still_answer(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = opened(path)
    store.append("h", snapshots(3))
    store.append("h", snapshots(3, T0 + 700))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE snapshot_blocks SET data=x'0102' WHERE first=?", (T0,))
    found = store.nearest("h", T0)  # the row at or before is unreadable: the next answers
    assert found is not None and found.snapshot.ts == T0 + 700
    assert "unreadable" in (store.status()["error"] or "")


def _read_only(name: str, **options: Any) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{name}?mode=ro", uri=True, **options)
