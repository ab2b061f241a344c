"""The memory window: the newest hour of every collector's readings, as columns.

Appends come from the event loop (the hub), reads from anywhere (handlers, native threads),
so one real lock guards it. Each collector's ring holds about ``window / interval`` rows,
at most ``MAX_CAPACITY``; older rows go as newer ones come.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Iterable, Mapping, Sequence

from dashboard.history.columns import Columns
from dashboard.workers import native_lock

MEMORY_WINDOW = 3_600.0  # the newest hour is served from memory
MAX_CAPACITY = 100_000  # points per collector in memory


def _floats(values: Iterable[float]) -> array[float]:
    return array("d", values)


class _Ring(Columns["array[float]"]):
    """One collector's window: ``Columns`` kept to about ``capacity`` rows."""

    def __init__(self, capacity: int) -> None:
        super().__init__(_floats)
        self.capacity = capacity

    def add(self, ts: float, values: Mapping[str, float | None]) -> bool:
        added = super().add(ts, values)
        self._bound()
        return added

    def extend(self, ts: Sequence[float], columns: Mapping[str, Sequence[float]]) -> int:
        added = super().extend(ts, columns)
        self._bound()
        return added

    def _bound(self) -> None:
        # Trimming moves every value: do it in batches of a tenth, not on every row.
        if len(self.ts) > self.capacity * 1.1:
            count = len(self.ts) - self.capacity
            del self.ts[:count]
            for column in self.columns.values():
                del column[:count]


class MemoryHistory:
    """The last ``window`` seconds of every collector's values, safe across threads."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._rings: dict[str, _Ring] = {}
        self._lock = native_lock()

    def register(self, collector: str, interval: float) -> None:
        capacity = min(MAX_CAPACITY, math.ceil(self.window / interval) + 1)
        with self._lock:
            self._rings[collector] = _Ring(capacity)

    def collectors(self) -> list[str]:
        return list(self._rings)

    def append(self, collector: str, ts: float, values: Mapping[str, float | None]) -> None:
        with self._lock:
            ring = self._rings.get(collector)
            if ring is not None:
                ring.add(ts, values)

    def extend(
        self, collector: str, ts: Sequence[float], columns: Mapping[str, Sequence[float]]
    ) -> None:
        """Many rows at once (newer than what the ring holds), e.g. loaded from the file."""
        with self._lock:
            ring = self._rings.get(collector)
            if ring is not None:
                ring.extend(ts, columns)

    def rows(
        self, collector: str, start: float, end: float = math.inf
    ) -> tuple[list[float], dict[str, list[float]]]:
        """Rows with ``start < ts <= end`` (NaN where a series had no value)."""
        with self._lock:
            ring = self._rings.get(collector)
            if ring is None:
                return [], {}
            lo, hi = bisect.bisect_right(ring.ts, start), bisect.bisect_right(ring.ts, end)
            return list(ring.ts[lo:hi]), {n: list(c[lo:hi]) for n, c in ring.columns.items()}

    def latest(self, collector: str) -> tuple[float, dict[str, float]] | None:
        with self._lock:
            ring = self._rings.get(collector)
            if ring is None or not ring.ts:
                return None
            return ring.ts[-1], {n: c[-1] for n, c in ring.columns.items()}
