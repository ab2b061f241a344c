"""The event loop's share of publishing one sample, by the number of rooms.

A room is one distinct subscription (series and filter). For every room, the sample must be
cut by the collector's filter and serialized: since issue 10 that happens in the collector's
worker thread (``Hub.prepare``) and the loop only records the reading and writes each room's
text (``Hub.publish``). Before, the loop did both; so the loop's time per sample then is
``prepare + publish`` now. Measured on a real process table (this machine's, grown to
``--rows`` rows), with each room's packet encoded as python-socketio does it, once per room.

    .venv/bin/python -m bench.publish [--rows 500] [--rooms 1,10,50] [--repeats 40]

Results: one line per room count on stdout and bench/results/publish.json (not part of
`make bench`: the figures of issue 10 are in bench/notes.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from socketio import packet

from bench.common import save
from collectors import Sample
from collectors.probe import SystemProbe
from collectors.processes import SORTS, ProcessesCollector
from dashboard.history.tiers import History
from dashboard.pipeline.hub import Hub
from dashboard.pipeline.validate import Reading, validate
from dashboard.settings import HistorySettings
from dashboard.web import wirejson


class PacketEmitter:
    """Encodes each emit once, as python-socketio's manager does for a room; sends nothing."""

    def __init__(self) -> None:
        packet.Packet.json = wirejson  # what the server sets (Flask-SocketIO's json=)
        self.bytes = 0

    def emit(self, event: str, data: Any, namespace: str, to: Any = None) -> None:
        encoded = packet.Packet(packet.EVENT, namespace=namespace, data=[event, data]).encode()
        self.bytes += len(encoded)

    def enter_room(self, sid: str, room: str, namespace: str) -> None:
        pass

    def leave_room(self, sid: str, room: str, namespace: str) -> None:
        pass


def process_reading(rows: int) -> tuple[ProcessesCollector, Reading]:
    """This machine's process table (with CPU rates: two scans), repeated to ``rows`` rows."""
    collector = ProcessesCollector(SystemProbe())
    collector.setup({})
    collector.collect()
    time.sleep(0.5)
    sample = collector.collect()
    real = list(sample.rows or [])
    grown = [{**real[i % len(real)], "pid": 100_000 + i} for i in range(rows)]
    values = {"processes.count": float(rows), "processes.running": 1.0}
    known = {s.name for s in collector.describe()}
    return collector, validate(Sample(values=values, rows=grown), known, time.time())


def filters(count: int) -> list[dict[str, Any]]:
    """``count`` distinct process filters, as different pages would send them."""
    found = []
    for i in range(count):
        found.append({"match": "" if i < 4 else str(i % 10), "sort": SORTS[i % 4],
                      "limit": 10 + i})  # fmt: skip
    return found


def measure(collector: ProcessesCollector, reading: Reading, rooms: int, repeats: int) -> dict:
    emitter = PacketEmitter()
    history = History(HistorySettings(path=None))
    history.register("processes", 2.0)
    hub = Hub(emitter, history, "bench")
    hub.add(collector, collector.parse_filter({}))
    for i, flt in enumerate(filters(rooms)):
        hub.set_filter("processes", f"sid{i}", collector.parse_filter(flt))
        hub.subscribe("processes", f"sid{i}", None)
    worker, loop = [], []
    for i in range(repeats):
        timed = Reading(reading.ts + i, reading.values, reading.rows)
        started = time.perf_counter()
        prepared = hub.prepare("processes", timed, None)
        prepared_at = time.perf_counter()
        hub.publish("processes", prepared)
        done = time.perf_counter()
        worker.append(prepared_at - started)
        loop.append(done - prepared_at)
    before = [w + lp for w, lp in zip(worker, loop, strict=True)]
    return {
        "rooms": rooms,
        "worker_ms": round(1000 * statistics.median(worker), 3),
        "loop_ms": round(1000 * statistics.median(loop), 3),
        "loop_ms_before": round(1000 * statistics.median(before), 3),
        "bytes_per_sample": emitter.bytes // repeats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--rooms", default="1,10,50")
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args(argv)
    collector, reading = process_reading(args.rows)
    steps = []
    for rooms in (int(n) for n in args.rooms.split(",")):
        step = measure(collector, reading, rooms, args.repeats)
        steps.append(step)
        print(
            f"/processes, {args.rows} rows, {rooms:3d} rooms: loop {step['loop_ms']:.2f} ms "
            f"(before: {step['loop_ms_before']:.2f} ms), worker {step['worker_ms']:.2f} ms, "
            f"{step['bytes_per_sample'] / 1024:.0f} KB encoded",
            flush=True,
        )
    path = save("publish", {"rows": args.rows, "repeats": args.repeats, "steps": steps})
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
