"""The chunk format: exact round trips, compact steady data, and clear errors for bad blobs."""

from __future__ import annotations

import math
import random

import pytest

from dashboard.history import codec
from dashboard.history.rollup import downsample, rollup


def same(a: list[float], b: list[float]) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


def test_round_trip_is_exact_with_nan_and_jittered_timestamps():
    rng = random.Random(4)
    ts = [1_800_000_000.0 + i + rng.randint(-3, 3) / 1000 for i in range(600)]
    columns = {
        "a": [rng.random() * 100 for _ in ts],
        "b": [math.nan if i % 5 == 0 else float(i) for i in range(600)],
        "c": [0.0] * 600,
    }
    got_ts, got = codec.decode(codec.encode(ts, columns))
    assert got_ts == [round(t * 1000) / 1000 for t in ts]
    assert got.keys() == columns.keys() and all(same(got[k], columns[k]) for k in columns)


def test_steady_series_cost_a_fraction_of_a_byte_per_sample():
    ts = [1_800_000_000.0 + i for i in range(600)]
    columns = {f"s{i}": [float(i)] * 600 for i in range(10)}
    assert len(codec.encode(ts, columns)) / 6000 < 0.1


def test_an_empty_chunk_round_trips():
    assert codec.decode(codec.encode([], {})) == ([], {})


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x01",
        b"\x02\x00\x00\x00\x00",
        b"\x01\x05\x00\x00\x00{bad}",
        b"\x01\x02\x00\x00\x00{}x",
    ],
)
def test_a_bad_blob_raises_chunk_error(blob):
    with pytest.raises(codec.ChunkError):
        codec.decode(blob)


def test_a_truncated_body_raises_chunk_error():
    blob = codec.encode([1.0, 2.0], {"a": [1.0, 2.0]})
    with pytest.raises(codec.ChunkError):
        codec.decode(blob[:-3])


def test_mismatched_columns_are_refused_when_encoding():
    with pytest.raises(ValueError, match="column 'a' has 1 values for 2 ts"):
        codec.encode([1.0, 2.0], {"a": [1.0]})


def test_rollup_buckets_hold_min_avg_max_and_skip_nan():
    ts = [0.0, 10.0, 20.0, 60.0, 70.0]
    got_ts, got = rollup(ts, {"x": [1.0, math.nan, 3.0, math.nan, math.nan]}, 60)
    assert got_ts == [20.0, 70.0]
    assert got["x|min"][0] == 1.0 and got["x|avg"][0] == 2.0 and got["x|max"][0] == 3.0
    assert all(math.isnan(got[f"x|{s}"][1]) for s in ("min", "avg", "max"))


def test_downsample_averages_aligned_buckets_and_keeps_the_newest_point():
    ts = [float(i) for i in range(1, 3001)]
    got_ts, got, width = downsample(ts, {"x": ts}, 250)
    assert len(got_ts) <= 250 and width == 15 and got_ts[-1] == 3000.0
    assert got["x"][1] == sum(range(15, 30)) / 15  # bucket [15, 30): aligned, not "every nth"
