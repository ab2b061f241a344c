"""What travels through Redis, and the checks a web process makes before it believes any of it.

Per host (keys under ``dashboard:<host>:``):

- ``samples``, a stream: one entry per sample, ``{"d": <JSON>}`` with the collector, the
  agent's sequence number, the timestamp and the values (and the series, when they changed).
  Trimmed by age (``[queue] keep``): it is a buffer for web processes that restart and for
  outages, not storage — every web process and every agent keeps its own history.
- ``rows``, a stream of the table rows of tabular collectors (processes), each naming the
  collector and seq of its sample, capped at a few entries: rows are for live views only.
- ``series``, a hash: each collector's series and interval, for a web process that starts
  after the change was sent.
- ``sent``, a hash: each collector's newest timestamp in ``samples`` — where the agent
  resumes after an outage.
- ``claim``, a string with a lease: which agent reports as this host.

and ``dashboard:hosts``, the set of host names. Everything is JSON, never pickle; an entry
that is too big, not JSON, or not what a collector may return is refused with
``WireError`` (the reading is validated by ``pipeline.validate``, as a collector's output).
Our agents never write NaN or Infinity (``allow_nan=False``), but ``json.loads`` reads those
tokens, and ``1e999`` is valid JSON for an infinity: in a value or a table cell, either becomes
no value and is counted (``Reading.non_finite``), as a collector's would.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collectors.base import NAME_RE, Series
from dashboard.pipeline.validate import BadOutput, Reading, check_series, validate
from dashboard.settings import HOST_RE, RESERVED_HOSTS

PREFIX = "dashboard"
HOSTS_KEY = f"{PREFIX}:hosts"
MAX_ENTRY = 256 * 1024  # bytes of JSON in one entry: a processes table fits many times over
ROWS_KEPT = 20  # entries of each host's rows stream


class WireError(ValueError):
    """An entry that is not a sample a collector could have produced; says what is wrong."""


def key(host: str, what: str) -> str:
    """``dashboard:<host>:<what>`` (``samples``, ``rows``, ``series``, ``sent``, ``claim``)."""
    return f"{PREFIX}:{host}:{what}"


def check_host(host: str) -> str:
    if not isinstance(host, str) or not HOST_RE.match(host):
        raise WireError(
            f"host name {host!r:.80}: expected letters, digits, '.', '_' or '-', at most 63"
        )
    if host in RESERVED_HOSTS:
        raise WireError(f"host name {host!r}: reserved, {RESERVED_HOSTS[host]}")
    return host


@dataclass(frozen=True)
class Entry:
    """One sample as an agent sent it (rows travel in their own stream)."""

    collector: str
    seq: int
    reading: Reading
    series: list[Series] | None  # present when they changed
    interval: float | None
    has_rows: bool


def encode(
    collector: str,
    seq: int,
    reading: Reading,
    series: Sequence[Series] | None,
    interval: float | None,
) -> bytes:
    body: dict[str, Any] = {"c": collector, "q": seq, "t": reading.ts, "v": reading.values}
    if series is not None:
        body["s"] = [s.as_dict() for s in series]
    if interval is not None:
        body["i"] = interval
    if reading.rows is not None:
        body["r"] = True
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()


def encode_rows(collector: str, seq: int, rows: Sequence[Mapping[str, Any]]) -> bytes:
    body = {"c": collector, "q": seq, "r": list(rows)}
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()


def encode_series(series: Sequence[Series], interval: float) -> bytes:
    return json.dumps({"s": [s.as_dict() for s in series], "i": interval}).encode()


def decode(raw: bytes, known: Callable[[str], set[str] | None], now: float) -> Entry:
    """Check one ``samples`` entry. ``known(collector)``: its series on this host, from an
    earlier entry or the ``series`` hash (``None`` when nothing is known yet: then the entry
    must bring its series)."""
    body = _json(raw, dict)
    collector = body.get("c")
    if not isinstance(collector, str) or not NAME_RE.match(collector):
        raise WireError(f"collector {collector!r:.60}: not a collector name")
    seq = body.get("q")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise WireError(f"seq {seq!r:.60}: expected a whole number")
    series = _series(collector, body["s"]) if "s" in body else None
    names = {s.name for s in series} if series is not None else known(collector)
    if names is None:
        raise WireError(f"{collector}: values before any series were described")
    interval = _interval(body.get("i"))
    rows: list[Any] | None = [] if body.get("r") is True else None  # the table: `rows`
    try:
        reading = validate(_sample(body, rows), names, now)
    except BadOutput as exc:
        raise WireError(f"{collector}: {exc}") from None
    return Entry(collector, seq, reading, series, interval, rows is not None)


def decode_rows(raw: bytes) -> tuple[str, int, Reading]:
    """A ``rows`` entry: its collector, the seq of the sample it belongs to, the rows (in a
    reading of no values, for its ``non_finite`` count)."""
    body = _json(raw, dict)
    collector, seq, rows = body.get("c"), body.get("q"), body.get("r")
    if not isinstance(collector, str) or not isinstance(seq, int) or isinstance(seq, bool):
        raise WireError("rows: expected the collector and seq of their sample")
    try:
        checked = validate(_sample({"v": {}, "t": None}, rows), set(), 0.0)
    except BadOutput as exc:
        raise WireError(f"rows: {exc}") from None
    return collector, seq, checked


def decode_series(collector: str, raw: bytes) -> tuple[list[Series], float | None]:
    body = _json(raw, dict)
    return _series(collector, body.get("s")), _interval(body.get("i"))


def _json(raw: bytes, expected: type) -> Any:
    if not isinstance(raw, (bytes, str)) or len(raw) > MAX_ENTRY:
        raise WireError(f"entry of {len(raw)} bytes: at most {MAX_ENTRY}")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not JSON: {str(exc)[:80]}") from None
    if not isinstance(body, expected):
        raise WireError(f"expected a JSON {expected.__name__}, got {type(body).__name__}")
    return body


def _series(collector: str, raw: Any) -> list[Series]:
    if not isinstance(raw, list):
        raise WireError(f"{collector}: series is not a list")
    try:
        series = [
            Series(str(s["name"]), str(s["unit"]), str(s.get("label", ""))[:200]) for s in raw
        ]
        check_series(collector, series)
    except (TypeError, KeyError) as exc:
        raise WireError(f"{collector}: series entries need a name and a unit ({exc})") from None
    except BadOutput as exc:
        raise WireError(f"{collector}: {exc}") from None
    return series


def _interval(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 < raw <= 86_400:
        raise WireError(f"interval {raw!r:.40}: expected seconds, 0 < interval <= 86400")
    return float(raw)


def _sample(body: Mapping[str, Any], rows: list[Any] | None) -> Any:
    from collectors.base import Sample

    ts = body.get("t")
    if ts is not None and (not isinstance(ts, (int, float)) or not math.isfinite(ts)):
        raise WireError(f"ts {ts!r:.40}: expected unix seconds")
    values = body.get("v")
    if not isinstance(values, dict):
        raise WireError("values: expected an object")
    return Sample(values=values, rows=rows, ts=ts)
