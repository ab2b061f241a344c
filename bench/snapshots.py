"""Process snapshots: the bytes a day of them adds to the history file, from this machine's
real process scans replayed over 24 hours.

    .venv/bin/python -m bench.snapshots [--record 300] [--quick]

1. Records: the ``processes`` collector (real psutil) at its default 2 s interval for
   ``--record`` seconds (``--quick``: 60 s); each validated reading with all its rows, as
   the runner hands it to the hub.
2. Writes a day: the recording played forwards, then backwards, and so on (so no 10-minute
   block holds the same scans twice: zlib would store a repeat as back-references), fed to
   the real ``Recorder`` and ``SnapshotStore`` on a fresh SQLite file with an injected clock:
   ``observe`` every scan, ``flush`` every flush interval and ``maintain`` every 60 s of
   simulated time, as the server's scheduler calls them; then ``close()``.
3. Measures the table (encoded bytes and file pages), the CPU the writes took, and the
   nearest-snapshot lookup on the reopened file; compares a day's bytes with the history
   file of a day (``bench/results/history.json``, from ``bench.history``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS, save
from collectors.probe import SystemProbe
from collectors.processes import DEFAULT_FILTER, ProcessesCollector
from dashboard.pipeline.hub import Topic
from dashboard.pipeline.validate import Reading, validate
from dashboard.runtime import MAINTAIN_EVERY
from dashboard.settings import HistorySettings
from dashboard.snapshots import codec
from dashboard.snapshots.codec import Snapshot
from dashboard.snapshots.pick import pick
from dashboard.snapshots.recorder import Recorder
from dashboard.snapshots.store import BLOCK, SnapshotStore

DAY = 86_400.0
TARGET_SHARE = 20.0  # % of the history file (issue 14)


def record(seconds: float, interval: float) -> list[tuple[float, Reading]]:
    """Real scans every ``interval`` s for ``seconds``: (seconds since the first, reading)."""
    collector = ProcessesCollector(SystemProbe())
    collector.setup({})
    known = {s.name for s in collector.describe()}
    collector.collect()  # the first scan has no CPU rates yet
    scans: list[tuple[float, Reading]] = []
    t0 = time.time() + interval
    for slot in range(round(seconds / interval)):
        delay = t0 + slot * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        reading = validate(collector.collect(), known, time.time())
        scans.append((reading.ts - t0, reading))
    return scans


def tile(scans: list[tuple[float, Reading]], interval: float, span: float) -> list[Reading]:
    """The scans back to back for ``span`` seconds, every other repeat backwards, stamped at
    the collector's cadence from 0."""
    order: list[Reading] = []
    forwards = True
    while len(order) * interval < span:
        order += [reading for _rel, reading in (scans if forwards else reversed(scans))]
        forwards = not forwards
    count = int(span / interval)
    return [Reading(i * interval, {}, r.rows) for i, r in enumerate(order[:count])]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write_day(path: Path, scans: list[Reading], start: float, settings: HistorySettings) -> dict:
    """Every scan through the real recorder, on the scheduler's cadence; CPU seconds spent."""
    clock = Clock(start)
    # The history file's page size (the history store makes the file first, in the server).
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA page_size=1024")
        db.execute("VACUUM")
    store = SnapshotStore(path)
    recorder = Recorder(store, settings.retention, settings.flush_interval, clock)
    recorder.open()
    topic = Topic("bench", ProcessesCollector(), None, [], 2.0, "processes")
    cpu = {"observe": 0.0, "flush": 0.0, "maintain": 0.0}
    next_flush, next_maintain = start + settings.flush_interval, start + MAINTAIN_EVERY
    for scan in scans:
        clock.now = start + scan.ts
        began = time.process_time()
        recorder.observe(topic, Reading(clock.now, {}, scan.rows))
        cpu["observe"] += time.process_time() - began
        if clock.now >= next_flush:
            cpu["flush"] += _timed(recorder.flush)
            next_flush += settings.flush_interval
        if clock.now >= next_maintain:
            cpu["maintain"] += _timed(recorder.maintain)
            next_maintain += MAINTAIN_EVERY
    cpu["flush"] += _timed(recorder.flush)
    cpu["maintain"] += _timed(lambda: store.seal(math.inf))  # the day's last block too
    recorder.close()
    return {name: round(seconds, 2) for name, seconds in cpu.items()}


def _timed(fn: Any) -> float:
    began = time.process_time()
    fn()
    return time.process_time() - began


