"""Recent history in memory: instant backfill for ``subscribe`` and ``/api/history``.

Columnar per collector (one float array per series, NaN for "no value") so an hour of
one-second samples costs a few hundred KB rather than tens of MB of dicts.
"""

from __future__ import annotations

import bisect
import math
import threading
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

MAX_CAPACITY = 100_000
DEFAULT_MAX_POINTS = 1_000


class _Ring:
    """One collector's window: timestamps plus aligned value columns."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.ts = array("d")
        self.columns: dict[str, array] = {}

    def append(self, ts: float, values: Mapping[str, float | None]) -> None:
        if self.ts and ts <= self.ts[-1]:
            return  # out-of-order or duplicate reading: keep the series monotonic
        for name in values.keys() - self.columns.keys():
            self.columns[name] = array("d", [math.nan]) * len(self.ts)
        self.ts.append(ts)
        for name, column in self.columns.items():
            value = values.get(name)
            column.append(math.nan if value is None else value)
        if len(self.ts) > self.capacity * 1.1:
            self._trim(len(self.ts) - self.capacity)

    def _trim(self, count: int) -> None:
        del self.ts[:count]
        for column in self.columns.values():
            del column[:count]

    def window(self, start: float, end: float) -> tuple[int, int]:
        return bisect.bisect_right(self.ts, start), bisect.bisect_right(self.ts, end)


class MemoryHistory:
    """The last ``window`` seconds of every collector's values, safe across threads."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._rings: dict[str, _Ring] = {}
        self._lock = threading.Lock()

    def register(self, collector: str, interval: float) -> None:
        capacity = min(MAX_CAPACITY, math.ceil(self.window / interval) + 1)
        with self._lock:
            self._rings[collector] = _Ring(capacity)

    def append(self, collector: str, ts: float, values: Mapping[str, float | None]) -> None:
        with self._lock:
            ring = self._rings.get(collector)
            if ring is not None:
                ring.append(ts, values)

    def query(
        self,
        collector: str,
        start: float,
        end: float = math.inf,
        series: Iterable[str] | None = None,
        max_points: int = DEFAULT_MAX_POINTS,
    ) -> dict[str, Any]:
        """Points with ``start < ts <= end``, thinned evenly to at most ``max_points``."""
        with self._lock:
            ring = self._rings.get(collector)
            if ring is None:
                return {"ts": [], "values": {}}
            lo, hi = ring.window(start, end)
            step = max(1, math.ceil((hi - lo) / max_points))
            # Keep the newest point: thin from the end backwards.
            picks = range(hi - 1, lo - 1, -step)[::-1]
            names = (
                ring.columns.keys() if series is None else [s for s in series if s in ring.columns]
            )
            return {
                "ts": [ring.ts[i] for i in picks],
                "values": {n: [_json(ring.columns[n][i]) for i in picks] for n in names},
            }


def _json(value: float) -> float | None:
    return None if math.isnan(value) else value
