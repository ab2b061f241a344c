"""Rows kept as aligned columns: one of timestamps, one of floats per series, NaN for "no
value". The memory window and the store's blocks both keep their rows this way; this is the
one place that appends to them.

Rows only ever go on the end, newest last: a row not newer than the last one is dropped, so
every column stays in time order and as long as ``ts``. A series new to the columns gets
NaN for every row before its first value.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping, MutableSequence, Sequence
from typing import Any, Generic, TypeVar

C = TypeVar("C", bound=MutableSequence[float])
Rows = tuple[list[float], dict[str, list[float]]]  # (ts, columns) as plain lists


class Columns(Generic[C]):
    """Aligned ``ts`` and ``columns``; ``new`` makes a column (a list, an ``array('d')``)."""

    def __init__(self, new: Callable[[Iterable[float]], C]) -> None:
        self._new = new
        self.ts: C = new(())
        self.columns: dict[str, C] = {}

    def add(self, ts: float, values: Mapping[str, float | None]) -> bool:
        """Append one row; False (and nothing changes) if it is not newer than the last."""
        if self.ts and ts <= self.ts[-1]:
            return False
        self._pad(values.keys())
        self.ts.append(ts)
        for name, column in self.columns.items():
            value = values.get(name)
            column.append(math.nan if value is None else float(value))
        return True

    def extend(self, ts: Sequence[float], columns: Mapping[str, Sequence[float]]) -> int:
        """Append many rows at once (those not newer than the last one are skipped); how many."""
        first = bisect.bisect_right(ts, self.ts[-1]) if self.ts else 0
        added = len(ts) - first
        if added <= 0:
            return 0
        self._pad(columns.keys())
        self.ts.extend(ts[first:])
        for name, column in self.columns.items():
            source = columns.get(name)
            column.extend(source[first:] if source is not None else [math.nan] * added)
        return added

    def clear(self) -> None:
        self.ts = self._new(())
        self.columns = {}

    def _pad(self, names: Iterable[Any]) -> None:
        for name in set(names) - self.columns.keys():
            self.columns[name] = self._new([math.nan] * len(self.ts))