def measure(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows, snapshots, size, sealed = db.execute(
            "SELECT COUNT(*), SUM(count), SUM(LENGTH(data)), SUM(sealed) FROM snapshot_blocks"
        ).fetchone()
        kept = [len(s.rows) for (data,) in db.execute("SELECT data FROM snapshot_blocks")
                for s in codec.decode(data)]  # fmt: skip
        pragmas = ("page_size", "page_count", "freelist_count")
        page_size, pages, free = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in pragmas)
    finally:
        db.close()
    return {"rows": rows, "sealed_rows": sealed, "snapshots": snapshots, "data_bytes": size,
            "file_bytes": (pages - free) * page_size, "page_size": page_size,
            "rows_per_snapshot": round(statistics.mean(kept), 1)}  # fmt: skip


def time_lookups(path: Path, start: float, repeats: int = 50) -> dict[str, float]:
    """``nearest`` at evenly spread moments of the day on the reopened file, in ms."""
    store = SnapshotStore(path)
    store.open()
    took = []
    try:
        for i in range(repeats):
            began = time.perf_counter()
            found = store.nearest("bench", start + (i + 0.5) * DAY / repeats)
            assert found is not None
            found.as_json(DEFAULT_FILTER)
            took.append((time.perf_counter() - began) * 1000)
    finally:
        store.close()
    return {"median_ms": round(statistics.median(took), 2), "max_ms": round(max(took), 2)}


def untiled(scans: list[tuple[float, Reading]]) -> dict[str, Any]:
    """The recording as recorded, its blocks encoded alone: no repetition at all."""
    made = [Snapshot(round(r.ts, 3), pick(r.rows or [])) for _rel, r in scans]
    per_block = int(BLOCK / ProcessesCollector.interval)
    size = sum(len(codec.encode(made[i : i + per_block])) for i in range(0, len(made), per_block))
    return {"snapshots": len(made), "bytes": size, "bytes_per_snapshot": round(size / len(made), 1)}


def history_day() -> dict[str, Any] | None:
    """The history file after a day and the 30-day estimate, from ``bench.history``'s run."""
    path = RESULTS / "history.json"
    if not path.exists():
        return None
    hist = json.loads(path.read_text())
    return {"day_file_bytes": hist["file"]["file_bytes"],
            "steady_file_bytes": hist["projection"]["file_bytes_estimate"],
            "measured_at": hist.get("measured_at")}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=float, default=300.0, help="seconds of real scans")
    parser.add_argument("--quick", action="store_true", help="record 60 s only")
    parser.add_argument("--no-save", action="store_true", help="do not write results JSON")
    args = parser.parse_args()
    seconds = 60.0 if args.quick else args.record
    settings, interval = HistorySettings(), ProcessesCollector.interval
    print(f"snapshots: recording process scans every {interval:g} s for {seconds:.0f} s",
          flush=True)  # fmt: skip
    scans = record(seconds, interval)
    processes = statistics.mean(len(r.rows or []) for _rel, r in scans)
    start = (time.time() // BLOCK) * BLOCK - DAY
    day = tile(scans, interval, DAY)
    with tempfile.TemporaryDirectory(prefix="bench-snapshots-") as tmp:
        path = Path(tmp) / "history.sqlite3"
        print(f"snapshots: writing a day ({len(day):,} scans) into {path}", flush=True)
        began = time.perf_counter()
        cpu = write_day(path, day, start, settings)
        real = round(time.perf_counter() - began, 1)
        sizes = measure(path)
        lookups = time_lookups(path, start)
    reference = history_day()
    result = {
        "params": {"record_seconds": seconds, "interval": interval, "block": BLOCK,
                   "flush_interval": settings.flush_interval, "retention": settings.retention,
                   "cpus": os.cpu_count()},
        "processes_per_scan": round(processes, 1),
        "day": sizes,
        "bytes_per_snapshot": round(sizes["data_bytes"] / sizes["snapshots"], 1),
        "file_bytes_per_snapshot": round(sizes["file_bytes"] / sizes["snapshots"], 1),
        "untiled": untiled(scans),
        "cpu_seconds_per_day": cpu,
        "write_real_seconds": real,
        "lookup": lookups,
        "history": reference,
        "target_share_percent": TARGET_SHARE,
        "notes": [] if seconds >= BLOCK / 2 else [
            f"a {seconds:.0f} s recording repeats within each {BLOCK:.0f} s block even played "
            "back and forth: bytes are understated; record at least 300 s"],
    }  # fmt: skip
    if reference:
        day_bytes = sizes["file_bytes"]
        result["share_percent"] = {
            "day_file": round(100 * day_bytes / reference["day_file_bytes"], 1),
            "steady_file": round(100 * day_bytes / reference["steady_file_bytes"], 1),
        }
    print(result)
    if not args.no_save:
        print(f"saved {save('snapshots', result)}")


if __name__ == "__main__":
    main()
