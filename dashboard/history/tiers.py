"""History: the recent window in memory, tiers on disk, one interface (append, query, latest).

- ``append`` (from the hub, on the event loop) puts a reading in the memory window and in the
  pending batch; it never touches the disk.
- ``flush`` and ``maintain`` (scheduled, in a native thread) write the batch as compressed
  chunks, roll closed blocks up into min/avg/max buckets and prune old chunks.
- ``query`` answers from memory when the span fits the window, else from the raw tier
  (spans up to ``RAW_SPAN``) or the rollup tier, always within a point budget.

A history file that is corrupt, read-only or full never stops the dashboard: the problem is
logged once, shown in ``/healthz`` (and so on the page), and the live charts run from memory.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.history.columns import Rows
from dashboard.history.rollup import Stats, downsample, extremes, rollup, split_stats
from dashboard.history.store import BLOCK, RAW, ROLLUP, Block, ChunkStore, StoreError
from dashboard.history.window import MEMORY_WINDOW, MemoryHistory
from dashboard.settings import HistorySettings
from dashboard.workers import native_lock

log = logging.getLogger(__name__)

RAW_SPAN = 6 * 3_600.0  # longer spans are answered from the rollup tier
MAX_WAITING = 200_000  # readings held for the disk while it cannot be written
DEFAULT_MAX_POINTS = 1_000
EXPORT_MAX_POINTS = 200_000


@dataclass(frozen=True)
class Query:
    """What a client asks of history: one collector's rows with ``start < ts <= end``."""

    collector: str
    start: float
    end: float = math.inf
    series: Iterable[str] | None = None
    max_points: int = DEFAULT_MAX_POINTS
    prefer_raw: bool = False  # exports: full resolution for any span within retention
    memory_only: bool = False  # the fallback when the file is too slow to answer
    stats: bool = False  # rollups' min and max too (exports); charts need the averages only
    rollup: bool = False  # the rollup tier whatever the span (a zoomed range too long for raw)


@dataclass
class Answer:
    """Rows for one request, with how they were made."""

    ts: list[float]
    columns: dict[str, list[float]]
    tier: str  # "raw" or "rollup"
    step: float  # seconds per point; 0 when every stored sample is there
    stats: Stats | None = None  # rollup min/avg/max per series

    def as_json(self, stats: bool = True) -> dict[str, Any]:
        """JSON-ready columns (null for no value); ``stats`` adds rollups' min and max."""
        body: dict[str, Any] = {
            "ts": self.ts,
            "values": {n: _json(c) for n, c in self.columns.items()},
            "tier": self.tier,
            "step": self.step,
        }
        if stats and self.stats is not None:
            for stat in ("min", "max"):
                body[stat] = {n: _json(s[stat]) for n, s in self.stats.items()}
        return body


