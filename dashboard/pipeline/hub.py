"""Where samples are emitted: one room per distinct subscription, one emit per room.

Clients that ask for the same series with the same filter share a room, so a sample is cut,
serialized and emitted once for all of them. The cutting and serializing happen in the
collector's native worker thread (``prepare``, see ``payloads``); on the event loop,
``publish`` only records the reading in history and writes each room's text. This is the only
module that calls ``emit``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from collectors.base import Collector, Series
from dashboard.pipeline import payloads
from dashboard.pipeline.payloads import Prepared, RoomSpec
from dashboard.pipeline.validate import Reading
from dashboard.workers import native_lock

log = logging.getLogger(__name__)


class Emitter(Protocol):
    def emit(self, event: str, data: Any, namespace: str, to: Any = None) -> None: ...
    def enter_room(self, sid: str, room: str, namespace: str) -> None: ...
    def leave_room(self, sid: str, room: str, namespace: str) -> None: ...


class Recorder(Protocol):
    """Where every published reading goes first (``History``)."""

    def append(self, collector: str, ts: float, values: Mapping[str, float | None]) -> None: ...


@dataclass
class _Client:
    series: tuple[str, ...] | None = None
    filter: Mapping[str, Any] | None = None
    room: str | None = None


@dataclass
class _Topic:
    """One collector's namespace: its sequence counter, clients and rooms."""

    collector: Collector
    default_filter: Mapping[str, Any] | None
    seq: int = 0
    clients: dict[str, _Client] = field(default_factory=dict)
    rooms: dict[str, tuple[RoomSpec, int]] = field(default_factory=dict)


class Hub:
    """Fans readings out to rooms and hands them to history."""

    def __init__(self, emitter: Emitter, history: Recorder, host: str) -> None:
        self.emitter, self.history, self.host = emitter, history, host
        self._topics: dict[str, _Topic] = {}
        # Taken from the event loop and from collectors' native threads (``prepare``): a
        # real lock, held only for dictionary work, never across I/O.
        self._lock = native_lock()

    def add(self, collector: Collector, default_filter: Mapping[str, Any] | None) -> None:
        """Serve a collector; ``default_filter`` is what clients that never sent one get."""
        self._topics[collector.name] = _Topic(collector, default_filter)

    def knows(self, name: str) -> bool:
        return name in self._topics

    def replace(self, collector: Collector, default_filter: Mapping[str, Any] | None) -> None:
        """A new instance for a known namespace (a reload): clients and rooms stay."""
        topic = self._topics[collector.name]
        topic.collector, topic.default_filter = collector, default_filter

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
            topic = self._topics.get(name)
            client = None if topic is None else topic.clients.pop(sid, None)
            if topic is not None and client is not None and client.room is not None:
                self._release(topic, client.room)

    def clients(self) -> int:
        with self._lock:
            return sum(len(t.clients) for t in self._topics.values())

    def prepare(self, name: str, reading: Reading, series: list[Series] | None) -> Prepared:
        """Every room's payload for a reading; runs in the collector's native thread."""
        topic = self._topics[name]
        with self._lock:
            rooms = [(key, spec) for key, (spec, _members) in topic.rooms.items()]
        ready, faults = payloads.prepare(topic.collector, self.host, reading, rooms)
        return Prepared(reading, series, ready, faults)

    def publish(self, name: str, prepared: Prepared) -> None:
        """Record the reading and write each room's prepared text (on the event loop).

        A room that appeared after ``prepare`` took its list gets this reading from history
        (its subscribe ack) or not at all, and every later one live.
        """
        topic = self._topics[name]
        with self._lock:
            topic.seq += 1
            seq = topic.seq
            live = list(topic.rooms)
        reading = prepared.reading
        self.history.append(name, reading.ts, reading.values)
        namespace = "/" + name
        if prepared.series is not None and live:
            body = {"series": [s.as_dict() for s in prepared.series]}
            self.emitter.emit("series", body, namespace=namespace, to=live)
        for key in live:
            payload = prepared.payloads.get(key)
            if payload is not None:
                self.emitter.emit("sample", payload.with_seq(seq), namespace=namespace, to=key)

    def _move(self, name: str, sid: str, client: _Client, subscribed: bool) -> None:
        topic = self._topics[name]
        target = None
        if subscribed:
            target = RoomSpec(client.series, client.filter or topic.default_filter)
        new_key = target.key if target is not None else None
        if new_key == client.room:
            return
        namespace = "/" + name
        if client.room is not None:
            self.emitter.leave_room(sid, client.room, namespace=namespace)
            self._release(topic, client.room)
        if target is not None and new_key is not None:
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
