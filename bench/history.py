"""History storage: bytes per stored sample, query times and the write cost, from the default
collectors' real readings on this machine tiled over 24 hours.

    .venv/bin/python -m bench.history [--record 300] [--quick] [--repeats 7]

1. Records: the built-in collectors (real psutil) run at their default intervals for
   ``--record`` seconds (``--quick``: 30 s), each in its own thread, and their validated
   readings are kept — what the runner would hand to the hub.
2. Writes 24 h: the recording is repeated back to back (shifted by its length, so each
   collector keeps its cadence; every other repeat backwards, each from a random start: see
   ``tile``) and fed through the real ``History`` class into a fresh SQLite file, with an
   injected clock: ``append`` in time order, ``flush`` every flush interval and ``maintain``
   every 60 s of simulated time, as the server's scheduler calls them.
3. Measures the file after ``close()``, and times ``open()`` and queries on a reopened copy
   with the clock at the end of the simulated day.

``--save-recording``/``--load-recording`` keep a recording to replay (e.g. under cProfile).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import save
from collectors.builtin import BUILTIN
from collectors.probe import SystemProbe
from dashboard.history import codec
from dashboard.history.store import BLOCK, RAW, ROLLUP, Block
from dashboard.history.tiers import History, Query
from dashboard.pipeline.registry import Loaded, load_collectors
from dashboard.pipeline.validate import validate
from dashboard.runtime import MAINTAIN_EVERY
from dashboard.settings import HistorySettings, Settings

DAY = 86_400.0
HOUR = 3_600.0
TARGET_BYTES_PER_SAMPLE = 4.0


# -- 1. recording ----------------------------------------------------------------------------


def record(seconds: float) -> dict[str, Any]:
    """Every enabled default collector at its interval for ``seconds``, in parallel threads.

    Slots are ``t0 + offset + i * interval`` (offsets spread over the first second, like the
    scheduler); a reading is stamped when ``collect()`` returns, as the runner does. A late
    slot is skipped (APScheduler coalesces). Readings with no values are dropped, because the
    runner does not publish them (so they never reach history).
    """
    loaded = [item for item in load_collectors(Settings(), SystemProbe(), BUILTIN) if item.enabled]
    for item in loaded:  # the first reading of a rate has nothing to compare with
        item.collector.collect()
    time.sleep(1.0)
    t0 = time.time()
    out: dict[str, dict[str, Any]] = {}
    threads = []
    for index, item in enumerate(loaded):
        entry = {"interval": item.interval, "readings": [], "skipped": 0, "failures": 0}
        out[item.collector.name] = entry
        offset = index / len(loaded)
        thread = threading.Thread(target=_run, args=(item, t0, offset, seconds, entry))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return {"t0": t0, "seconds": seconds, "collectors": out}


def _run(item: Loaded, t0: float, offset: float, seconds: float, entry: dict) -> None:
    collector, interval = item.collector, item.interval
    slot = 0
    while offset + slot * interval < seconds:
        delay = t0 + offset + slot * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        try:
            result = collector.collect()
            known = {s.name for s in collector.describe()}
            reading = validate(result, known, time.time())
        except Exception:  # the runner counts a failure and carries on
            entry["failures"] += 1
        else:
            if reading.values:
                entry["readings"].append([reading.ts - t0, reading.values])
        slot += 1
        while t0 + offset + slot * interval < time.time() - interval:
            slot += 1
            entry["skipped"] += 1


# -- 2. writing 24 h ------------------------------------------------------------------------


class Clock:
    """The injected clock: simulated unix seconds."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tile(
    recording: dict[str, Any], start: float, span: float, seed: int = 1
) -> list[tuple[float, str, dict]]:
    """The recording repeated from ``start`` for ``span`` seconds, in time order.

    Played forwards each time, a 300 s recording would sit twice in every 10-minute chunk and
    zlib would store the second copy as back-references: about half the bytes, for nothing
    real. So every other repeat runs backwards (values and the gaps between readings
    mirrored over the same time range: each collector keeps its cadence across the seams),
    and each repeat starts at a random point of the recording (a rotation by a multiple of
    10 s, the same for every collector), so that the 60 s rollup buckets of one 10-minute
    block do not repeat those of the block before.
    """
    length = recording["seconds"]
    repeats = math.ceil(span / length)
    rng = random.Random(seed)
    turns = [10 * rng.randrange(max(1, int(length // 10))) for _ in range(repeats)]
    events = []
    for name, entry in recording["collectors"].items():
        readings, interval = entry["readings"], entry["interval"]
        if not readings:
            continue
        whole = len(readings) == round(length / interval)  # no slot skipped: rotation is exact
        for k in range(repeats):
            part = _rotated(readings, round(turns[k] / interval) if whole else 0, interval, length)
            if k % 2:
                first, last = part[0][0], part[-1][0]
                part = [(first + last - rel, values) for rel, values in reversed(part)]
            shift = start + k * length
            for rel, values in part:
                ts = shift + rel
                if ts < start + span:
                    events.append((ts, name, values))
    events.sort(key=lambda e: e[0])
    return events


def _rotated(readings: list, m: int, interval: float, length: float) -> list:
    """The readings from the ``m``-th on, then the first ``m`` after them, cadence kept."""
    m %= len(readings)
    if not m:
        return readings
    turn = m * interval
    head = [(rel - turn, values) for rel, values in readings[m:]]
    return head + [(rel + length - turn, values) for rel, values in readings[:m]]


def untiled(recording: dict[str, Any]) -> dict[str, Any]:
    """Each collector's recording, as recorded, encoded as one chunk: no repetition at all."""
    out: dict[str, Any] = {}
    for name, entry in recording["collectors"].items():
        block = Block(name, RAW, 0.0)
        samples = 0
        for rel, values in entry["readings"]:
            block.add(round(recording["t0"] + rel, 3), values)
            samples += sum(v is not None for v in values.values())
        if samples:
            size = len(codec.encode(block.ts, block.columns))
            out[name] = {
                "samples": samples,
                "bytes": size,
                "bytes_per_sample": round(size / samples, 3),
            }
    total = sum(e["samples"] for e in out.values())
    size = sum(e["bytes"] for e in out.values())
    return {
        "seconds": recording["seconds"],
        "samples": total,
        "bytes": size,
        "bytes_per_sample": round(size / total, 3) if total else None,
        "collectors": out,
    }


class Timer:
    """Wall and CPU time of one kind of call, and its slowest calls with their simulated time."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.at: list[float] = []
        self.calls = 0
        self.wall = 0.0
        self.cpu = 0.0
        self.worst = 0.0
        self.each: list[float] = []

    def run(self, fn: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        result = fn()
        took = time.perf_counter() - wall
        self.cpu += time.thread_time() - cpu
        self.wall += took
        self.worst = max(self.worst, took)
        self.each.append(took)
        self.at.append(self.clock.now)
        self.calls += 1
        return result

    def as_dict(self, sim_hours: float) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "wall_s": round(self.wall, 3),
            "cpu_s": round(self.cpu, 3),
            "ms_per_sim_hour": round(1000 * self.wall / sim_hours, 2),
            "core_percent": round(100 * self.wall / (sim_hours * HOUR), 4),
            "median_ms": round(1000 * statistics.median(self.each), 3) if self.each else None,
            "p99_ms": round(1000 * _quantile(self.each, 0.99), 3) if self.each else None,
            "max_ms": round(1000 * self.worst, 3),
            "slowest": [
                {"ms": round(1000 * took, 1), "at": time.strftime("%H:%M:%S", time.gmtime(at))}
                for took, at in sorted(zip(self.each, self.at, strict=True), reverse=True)[:5]
            ],
        }


@dataclass
class _Job:
    """A scheduled history job replayed on the recording's clock."""

    due: float
    every: float
    run: Callable[[], None]
    name: str


def write_day(
    settings: HistorySettings,
    intervals: dict[str, float],
    events: list[tuple[float, str, dict]],
    start: float,
    span: float,
) -> dict[str, Any]:
    """Feed ``events`` through ``History`` as the server does; time every store call."""
    clock = Clock(start)
    history = History(settings, clock=clock)
    for name, interval in intervals.items():
        history.register(name, interval)
    history.open()
    timers = {kind: Timer(clock) for kind in ("append", "flush", "maintain", "close")}
    jobs = [
        _Job(start + settings.flush_interval, settings.flush_interval, history.flush, "flush"),
        _Job(start + MAINTAIN_EVERY, MAINTAIN_EVERY, history.maintain, "maintain"),
    ]

    def run_jobs(until: float) -> None:
        while True:
            job = min(jobs, key=lambda j: j.due)  # flush first when both are due
            if job.due > until:
                return
            clock.now = job.due
            timers[job.name].run(job.run)
            job.due += job.every

    appended = 0
    for ts, name, values in events:
        run_jobs(ts)
        clock.now = ts
        timers["append"].run(partial(history.append, name, ts, values))
        appended += sum(v is not None for v in values.values())
    run_jobs(start + span)
    clock.now = start + span
    timers["close"].run(history.close)
    return {
        "appended_samples": appended,
        "readings": len(events),
        "problem": None if history.problem is None else str(history.problem),
        "dropped": history.dropped,
        "timers": {k: t.as_dict(span / HOUR) for k, t in timers.items()},
    }


# -- 3. the file ------------------------------------------------------------------------------


def measure_file(path: Path) -> dict[str, Any]:
    """Sizes on disk and per collector/tier, samples counted by decoding every raw chunk."""
    wal = Path(f"{path}-wal")
    sizes = {
        "file_bytes": path.stat().st_size,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
    }
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for pragma in ("page_size", "page_count", "freelist_count"):
            sizes[pragma] = db.execute(f"PRAGMA {pragma}").fetchone()[0]
        per: dict[str, dict[str, Any]] = {}
        for collector, tier, chunks, rows, size in db.execute(
            "SELECT collector, tier, COUNT(*), SUM(count), SUM(LENGTH(data)) FROM chunks"
            " GROUP BY collector, tier"
        ):
            key = "raw" if tier == RAW else "rollup"
            entry = per.setdefault(collector, {"name": collector})
            entry[key] = {"chunks": chunks, "rows": rows, "bytes": size}
        for collector, data in db.execute(
            "SELECT collector, data FROM chunks WHERE tier=?", (RAW,)
        ):
            ts, columns = codec.decode(data)
            entry = per[collector]
            entry["series"] = max(entry.get("series", 0), len(columns))
            entry["cells"] = entry.get("cells", 0) + len(ts) * len(columns)
            entry["samples"] = entry.get("samples", 0) + sum(
                sum(not math.isnan(v) for v in column) for column in columns.values()
            )
    finally:
        db.close()
    return {**sizes, "collectors": list(per.values())}


def summarise(sizes: dict[str, Any], recording: dict[str, Any]) -> dict[str, Any]:
    """Bytes per sample overall and per collector, and the 24 h raw + 30 d rollup projection."""
    rows = []
    totals = {"samples": 0, "cells": 0, "raw_bytes": 0, "rollup_bytes": 0, "rollup_day": 0.0}
    for entry in sizes["collectors"]:
        raw = entry.get("raw", {"bytes": 0, "rows": 0, "chunks": 0})
        roll = entry.get("rollup", {"bytes": 0, "rows": 0, "chunks": 0})
        samples = entry.get("samples", 0)
        # Rollup rows are 60 s buckets: bytes for one whole day, scaled from what exists.
        roll_day = roll["bytes"] * (DAY / 60) / roll["rows"] if roll["rows"] else 0.0
        interval = recording["collectors"].get(entry["name"], {}).get("interval")
        rows.append(
            {
                "name": entry["name"],
                "interval": interval,
                "series": entry.get("series", 0),
                "raw_chunks": raw["chunks"],
                "raw_rows": raw["rows"],
                "samples": samples,
                "raw_bytes": raw["bytes"],
                "bytes_per_sample": round(raw["bytes"] / samples, 3) if samples else None,
                "rollup_chunks": roll["chunks"],
                "rollup_rows": roll["rows"],
                "rollup_bytes": roll["bytes"],
                "rollup_bytes_per_day": round(roll_day),
            }
        )
        totals["samples"] += samples
        totals["cells"] += entry.get("cells", 0)
        totals["raw_bytes"] += raw["bytes"]
        totals["rollup_bytes"] += roll["bytes"]
        totals["rollup_day"] += roll_day
    chunk_bytes = totals["raw_bytes"] + totals["rollup_bytes"]
    overhead = sizes["file_bytes"] / chunk_bytes if chunk_bytes else 1.0
    projected = totals["raw_bytes"] + 30 * totals["rollup_day"]
    samples = totals["samples"] or 1
    return {
        "samples": totals["samples"],
        "cells": totals["cells"],
        "raw_bytes": totals["raw_bytes"],
        "rollup_bytes": totals["rollup_bytes"],
        "bytes_per_sample": {
            "file": round(sizes["file_bytes"] / samples, 3),
            "raw_chunks": round(totals["raw_bytes"] / samples, 3),
        },
        "file_over_chunk_bytes": round(overhead, 3),
        "projection": {
            "rollup_bytes_per_day": round(totals["rollup_day"]),
            "chunk_bytes_24h_raw_30d_rollup": round(projected),
            "file_bytes_estimate": round(projected * overhead),
        },
        "collectors": sorted(rows, key=lambda r: -r["raw_bytes"]),
    }


# -- 4. queries -----------------------------------------------------------------------------


def reopen(settings: HistorySettings, intervals: dict[str, float], now: float) -> History:
    history = History(settings, clock=Clock(now))
    for name, interval in intervals.items():
        history.register(name, interval)
    return history


def time_queries(
    settings: HistorySettings, intervals: dict[str, float], now: float, repeats: int
) -> dict[str, Any]:
    opens = []
    for _ in range(repeats):
        history = reopen(settings, intervals, now)
        started = time.perf_counter()
        history.open()
        opens.append(time.perf_counter() - started)
        history.close()
    history = reopen(settings, intervals, now)
    history.open()
    notes = []
    if history.problem is not None:
        notes.append(f"open(): {history.problem}")
    disk_start = now - 3 * HOUR
    kinds = {
        "1h": (now - HOUR, math.inf),
        "1h_disk": (disk_start, now - 2 * HOUR),
        "6h": (now - 6 * HOUR, math.inf),
        "24h": (now - DAY, math.inf),
    }
    results: dict[str, dict[str, Any]] = {}
    for name in intervals:
        if not history.memory.latest(name) and not (history.store and history.store.oldest(name)):
            continue  # a collector with no series here (sensors on a VM)
        probe = history.answer(Query(name, *kinds["1h_disk"]))
        wider = history.answer(Query(name, disk_start - 1, now - 2 * HOUR))
        if not probe.ts and wider.ts:
            # History.needs_disk compares the span with the memory window, not its start:
            # a span of exactly 1 h ending 2 h ago is "answered" from memory, which is empty.
            kinds["1h_disk"] = (disk_start - 1, now - 2 * HOUR)
            note = (
                "`answer(Query(c, now-3h, now-2h))` returned no points: "
                "`History.needs_disk` compares the span's length with the memory window "
                "instead of where it starts, so a 1 h span ending 2 h ago is answered from "
                "memory, which holds only the last hour; (now-3h-1s, now-2h] has rows, so "
                "the 1 h on-disk query is timed over that 1 h + 1 s span."
            )
            if note not in notes:
                notes.append(note)
        row: dict[str, Any] = {}
        for kind, (lo, hi) in kinds.items():
            row[kind] = _time(partial(history.answer, Query(name, lo, hi)), repeats)
        results[name] = row
    history.close()
    return {"open": _summary(opens), "per_collector": results, "notes": notes}


def _time(fn: Callable[[], Any], repeats: int) -> dict[str, Any]:
    took = []
    answer: Any = None
    for _ in range(repeats):
        started = time.perf_counter()
        answer = fn()
        took.append(time.perf_counter() - started)
    return {**_summary(took), "points": len(answer.ts), "tier": answer.tier, "step": answer.step}


def _summary(took: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(1000 * statistics.median(took), 3),
        "max_ms": round(1000 * max(took), 3),
        "repeats": len(took),
    }


def _io() -> dict[str, int]:
    """This process's I/O counters: ``wchar`` (bytes passed to write()) and ``write_bytes``
    (bytes it caused to be sent to storage)."""
    try:
        lines = Path("/proc/self/io").read_text().splitlines()
    except OSError:
        return {}
    fields = dict(line.split(": ") for line in lines)
    return {k: int(fields[k]) for k in ("wchar", "write_bytes") if k in fields}


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=float, default=300.0, help="seconds of real readings")
    parser.add_argument("--quick", action="store_true", help="record ~30 s only")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated span to write")
    parser.add_argument("--repeats", type=int, default=7, help="runs of each timed query")
    parser.add_argument("--seed", type=int, default=1, help="of the repeats' random starts")
    parser.add_argument("--save-recording", type=Path, help="write the recording (JSON) here")
    parser.add_argument("--load-recording", type=Path, help="replay this recording instead")
    parser.add_argument("--no-save", action="store_true", help="do not write results JSON")
    args = parser.parse_args()
    if args.quick:
        args.record = 30.0

    load_before = [round(x, 2) for x in os.getloadavg()]
    if args.load_recording:
        recording = json.loads(args.load_recording.read_text())
    else:
        print(f"history: recording the default collectors for {args.record:.0f} s", flush=True)
        recording = record(args.record)
        if args.save_recording:
            args.save_recording.write_text(json.dumps(recording))
    span = args.hours * HOUR
    intervals = {
        item.collector.name: item.interval
        for item in load_collectors(Settings(), SystemProbe(), BUILTIN)
        if item.enabled
    }
    # Simulated day: 10-minute aligned, ending before the recording began.
    start = math.floor((recording["t0"] - span) / BLOCK[RAW]) * BLOCK[RAW]
    events = tile(recording, start, span, args.seed)

    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        settings = replace(HistorySettings(), path=Path(tmp) / "history.sqlite3")
        print(
            f"history: writing {span / HOUR:g} h ({len(events):,} readings) into {settings.path}",
            flush=True,
        )
        began, io = time.perf_counter(), _io()
        write = write_day(settings, intervals, events, start, span)
        write["real_seconds"] = round(time.perf_counter() - began, 1)
        write["io"] = {k: v - io.get(k, 0) for k, v in _io().items()}
        sizes = measure_file(Path(tmp) / "history.sqlite3")
        print("history: timing open() and queries", flush=True)
        queries = time_queries(settings, intervals, start + span, args.repeats)

    notes = list(queries.pop("notes"))
    if recording["seconds"] < BLOCK[RAW] / 2:
        notes.append(
            f"the {recording['seconds']:.0f} s recording repeats within each "
            f"{BLOCK[RAW]:.0f} s chunk even played back and forth: bytes per sample are "
            "understated; record at least 300 s"
        )
    figures = summarise(sizes, recording)
    figures["untiled"] = untiled(recording)
    result = {
        "params": {
            "record_seconds": recording["seconds"],
            "simulated_hours": args.hours,
            "repeats": args.repeats,
            "seed": args.seed,
            "flush_interval": settings.flush_interval,
            "maintain_every": MAINTAIN_EVERY,
            "retention": settings.retention,
            "rollup": settings.rollup,
            "rollup_retention": settings.rollup_retention,
            "raw_block": BLOCK[RAW],
            "rollup_block": BLOCK[ROLLUP],
            "cpus": os.cpu_count(),
            "loaded_recording": bool(args.load_recording),
        },
        "recording": {
            name: {
                "interval": e["interval"],
                "readings": len(e["readings"]),
                "skipped": e["skipped"],
                "failures": e["failures"],
            }
            for name, e in recording["collectors"].items()
        },
        "target_bytes_per_sample": TARGET_BYTES_PER_SAMPLE,
        "file": {k: v for k, v in sizes.items() if k != "collectors"},
        **figures,
        "write": write,
        "queries": queries,
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "notes": notes,
    }
    _print(result)
    if not args.no_save:
        print(f"saved {save('history', result)}")


def _print(result: dict[str, Any]) -> None:
    per = result["bytes_per_sample"]
    print(
        f"history: {result['samples']:,} samples, file {result['file']['file_bytes']:,} B "
        f"({per['file']:.2f} B/sample), raw chunks {result['raw_bytes']:,} B "
        f"({per['raw_chunks']:.2f} B/sample), rollup {result['rollup_bytes']:,} B"
    )
    for row in result["collectors"]:
        print(
            f"  {row['name']:<11} {row['series']:>3} series {row['samples']:>10,} samples "
            f"{row['raw_bytes']:>10,} B  {row['bytes_per_sample']} B/sample"
        )
    io = result["write"].get("io", {})
    print(
        f"  writing: {io.get('wchar', 0) / 2**20:,.0f} MiB passed to write(), "
        f"{io.get('write_bytes', 0) / 2**20:,.0f} MiB sent to storage"
    )
    untiled_ = result["untiled"]
    proj = result["projection"]
    print(
        f"  untiled check ({untiled_['seconds']:.0f} s as one chunk per collector): "
        f"{untiled_['bytes_per_sample']} B/sample; 24 h raw + 30 d rollups: "
        f"{proj['chunk_bytes_24h_raw_30d_rollup']:,} B of chunks, "
        f"file ~{proj['file_bytes_estimate']:,} B"
    )
    timers = result["write"]["timers"]
    for kind in ("flush", "maintain", "append"):
        t = timers[kind]
        print(
            f"  {kind:<8} {t['calls']:>7,} calls {t['wall_s']:>8.2f} s  "
            f"{t['ms_per_sim_hour']:>8.1f} ms/sim-hour  {t['core_percent']:.3f} % of a core  "
            f"max {t['max_ms']:.1f} ms"
        )
    q = result["queries"]
    print(f"  open(): median {q['open']['median_ms']:.1f} ms, max {q['open']['max_ms']:.1f} ms")
    for name, row in q["per_collector"].items():
        cells = "  ".join(
            f"{k} {v['median_ms']:.1f} ms ({v['points']} pts)" for k, v in row.items()
        )
        print(f"  {name:<11} {cells}")
    for note in result["notes"]:
        print(f"  note: {note}")


if __name__ == "__main__":
    main()
