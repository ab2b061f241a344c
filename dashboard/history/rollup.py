"""Time buckets: the min/avg/max rollup tier, and downsampling answers to a point budget.

Pure functions over columnar data (a ``ts`` list and one float list per series, NaN for
"no value"), shared by the disk tiers and the in-memory window so that every path cuts
time the same way.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence

Columns = Mapping[str, Sequence[float]]
Stats = dict[str, dict[str, list[float]]]  # per series: {"min": ..., "avg": ..., "max": ...}
STATS = ("min", "avg", "max")


def bucket_bounds(ts: Sequence[float], width: float) -> list[tuple[int, int]]:
    """Index ranges ``[lo, hi)`` of ``ts`` (sorted) that fall in the same ``width`` bucket.

    One binary search per bucket edge, not one Python step per row: a day of 1 s rows is
    86,400 rows but only 1,440 one-minute edges.
    """
    bounds = []
    lo = 0
    while lo < len(ts):
        edge = (math.floor(ts[lo] / width) + 1) * width
        hi = bisect.bisect_left(ts, edge, lo + 1)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def _mean(values: Sequence[float]) -> float:
    """Mean of the values that are not NaN (NaN if none); C-speed when none is NaN."""
    total = math.fsum(values)
    if not math.isnan(total):
        return total / len(values) if values else math.nan
    kept = [v for v in values if not math.isnan(v)]
    return math.fsum(kept) / len(kept) if kept else math.nan


def rollup(
    ts: Sequence[float], columns: Columns, width: float
) -> tuple[list[float], dict[str, list[float]]]:
    """Min, avg and max of each series per ``width`` bucket, stamped with the bucket's last ts.

    The result's columns are named ``"<series>|min"``, ``"<series>|avg"``, ``"<series>|max"``.
    """
    bounds = bucket_bounds(ts, width)
    out: dict[str, list[float]] = {}
    for name, column in columns.items():
        lows, avgs, highs = [], [], []
        for lo, hi in bounds:
            values = column[lo:hi]
            if math.isnan(math.fsum(values)):
                values = [v for v in values if not math.isnan(v)]
            lows.append(min(values) if values else math.nan)
            avgs.append(_mean(values))
            highs.append(max(values) if values else math.nan)
        out[f"{name}|min"], out[f"{name}|avg"], out[f"{name}|max"] = lows, avgs, highs
    return [ts[hi - 1] for _lo, hi in bounds], out


def split_stats(columns: Mapping[str, list[float]]) -> Stats:
    """``{"cpu.total|avg": ...}`` as ``{"cpu.total": {"avg": ..., "min": ..., "max": ...}}``."""
    result: Stats = {}
    for key, column in columns.items():
        name, _, stat = key.rpartition("|")
        if stat in STATS:
            result.setdefault(name, {})[stat] = column
    return result


def downsample(
    ts: Sequence[float], columns: Columns, max_points: int
) -> tuple[list[float], dict[str, list[float]], float]:
    """At most ``max_points`` points: averages over equal time buckets, and the bucket width.

    Buckets are aligned to multiples of the width, so asking again a little later moves the
    newest bucket only; the width is 0 when nothing had to be merged.
    """
    if len(ts) <= max_points:
        return list(ts), {n: list(c) for n, c in columns.items()}, 0.0
    width = _nice_width((ts[-1] - ts[0]) / max_points)
    while len(bucket_bounds(ts, width)) > max_points:
        width = _nice_width(width * 1.5)
    bounds = bucket_bounds(ts, width)
    out = {}
    for name, column in columns.items():
        out[name] = [_mean(column[lo:hi]) for lo, hi in bounds]
    return [ts[hi - 1] for _lo, hi in bounds], out, width


def extremes(ts: Sequence[float], column: Sequence[float], width: float, stat: str) -> list[float]:
    """The min (or max) of ``column`` per ``width`` bucket, NaN ignored."""
    pick = min if stat == "min" else max
    out = []
    for lo, hi in bucket_bounds(ts, width):
        values = [v for v in column[lo:hi] if not math.isnan(v)]
        out.append(pick(values) if values else math.nan)
    return out


# Round bucket widths (s); the page buckets live samples into the same ones (its config JSON).
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200)


def _nice_width(seconds: float) -> float:
    """The smallest round width (1 s, 2 s, 5 s, ... 1 d and multiples) of at least ``seconds``."""
    for nice in NICE_STEPS:
        if nice >= seconds:
            return float(nice)
    return float(math.ceil(seconds / 86_400) * 86_400)
