"""Each room's sample, built off the event loop: its series, its filter applied, JSON text ready.

Right after ``collect()``, in the collector's native worker thread, every room of the
namespace gets its payload: the series the room asked for, cut by the collector's own
``apply_filter`` for the room's filter (plugin code), and serialized once. The event loop
then only splices the sample's ``seq`` into that text and hands it to Socket.IO, which writes
an ``Encoded`` value verbatim (``dashboard.web.wirejson``). A filter that raises or returns
something that is not JSON costs its own room that one sample, nothing else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from collectors.base import Collector, Series
from collectors.messages import kind
from dashboard.pipeline.validate import Reading

MAX_FILTER_TEXT = 4_096  # a normalized filter, as JSON; more is not a filter but a payload


@dataclass(frozen=True)
class RoomSpec:
    """What every member of a room asked for: a host, a series subset, a normalized filter."""

    series: tuple[str, ...] | None
    filter: Mapping[str, Any] | None
    host: str = ""

    @property
    def key(self) -> str:
        body = json.dumps(
            [self.host, self.series, self.filter], sort_keys=True, separators=(",", ":")
        )
        return "sub:" + hashlib.sha1(body.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Encoded:
    """JSON text that the wire codec writes as it is, inside a Socket.IO packet."""

    text: str


@dataclass(frozen=True)
class RoomPayload:
    """One room's ``sample`` event as JSON text, with a hole for the sequence number."""

    head: str  # '{"collector":...,"ts":...,"seq":'
    tail: str  # ',"values":{...}}' or with ',"rows":[...]'

    def with_seq(self, seq: int) -> Encoded:
        return Encoded(f"{self.head}{seq}{self.tail}")


@dataclass(frozen=True)
class FilterFault:
    """A room whose filter could not be applied to this reading: what went wrong."""

    room: str
    message: str
    error: BaseException


@dataclass(frozen=True)
class Prepared:
    """One successful run: the reading (for history), the series when they changed, and a
    payload for every room that could be served."""

    reading: Reading
    series: list[Series] | None
    payloads: dict[str, RoomPayload]
    faults: list[FilterFault]


def prepare(
    collector: Collector,
    host: str,
    reading: Reading,
    rooms: Iterable[tuple[str, RoomSpec]],
) -> tuple[dict[str, RoomPayload], list[FilterFault]]:
    """Every room's payload for ``reading`` (runs in the collector's native thread)."""
    head = _head(collector.name, host, reading.ts)
    payloads: dict[str, RoomPayload] = {}
    faults: list[FilterFault] = []
    for key, spec in rooms:
        try:
            payloads[key] = RoomPayload(head, _tail(collector, spec, reading))
        except _RoomFault as fault:
            faults.append(FilterFault(key, str(fault), fault.error))
    return payloads, faults


def normalized_filter(value: Any) -> dict[str, Any]:
    """What ``parse_filter`` returned, checked: an object of plain JSON, and small."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise TypeError(f"parse_filter() returned {kind(value)}; expected a dict")
    text = json.dumps(value, allow_nan=False, sort_keys=True)
    if len(text) > MAX_FILTER_TEXT:
        raise ValueError(
            f"parse_filter() returned {len(text)} characters of JSON; at most {MAX_FILTER_TEXT}"
        )
    return dict(json.loads(text))


class _RoomFault(Exception):
    """The room's filter failed on this reading; ``error`` is what the plugin raised."""

    def __init__(self, message: str, error: BaseException) -> None:
        super().__init__(message)
        self.error = error


def _head(collector: str, host: str, ts: float) -> str:
    fields = json.dumps({"collector": collector, "host": host, "ts": ts}, allow_nan=False)
    return fields[:-1] + ',"seq":'


def _tail(collector: Collector, spec: RoomSpec, reading: Reading) -> str:
    values: Mapping[str, Any] = reading.values
    if spec.series is not None:
        values = {s: values[s] for s in spec.series if s in values}
    rows: list[dict[str, Any]] | None = reading.rows
    if spec.filter is not None:
        values, rows = _filtered(collector, spec.filter, values, rows)
    body: dict[str, Any] = {"values": dict(values)}
    if rows is not None:
        body["rows"] = rows
    try:
        text = json.dumps(body, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # only a filter's output can fail here
        raise _RoomFault(f"apply_filter() returned values that are not JSON: {exc}", exc) from exc
    return "," + text[1:]


def _filtered(
    collector: Collector,
    flt: Mapping[str, Any],
    values: Mapping[str, Any],
    rows: list[dict[str, Any]] | None,
) -> tuple[Mapping[str, Any], list[dict[str, Any]] | None]:
    # Each room gets its own copies: a filter that edits them in place must not change what
    # the next room (or history) sees.
    try:
        result: Any = collector.apply_filter(
            flt, dict(values), None if rows is None else list(rows)
        )
    except Exception as exc:  # plugin code: it may raise anything
        raise _RoomFault(f"apply_filter() raised {type(exc).__name__}: {exc}", exc) from exc
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Mapping)):
        problem = TypeError(f"apply_filter() returned {kind(result)}; expected (values, rows)")
        raise _RoomFault(str(problem), problem)
    new_values, new_rows = result
    if new_rows is not None and not isinstance(new_rows, list):
        problem = TypeError(f"apply_filter() returned rows as {kind(new_rows)}; expected a list")
        raise _RoomFault(str(problem), problem)
    return new_values, new_rows
