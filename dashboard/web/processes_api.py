"""Asking for a process snapshot: the ``snapshot`` payload on ``/processes`` and the query
string of ``GET /api/processes``, checked into one request (pure: no Flask here).

The filter is the live table's (``collectors.processes.parse_filter``), so a snapshot is
filtered, sorted and cut exactly as the table is.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from collectors.processes import parse_filter
from dashboard.web.protocol import RequestError, as_object, pick_host, seconds

PARAMETERS = ("at", "host", "match", "sort", "limit")


@dataclass(frozen=True)
class SnapshotRequest:
    ts: float
    host: str
    filter: dict[str, Any]


def parse_snapshot(data: Any, hosts: Collection[str], default_host: str | None) -> SnapshotRequest:
    """A ``snapshot`` payload: ``ts`` (unix seconds), ``host`` among ``hosts`` (else the
    default), ``filter`` as the live table's (optional)."""
    data = as_object(data, {"ts", "host", "filter"})
    if "ts" not in data:
        raise RequestError("ts: required (unix seconds)")
    ts = seconds(data, "ts")
    host = pick_host(data.get("host"), hosts, default_host)
    return SnapshotRequest(ts, host, _filter(data.get("filter", {})))


def parse_query(
    args: Mapping[str, str], hosts: Collection[str], default_host: str | None, now: float
) -> SnapshotRequest:
    """``?at=t&host=h&match=&sort=&limit=``: each optional, ``at`` now by default; an
    unknown parameter is an error too."""
    for key in args:
        if key not in PARAMETERS:
            raise RequestError(
                f"unknown parameter {key[:32]!r} (known: {', '.join(sorted(PARAMETERS))})"
            )
    text = args.get("at")
    ts = now if text is None else _number(text, "at", "unix seconds")
    host = pick_host(args.get("host"), hosts, default_host)
    flt: dict[str, Any] = {key: args[key] for key in ("match", "sort") if key in args}
    if "limit" in args:
        flt["limit"] = int(_number(args["limit"], "limit", "an integer", whole=True))
    return SnapshotRequest(ts, host, _filter(flt))


def _filter(value: Any) -> dict[str, Any]:
    try:
        return parse_filter(value)
    except ValueError as exc:
        raise RequestError(str(exc)) from None


def _number(text: str, key: str, expected: str, whole: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (whole and not value.is_integer()):
        raise RequestError(f"{key}={text[:32]!r}: expected {expected}")
    return value
