"""Validation of what clients send: pure functions, no Flask, each unit-tested.

Every function takes the raw decoded payload and returns a frozen, normalized request or
raises ``RequestError`` with a message fit to send back to the client as it is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from collectors.base import MAX_SERIES
from collectors.messages import kind, quoted


class RequestError(ValueError):
    """A client request outside the protocol; the message goes back in the ack."""


@dataclass(frozen=True)
class Subscription:
    series: tuple[str, ...] | None
    history: float
    since: float | None
    host: str


def parse_subscribe(
    data: Any,
    hosts: Mapping[str, Collection[str]],
    default_host: str | None,
    max_history: float,
    clock: Callable[[], float] = time.time,
) -> Subscription:
    """Validate a ``subscribe`` payload: its host among ``hosts`` (each with the collector's
    series there), ``default_host`` when it names none, then the series of that host."""
    data = as_object(data, {"series", "history", "since", "host"})
    host = pick_host(data.get("host"), hosts, default_host)
    series = None
    if "series" in data:
        series = series_names(data["series"], hosts[host])
    history = _number(data, "history", 0.0)
    if history < 0:
        raise RequestError(f"history = {history:g}: expected seconds >= 0")
    since = None
    if "since" in data:
        now = clock()
        since = max(_number(data, "since", 0.0), now - max_history)
        if since > now + 60:
            raise RequestError("since is in the future: expected unix seconds of a past sample")
    return Subscription(series, min(history, max_history), since, host)


@dataclass(frozen=True)
class RangeRequest:
    """A ``range``: one host's rows with ``start < ts <= end``, in at most ``points`` points."""

    start: float
    end: float
    series: tuple[str, ...] | None
    host: str
    points: int


RANGE_POINTS = (10, 4_000)  # the fewest and most points a range may ask for
DEFAULT_RANGE_POINTS = 2_000


def parse_range(
    data: Any,
    hosts: Mapping[str, Collection[str]],
    default_host: str | None,
    max_span: float,
) -> RangeRequest:
    """Validate a ``range`` payload: ``start`` before ``end`` (unix seconds), the span at
    most ``max_span`` (what history keeps), then the host and its series as ``subscribe``."""
    data = as_object(data, {"start", "end", "series", "host", "points"})
    for key in ("start", "end"):
        if key not in data:
            raise RequestError(f"{key}: required (unix seconds)")
    start, end = _number(data, "start", 0.0), _number(data, "end", 0.0)
    if start < 0:
        raise RequestError(f"start = {start:g}: expected unix seconds >= 0")
    if end <= start:
        raise RequestError(f"end = {end:g}: expected a time after start ({start:g})")
    if end - start > max_span:
        raise RequestError(
            f"end - start = {end - start:g} s: at most {max_span:g} s (what history keeps)"
        )
    host = pick_host(data.get("host"), hosts, default_host)
    series = series_names(data["series"], hosts[host]) if "series" in data else None
    points = _points(data["points"]) if "points" in data else DEFAULT_RANGE_POINTS
    return RangeRequest(start, end, series, host, points)


def _points(value: Any) -> int:
    low, high = RANGE_POINTS
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"points: expected an integer {low}..{high}, got {kind(value, 'json')}")
    if not low <= value <= high:
        raise RequestError(f"points = {quoted(value)}: expected an integer {low}..{high}")
    return value


def pick_host(wanted: Any, hosts: Collection[str], default: str | None) -> str:
    """The host a request is about: the one it names, else ``default``, else the only one."""
    known = ", ".join(sorted(hosts)) or "none yet"
    if wanted is not None:
        if not isinstance(wanted, str) or wanted not in hosts:
            raise RequestError(f"host {quoted(wanted)} is not served here (known: {known})")
        return str(wanted)
    if default is not None and default in hosts:
        return default
    if len(hosts) == 1:
        return next(iter(hosts))
    if not hosts:
        raise RequestError("host: no host has reported this collector yet")
    raise RequestError(f"host: this collector runs on several hosts; name one (known: {known})")


def as_object(data: Any, allowed: Collection[str]) -> dict[str, Any]:
    """The payload as a dict with only ``allowed`` keys (a missing payload is ``{}``)."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise RequestError(f"expected an object, got {kind(data, 'json')}")
    for key in data:
        if key not in allowed:
            allowed_keys = ", ".join(sorted(allowed)) or "none"
            raise RequestError(f"unknown key {quoted(key)} (allowed: {allowed_keys})")
    return dict(data)


def series_names(value: Any, known: Collection[str]) -> tuple[str, ...]:
    """A non-empty list of known series names (a subscribe's or an export's), sorted, unique."""
    if not isinstance(value, (list, tuple)) or not value:
        raise RequestError("series: expected a non-empty list of series names")
    if len(value) > MAX_SERIES:
        raise RequestError(f"series: {len(value)} names; at most {MAX_SERIES}")
    for name in value:
        if not isinstance(name, str) or name not in known:
            raise RequestError(f"series: unknown series {quoted(name)}")
    return tuple(sorted(set(value)))


def seconds(data: Mapping[str, Any], key: str) -> float:
    """``data[key]``, a finite number (unix seconds, say), or a ``RequestError`` naming it."""
    return _number(data, key, 0.0)


def _number(data: Mapping[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestError(f"{key}: expected a number of seconds, got {kind(value, 'json')}")
    return float(value)