class History:
    """Memory window plus the SQLite tiers; see the module docstring for who calls what."""

    def __init__(
        self,
        settings: HistorySettings,
        clock: Callable[[], float] = time.time,
        connect: Callable[..., sqlite3.Connection] = sqlite3.connect,
    ) -> None:
        self.settings, self.clock = settings, clock
        self.memory = MemoryHistory(window=min(settings.retention, MEMORY_WINDOW))
        self.store = ChunkStore(settings.path, connect) if settings.path is not None else None
        self.readable = False
        self.problem: StoreError | None = None
        self.dropped = 0
        self.last_flush: float | None = None
        self._io = native_lock()  # one store operation at a time
        self._waiting: deque[tuple[str, float, Mapping[str, float | None]]] = deque()
        self._unwritten: dict[tuple[str, float], Block] = {}  # new rows, per collector and block
        self._closed = False

    @property
    def window(self) -> float:
        """The longest span a client may ask for (the memory window if the file is unusable)."""
        if not self.readable:
            return self.memory.window
        return self.settings.rollup_retention

    def register(self, collector: str, interval: float) -> None:
        self.memory.register(collector, interval)

    def adopt(self, collector: str, interval: float) -> tuple[float, dict[str, float]] | None:
        """Register a collector first seen while running (another host's), its newest hour
        loaded from the file; its newest row. Reads the file: call it in a native thread."""
        self.memory.register(collector, interval)
        if self.store is not None and self.readable:
            with self._io:
                try:
                    self._preload([collector])
                except StoreError as exc:
                    self._note(exc)
        return self.memory.latest(collector)

    # -- called from the event loop: memory only -------------------------------------------

    def append(self, collector: str, ts: float, values: Mapping[str, float | None]) -> None:
        ts = round(ts, 3)  # what the disk keeps (milliseconds), so both agree on every ts
        self.memory.append(collector, ts, values)
        # Only a file that can be written gets a batch: a corrupt or read-only one never will
        # (a full one may again, so its readings wait, up to MAX_WAITING).
        if self.store is not None and self.store.writable and not self._closed:
            self._waiting.append((collector, ts, values))
            if len(self._waiting) > MAX_WAITING:
                self._waiting.popleft()
                self.dropped += 1

    def latest(self, collector: str) -> tuple[float, dict[str, float]] | None:
        return self.memory.latest(collector)

    def needs_disk(self, query: Query) -> bool:
        """Whether answering reads the file (so: not on the event loop): the memory window
        holds the newest ``window`` seconds, so anything starting before that needs the disk."""
        starts_before = query.start < self.clock() - self.memory.window
        return self.readable and not query.memory_only and (starts_before or query.rollup)

    def status(self) -> dict[str, Any]:
        state = "ok" if self.problem is None else "degraded"
        if self.store is None:
            state = "memory"
        return {
            "state": state,
            "path": None if self.store is None else str(self.store.path),
            "error": None if self.problem is None else str(self.problem),
            "waiting": len(self._waiting) + sum(len(b.ts) for b in self._unwritten.values()),
            "dropped": self.dropped,
            "last_flush": self.last_flush,
        }

    # -- called in native threads ------------------------------------------------------------

    def open(self) -> None:
        """Open the file and load its newest hour into memory (before collecting starts)."""
        if self.store is None:
            return
        with self._io:
            try:
                self._note(self.store.open())
                self.readable = True
                self._preload()
            except StoreError as exc:
                self._note(exc)

    def flush(self) -> None:
        """Append every waiting reading to the file, one segment per block, one transaction."""
        if self.store is None:
            return
        with self._io:
            while self._waiting:
                self._add(*self._waiting.popleft())
            if not self._unwritten or not self.store.writable:
                return
            try:
                self.store.append(list(self._unwritten.values()))
            except StoreError as exc:
                self._note(exc)
                self._bound_unwritten()
                return
            self._unwritten.clear()
            self.last_flush = self.clock()
            self._note(None)

    def maintain(self) -> None:
        """Roll closed raw blocks up into min/avg/max buckets; prune what retention drops."""
        if self.store is None or not self.store.writable:
            return
        with self._io:
            try:
                now = self.clock()
                # A block is sealed once no reading for it can still be waiting.
                self.store.seal(now - 2 * self.settings.flush_interval)
                for collector, start in self.store.unrolled(now):
                    self._roll(collector, start)
                self.store.prune(RAW, now - self.settings.retention)
                self.store.prune(ROLLUP, now - self.settings.rollup_retention)
            except StoreError as exc:
                self._note(exc)

    def remember(self, key: str, value: str) -> None:
        """Keep a small value in the file beside the samples (native thread; never fatal)."""
        if self.store is not None and self.store.writable and not self._closed:
            with self._io:
                try:
                    self.store.put_meta(key, value)
                except StoreError as exc:
                    self._note(exc)

    def recall(self, prefix: str) -> dict[str, str]:
        """What ``remember`` kept under keys starting with ``prefix`` (native thread)."""
        if self.store is None or not self.readable:
            return {}
        with self._io:
            try:
                return self.store.meta(prefix)
            except StoreError as exc:
                self._note(exc)
                return {}

    def close(self) -> None:
        """Flush what is waiting and close the file (on shutdown; safe to call twice)."""
        if self._closed or self.store is None:
            return
        self.flush()
        self._closed = True
        with self._io:
            self.store.close()

    def answer(self, query: Query) -> Answer:
        """The rows of the right tier for the query's span, within its point budget."""
        ts, columns, stats = self._rows(query)
        tier, step = ("raw", 0.0) if stats is None else ("rollup", self.settings.rollup)
        if not query.stats:
            stats = None
        if query.series is not None:
            wanted = set(query.series)
            columns = {n: c for n, c in columns.items() if n in wanted}
            stats = None if stats is None else {n: s for n, s in stats.items() if n in wanted}
        if len(ts) > query.max_points:
            return self._thin(ts, columns, stats, tier, step, query.max_points)
        return Answer(ts, columns, tier, step, stats)

    def _rows(self, query: Query) -> tuple[list[float], dict[str, list[float]], Stats | None]:
        """Raw rows (no stats), or rollup buckets (their averages, and the stats)."""
        collector, start, end = query.collector, query.start, query.end
        if not self.needs_disk(query):
            ts, columns = self.memory.rows(collector, start, end)
            if not query.rollup:
                return ts, columns, None
            ts, buckets = rollup(ts, columns, self.settings.rollup)
            stats = split_stats(buckets)
        else:
            now = self.clock()
            span = min(end, now) - start
            raw_ok = start >= now - self.settings.retention and (
                query.prefer_raw or span <= RAW_SPAN
            )
            if raw_ok and not query.rollup:
                return *self._raw(collector, start, end), None
            ts, stats = self._rollup(collector, start, end)
        return ts, {n: list(s["avg"]) for n, s in stats.items()}, stats

    # -- internals ----------------------------------------------------------------------------

    @property
    def _file(self) -> ChunkStore:
        """The store, where only a history with a file gets (``[history] path`` is set)."""
        if self.store is None:
            raise StoreError("unavailable", "history is kept in memory only")
        return self.store

    def _thin(
        self,
        ts: list[float],
        columns: dict[str, list[float]],
        stats: Stats | None,
        tier: str,
        step: float,
        max_points: int,
    ) -> Answer:
        new_ts, new_columns, width = downsample(ts, columns, max_points)
        if stats is not None:
            # Averages average (``columns`` are the averages); the extremes of merged buckets
            # are the extremes of their parts.
            stats = {
                name: {
                    "avg": new_columns[name],
                    "min": extremes(ts, parts["min"], width, "min"),
                    "max": extremes(ts, parts["max"], width, "max"),
                }
                for name, parts in stats.items()
            }
        return Answer(new_ts, new_columns, tier, max(step, width), stats)

    def _raw(self, collector: str, start: float, end: float) -> Rows:
        """Disk rows, then memory rows newer than the disk's newest (not yet flushed)."""
        merged = Block(collector, RAW, start)
        ts, columns = self._read(collector, RAW, start, end)
        merged.extend(ts, columns)
        tail_ts, tail_columns = self.memory.rows(collector, merged.ts[-1] if ts else start, end)
        merged.extend(tail_ts, tail_columns)
        return merged.ts, merged.columns

    def _rollup(self, collector: str, start: float, end: float) -> tuple[list[float], Stats]:
        """Rollup rows, then buckets computed now from raw rows not rolled up yet."""
        ts, columns = self._read(collector, ROLLUP, start, end)
        merged = Block(collector, ROLLUP, start)
        merged.extend(ts, columns)
        raw_start = max(ts[-1] if ts else start, self.clock() - self.settings.retention)
        raw_ts, raw_columns = self._raw(collector, raw_start, end)
        merged.extend(*rollup(raw_ts, raw_columns, self.settings.rollup))
        return merged.ts, split_stats(merged.columns)

    def _read(self, collector: str, tier: int, start: float, end: float) -> Rows:
        """A tier's rows from the file; none (and the problem noted) if it cannot be read."""
        try:
            with self._io:
                return self._file.read(collector, tier, start, end)
        except StoreError as exc:
            self._note(exc)
            return [], {}

    def _roll(self, collector: str, start: float) -> None:
        raw = self._file.get(collector, RAW, start)
        chunk = math.floor(start / BLOCK[ROLLUP]) * BLOCK[ROLLUP]  # the rollup chunk it joins
        target = self._file.get(collector, ROLLUP, chunk) or Block(collector, ROLLUP, chunk)
        if raw is not None:
            target.replace(
                start, start + BLOCK[RAW], *rollup(raw.ts, raw.columns, self.settings.rollup)
            )
        self._file.mark_rolled(collector, start, target)

    def _preload(self, collectors: list[str] | None = None) -> None:
        start = self.clock() - self.memory.window
        for collector in self.memory.collectors() if collectors is None else collectors:
            ts, columns = self._file.read(collector, RAW, start, math.inf)
            self.memory.extend(collector, ts, columns)

    def _add(self, collector: str, ts: float, values: Mapping[str, float | None]) -> None:
        start = math.floor(ts / BLOCK[RAW]) * BLOCK[RAW]
        segment = self._unwritten.get((collector, start))
        if segment is None:
            segment = self._unwritten[(collector, start)] = Block(collector, RAW, start)
        segment.add(ts, values)

    def _bound_unwritten(self) -> None:
        """While the disk refuses writes, keep at most ``MAX_WAITING`` rows, oldest out first."""
        total = sum(len(b.ts) for b in self._unwritten.values())
        for key in sorted(self._unwritten, key=lambda k: k[1]):
            if total <= MAX_WAITING:
                break
            total -= len(self._unwritten[key].ts)
            self.dropped += len(self._unwritten.pop(key).ts)

    def _note(self, problem: StoreError | None) -> None:
        """Log a new problem once (and its end); ``/healthz`` shows the current one."""
        if problem is not None and str(problem) != str(self.problem):
            log.error("history: %s", problem)
        elif problem is None and self.problem is not None:
            log.warning("history: the file is writable again; %s is back in sync", self._file.path)
        self.problem = problem


def _json(column: list[float]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in column]
