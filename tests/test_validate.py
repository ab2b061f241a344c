"""What ``validate`` makes of a collector's output: a NaN or an infinity costs that one value
(``None``, counted), anything that is not a number at all is still bad output — and the same
holds for a stream entry a web process decodes under scale-out."""

from __future__ import annotations

import json
import math

import pytest

from collectors import Sample
from dashboard.fleet import wire
from dashboard.pipeline.validate import BadOutput, validate

KNOWN = {"toy.a", "toy.b", "toy.c"}
NOW = 1_800_000_000.0
NON_FINITE = [math.nan, math.inf, -math.inf, 10**400]  # the last: an infinity as a float


@pytest.mark.parametrize("bad", NON_FINITE, ids=["nan", "+inf", "-inf", "huge-int"])
def test_a_non_finite_value_becomes_none_and_the_rest_is_kept(bad):
    reading = validate({"toy.a": 1, "toy.b": bad, "toy.c": None}, KNOWN, NOW)
    assert reading.values == {"toy.a": 1.0, "toy.b": None, "toy.c": None}
    assert reading.non_finite == 1 and reading.non_finite_series == "toy.b"
    json.dumps(reading.values, allow_nan=False)  # fit for the wire as it is


def test_a_sample_counts_every_non_finite_value_and_cell_and_names_the_first():
    rows = [{"pid": 1, "cpu": 2.5}, {"pid": 2, "cpu": math.inf, "memory": math.nan}]
    result = Sample(values={"toy.a": 3.0, "toy.b": -math.inf, "toy.c": math.nan}, rows=rows)
    reading = validate(result, KNOWN, NOW)
    assert reading.values == {"toy.a": 3.0, "toy.b": None, "toy.c": None}
    assert reading.rows == [{"pid": 1, "cpu": 2.5}, {"pid": 2, "cpu": None, "memory": None}]
    assert reading.non_finite == 4 and reading.non_finite_series == "toy.b"
    json.dumps([reading.values, reading.rows], allow_nan=False)


def test_a_non_finite_table_cell_is_named_by_its_row_and_field():
    reading = validate(
        Sample(values={}, rows=[{"pid": 1}, {"pid": 2, "cpu": math.inf}]), KNOWN, NOW
    )
    assert reading.rows == [{"pid": 1}, {"pid": 2, "cpu": None}]
    assert reading.non_finite == 1 and reading.non_finite_series == "rows[1].cpu"


def test_finite_output_counts_nothing():
    reading = validate(Sample(values={"toy.a": None}, rows=[{"cpu": None, "n": 1}]), KNOWN, NOW)
    assert reading.non_finite == 0 and reading.non_finite_series is None


NOT_NUMBERS = [
    ({"toy.a": "nan"}, "series 'toy.a' = 'nan': expected a number or None"),
    ({"toy.a": [math.nan]}, "series 'toy.a' = [nan]: expected a number or None"),
    ({"toy.a": False}, "series 'toy.a' = False: expected a number or None"),
    ({"toy.a": {"v": 1}}, "expected a number or None"),
    (Sample(values={}, ts=math.nan), "Sample.ts = nan: expected unix seconds"),
    (Sample(values={}, ts=math.inf), "Sample.ts = inf: expected unix seconds"),
    (Sample(values={}, ts=10**400), "expected unix seconds within a day of now"),
    (Sample(values={}, rows=[{"cpu": [math.inf]}]), "row field 'cpu' = [inf]: expected a string"),
]


@pytest.mark.parametrize(("result", "message"), NOT_NUMBERS)
def test_what_is_not_a_number_is_still_bad_output(result, message):
    with pytest.raises(BadOutput, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(result, KNOWN, NOW)


# -- the same rules for an entry a web process reads from Redis ------------------------------


def known(name: str) -> set[str] | None:
    return {"cpu.total", "cpu.core0"} if name == "cpu" else None


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_a_non_finite_token_in_an_entry_is_a_counted_gap_not_a_dropped_entry(token):
    raw = b'{"c":"cpu","q":7,"t":%.1f,"v":{"cpu.total":%s,"cpu.core0":5}}' % (NOW, token)
    entry = wire.decode(raw, known, NOW)
    assert entry.seq == 7 and entry.reading.values == {"cpu.total": None, "cpu.core0": 5.0}
    assert entry.reading.non_finite == 1 and entry.reading.non_finite_series == "cpu.total"


def test_a_non_finite_cell_in_a_rows_entry_is_a_counted_gap():
    raw = b'{"c":"processes","q":3,"r":[{"pid":1,"cpu":Infinity},{"pid":2,"cpu":0.5}]}'
    collector, seq, table = wire.decode_rows(raw)
    assert (collector, seq) == ("processes", 3)
    assert table.rows == [{"pid": 1, "cpu": None}, {"pid": 2, "cpu": 0.5}]
    assert table.non_finite == 1 and table.non_finite_series == "rows[0].cpu"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"c":"cpu","q":1,"t":NaN,"v":{}}', "ts nan: expected unix seconds"),
        (b'{"c":"cpu","q":1,"t":1e999,"v":{}}', "ts inf: expected unix seconds"),
        (b'{"c":"cpu","q":1,"v":{"cpu.total":"NaN"}}', "expected a number or None"),
    ],
)
def test_an_entry_whose_timestamp_or_value_is_not_a_number_is_refused(raw, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode(raw, known, NOW)


def test_what_an_agent_sends_carries_no_nan_token():
    reading = validate(
        {"cpu.total": math.nan, "cpu.core0": math.inf}, {"cpu.total", "cpu.core0"}, NOW
    )
    raw = wire.encode("cpu", 1, reading, None, None)
    assert b"NaN" not in raw and b"Infinity" not in raw
    assert wire.decode(raw, known, NOW).reading.values == {"cpu.total": None, "cpu.core0": None}
