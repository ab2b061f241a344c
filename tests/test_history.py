"""The in-memory history window: ordering, trimming, thinning, new series, NaN."""

from __future__ import annotations

import math

from dashboard.history import MemoryHistory


def filled(points: int, window: float = 3600.0) -> MemoryHistory:
    history = MemoryHistory(window)
    history.register("cpu", 1.0)
    for i in range(points):
        history.append("cpu", 1000.0 + i, {"cpu.total": float(i)})
    return history


def test_query_returns_points_after_start():
    got = filled(10).query("cpu", 1005.0)
    assert got == {"ts": [1006.0, 1007.0, 1008.0, 1009.0],
                   "values": {"cpu.total": [6.0, 7.0, 8.0, 9.0]}}  # fmt: skip


def test_the_window_is_bounded():
    history = filled(500, window=100)
    got = history.query("cpu", 0)
    assert len(got["ts"]) <= 111 and got["ts"][-1] == 1499.0


def test_thinning_keeps_the_newest_point_and_the_cap():
    got = filled(1000).query("cpu", 0, max_points=100)
    assert len(got["ts"]) == 100 and got["ts"][-1] == 1999.0


def test_out_of_order_readings_are_dropped():
    history = filled(3)
    history.append("cpu", 1001.0, {"cpu.total": 99.0})
    assert history.query("cpu", 0)["values"]["cpu.total"] == [0.0, 1.0, 2.0]


def test_a_new_series_is_padded_with_nulls_and_nan_is_null():
    history = filled(2)
    history.append("cpu", 1002.0, {"cpu.total": math.nan, "cpu.core0": 5.0})
    got = history.query("cpu", 0)
    assert got["values"] == {"cpu.total": [0.0, 1.0, None], "cpu.core0": [None, None, 5.0]}


def test_series_selection_and_unknown_collectors():
    history = filled(2)
    history.append("cpu", 1002.0, {"cpu.total": 1.0, "cpu.core0": 2.0})
    assert set(history.query("cpu", 0, series=["cpu.core0", "nope"])["values"]) == {"cpu.core0"}
    assert history.query("memory", 0) == {"ts": [], "values": {}}
