"""Turning whatever a collector returned into a validated, wire-safe reading.

A collector is outside code: it may return ``None``, strings, NaN, a million series or a
10 MB string. ``validate`` accepts only what the contract allows and says precisely what was
wrong otherwise. A NaN or an infinity is a number gone bad, not garbage: it becomes ``None``
("no value", a gap in that one series or table cell) and is counted in the reading, so the
rest of the reading is kept and the wire and history never carry it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collectors.base import MAX_SERIES, SERIES_RE, Sample, Series
from collectors.messages import kind, quoted

MAX_ROWS = 5_000
MAX_ROW_FIELDS = 32
MAX_TEXT = 256


class BadOutput(ValueError):
    """A collector returned something outside the contract."""


@dataclass(frozen=True)
class Reading:
    """A validated reading: finite numbers or None, flat JSON-able rows."""

    ts: float
    values: dict[str, float | None]
    rows: list[dict[str, Any]] | None
    non_finite: int = 0  # values and cells that were NaN or infinite, now None
    non_finite_series: str | None = None  # the first of them: a series or "rows[i].field"


class _Gaps:
    """The non-finite numbers met while checking one reading: how many, and the first."""

    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None

    def note(self, where: str) -> None:
        self.count += 1
        self.first = self.first or where


def validate(result: Any, known: set[str], now: float) -> Reading:
    """Check a ``collect()`` result against the collector's declared series."""
    if isinstance(result, Sample):
        values, rows, ts = result.values, result.rows, result.ts
    elif isinstance(result, Mapping):
        values, rows, ts = result, None, None
    else:
        raise BadOutput(f"collect() returned {kind(result)}; expected a dict or a Sample")
    gaps = _Gaps()
    return Reading(
        ts=_timestamp(ts, now),
        values=_values(values, known, gaps),
        rows=_rows(rows, gaps),
        non_finite=gaps.count,
        non_finite_series=gaps.first,
    )


def check_series(collector: str, series: list[Series]) -> None:
    """What ``describe()`` returned: Series with valid names, each with the collector's
    prefix (names are global: ``/metrics`` gauges, exports), at most ``MAX_SERIES``."""
    for item in series:
        if not isinstance(item, Series) or not SERIES_RE.match(str(item.name)):
            raise BadOutput(f"describe() returned {quoted(item)}; expected Series with valid names")
        if not item.name.startswith(collector + "."):
            raise BadOutput(f"series {item.name!r} must start with {collector + '.'!r}")
    if len(series) > MAX_SERIES:
        raise BadOutput(f"describe() returned {len(series)} series; at most {MAX_SERIES}")


def finite_or_none(value: Any) -> float | None:
    """A number fit for JSON: NaN, infinities and ints beyond a float's range become None."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an int of 309 digits or more: an infinity as a float
        return None
    return value if math.isfinite(value) else None


def _timestamp(ts: Any, now: float) -> float:
    if ts is None:
        return now
    value = finite_or_none(ts)
    if value is None or abs(value - now) > 86_400:
        raise BadOutput(f"Sample.ts = {ts!r}: expected unix seconds within a day of now")
    return value


def _values(values: Any, known: set[str], gaps: _Gaps) -> dict[str, float | None]:
    if not isinstance(values, Mapping):
        raise BadOutput(f"values is {kind(values)}; expected a dict of series name -> number")
    if len(values) > MAX_SERIES:
        raise BadOutput(f"{len(values)} series in one sample; at most {MAX_SERIES}")
    clean = {}
    for name, value in values.items():
        if name not in known:
            raise BadOutput(f"series {quoted(name)} is not in describe()")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise BadOutput(f"series {name!r} = {quoted(value)}: expected a number or None")
        clean[name] = finite_or_none(value)
        if value is not None and clean[name] is None:
            gaps.note(name)
    return clean


def _rows(rows: Any, gaps: _Gaps) -> list[dict[str, Any]] | None:
    if rows is None:
        return None
    if not isinstance(rows, (list, tuple)):
        raise BadOutput(f"rows is {kind(rows)}; expected a list of dicts")
    if len(rows) > MAX_ROWS:
        raise BadOutput(f"{len(rows)} rows in one sample; at most {MAX_ROWS}")
    return [_row(row, i, gaps) for i, row in enumerate(rows)]


def _row(row: Any, index: int, gaps: _Gaps) -> dict[str, Any]:
    if not isinstance(row, Mapping) or len(row) > MAX_ROW_FIELDS:
        raise BadOutput(f"row {quoted(row)}: expected a dict of at most {MAX_ROW_FIELDS} fields")
    clean: dict[str, Any] = {}
    for key, value in row.items():
        if not isinstance(key, str) or len(key) > 64:
            raise BadOutput(f"row field {quoted(key)}: expected a short string name")
        clean[key] = _cell(key, value)
        if isinstance(value, float) and clean[key] is None:
            gaps.note(f"rows[{index}].{key}")
    return clean


def _cell(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return finite_or_none(value)
    raise BadOutput(f"row field {key!r} = {quoted(value)}: expected a string, number, bool or None")
