"""Where samples are emitted: one room per distinct subscription, one emit per room.

Clients that ask for the same series with the same filter share a room, so a sample is cut,
serialized and emitted once for all of them. This is the only module that calls ``emit``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from collectors.base import Collector, Series
from dashboard.history.tiers import MemoryHistory
from dashboard.pipeline.validate import Reading

log = logging.getLogger(__name__)


class Emitter(Protocol):
    def emit(self, event: str, data: Any, namespace: str, to: Any = None) -> None: ...
    def enter_room(self, sid: str, room: str, namespace: str) -> None: ...
    def leave_room(self, sid: str, room: str, namespace: str) -> None: ...


@dataclass(frozen=True)
class RoomSpec:
    """What every member of a room asked for: a series subset and a normalized filter."""

    series: tuple[str, ...] | None
    filter: Mapping[str, Any] | None

    @property
    def key(self) -> str:
        body = json.dumps([self.series, self.filter], sort_keys=True, separators=(",", ":"))
        return "sub:" + hashlib.sha1(body.encode()).hexdigest()[:20]


@dataclass
class _Client:
    series: tuple[str, ...] | None = None
    filter: Mapping[str, Any] | None = None
    room: str | None = None


@dataclass
class _Topic:
    """One collector's namespace: its sequence counter, clients and rooms."""

    collector: Collector
    seq: int = 0
    clients: dict[str, _Client] = field(default_factory=dict)
    rooms: dict[str, tuple[RoomSpec, int]] = field(default_factory=dict)


class Hub:
    """Fans readings out to rooms and keeps the memory history."""

    def __init__(self, emitter: Emitter, history: MemoryHistory, host: str) -> None:
        self.emitter, self.history, self.host = emitter, history, host
        self._topics: dict[str, _Topic] = {}
        self._lock = threading.Lock()

    def add(self, collector: Collector) -> None:
        self._topics[collector.name] = _Topic(collector)

    def knows(self, name: str) -> bool:
        return name in self._topics

    def replace(self, collector: Collector) -> None:
        """A new instance for a known namespace (a reload): clients and rooms stay."""
        self._topics[collector.name].collector = collector

    def seq(self, name: str) -> int:
        return self._topics[name].seq

    def subscribe(self, name: str, sid: str, series: tuple[str, ...] | None) -> None:
        with self._lock:
            client = self._topics[name].clients.setdefault(sid, _Client())
            client.series = series
            self._move(name, sid, client, subscribed=True)

    def set_filter(self, name: str, sid: str, flt: Mapping[str, Any]) -> None:
        with self._lock:
            client = self._topics[name].clients.setdefault(sid, _Client())
            client.filter = flt
            self._move(name, sid, client, subscribed=client.room is not None)

    def unsubscribe(self, name: str, sid: str) -> None:
        with self._lock:
            client = self._topics[name].clients.get(sid)
            if client is not None:
                self._move(name, sid, client, subscribed=False)

    def drop(self, name: str, sid: str) -> None:
        """Forget a disconnected client (the server already removed it from its rooms)."""
        with self._lock:
            topic = self._topics[name]
            client = topic.clients.pop(sid, None)
            if client is not None and client.room is not None:
                self._release(topic, client.room)

    def clients(self) -> int:
        with self._lock:
            return sum(len(t.clients) for t in self._topics.values())

    def publish(self, name: str, reading: Reading, series: list[Series] | None) -> None:
        """Record one validated reading and emit it once to every room of its namespace."""
        topic = self._topics[name]
        with self._lock:
            topic.seq += 1
            seq = topic.seq
            rooms = [(key, spec) for key, (spec, _members) in topic.rooms.items()]
        self.history.append(name, reading.ts, reading.values)
        namespace = "/" + name
        if series is not None and rooms:
            body = {"series": [s.as_dict() for s in series]}
            self.emitter.emit("series", body, namespace=namespace, to=[k for k, _ in rooms])
        for key, spec in rooms:
            payload = self._payload(topic, spec, reading, seq)
            if payload is not None:
                self.emitter.emit("sample", payload, namespace=namespace, to=key)

    def _payload(
        self, topic: _Topic, spec: RoomSpec, reading: Reading, seq: int
    ) -> dict[str, Any] | None:
        values: Mapping[str, Any] = reading.values
        if spec.series is not None:
            values = {s: values[s] for s in spec.series if s in values}
        rows = reading.rows
        if spec.filter is not None:
            try:
                values, rows = topic.collector.apply_filter(spec.filter, values, rows)
            except Exception:
                log.exception("collector %s: apply_filter failed", topic.collector.name)
                return None
        payload = {
            "collector": topic.collector.name,
            "host": self.host,
            "ts": reading.ts,
            "seq": seq,
            "values": dict(values),
        }
        if rows is not None:
            payload["rows"] = rows
        return payload

    def _move(self, name: str, sid: str, client: _Client, subscribed: bool) -> None:
        topic = self._topics[name]
        target = None
        if subscribed:
            target = RoomSpec(client.series, client.filter or default_filter(topic.collector))
        new_key = target.key if target is not None else None
        if new_key == client.room:
            return
        namespace = "/" + name
        if client.room is not None:
            self.emitter.leave_room(sid, client.room, namespace=namespace)
            self._release(topic, client.room)
        if target is not None:
            self.emitter.enter_room(sid, new_key, namespace=namespace)
            spec, members = topic.rooms.get(new_key, (target, 0))
            topic.rooms[new_key] = (spec, members + 1)
        client.room = new_key

    @staticmethod
    def _release(topic: _Topic, key: str) -> None:
        spec, members = topic.rooms[key]
        if members <= 1:
            del topic.rooms[key]
        else:
            topic.rooms[key] = (spec, members - 1)


def default_filter(collector: Collector) -> Mapping[str, Any] | None:
    """The collector's filter for clients that never sent one (None if it takes none)."""
    try:
        return collector.parse_filter({})
    except ValueError:
        return None
