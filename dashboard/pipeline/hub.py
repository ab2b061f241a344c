"""Where samples are emitted: one room per distinct subscription, one emit per room.

A namespace serves one collector, for every host that has it (this machine's own collectors,
and under scale-out each agent's). A client subscribes to one host per namespace; clients
that ask for the same host, series and filter share a room, so a sample is cut, serialized
and emitted once for all of them. The cutting and serializing happen in the collector's
native worker thread (``prepare``, see ``payloads``); on the event loop, ``publish`` only
records the reading in history and writes each room's text. This is the only module that
calls ``emit``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
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
class Topic:
    """One collector on one host: what a subscriber is told, and where its history is kept."""

    host: str
    collector: Collector  # for its filter code (a stand-in for another host's collector)
    default_filter: Mapping[str, Any] | None
    series: list[Series]
    interval: float
    key: str  # its history's name: the collector, or "<host>/<collector>" for another host
    seq: int = 0
    last_seen: float | None = None
    rooms: dict[str, tuple[RoomSpec, int]] = field(default_factory=dict)


@dataclass
class _Client:
    host: str | None = None
    series: tuple[str, ...] | None = None
    filter: Mapping[str, Any] | None = None
    room: str | None = None
    room_host: str | None = None  # whose topic holds ``room``


class Hub:
    """Fans readings out to rooms and hands them to history."""

    def __init__(self, emitter: Emitter, history: Recorder, host: str) -> None:
        self.emitter, self.history, self.host = emitter, history, host
        self._topics: dict[tuple[str, str], Topic] = {}
        self._clients: dict[str, dict[str, _Client]] = {}  # namespace name -> sid -> client
        self._watchers: list[Callable[[Topic, Reading], None]] = []
        self._fleet: set[str] = set()  # sids following /fleet
        self._alerts: set[str] = set()  # sids following /alerts
        # Taken from the event loop and from collectors' native threads (``prepare``): a
        # real lock, held only for dictionary work, never across I/O.
        self._lock = native_lock()

    FLEET_ROOM = "fleet"
    ALERTS_ROOM = "alerts"

    def follow_fleet(self, sid: str, following: bool) -> None:
        """A ``/fleet`` client starts (or stops) getting the per-host summaries."""
        self._follow(self._fleet, sid, following, self.FLEET_ROOM, "/fleet")

    def follow_alerts(self, sid: str, following: bool) -> None:
        """An ``/alerts`` client starts (or stops) getting the ``alert`` pushes."""
        self._follow(self._alerts, sid, following, self.ALERTS_ROOM, "/alerts")

    def alert_followers(self) -> int:
        return len(self._alerts)

    ALERT_EVENTS = ("alert", "silences", "acked", "rules")

    def publish_alerts(self, event: str, body: dict[str, Any]) -> None:
        """One piece of alerting news, one emit for every ``/alerts`` client: ``alert`` (a
        transition), ``silences`` (the active ones, after one was made, ended or expired),
        ``acked`` (an acknowledgement), ``rules`` (a reload changed them)."""
        if event not in self.ALERT_EVENTS:
            raise ValueError(f"not an /alerts event: {event!r}")
        self.emitter.emit(event, body, namespace="/alerts", to=self.ALERTS_ROOM)

    def _follow(self, sids: set[str], sid: str, following: bool, room: str, namespace: str) -> None:
        with self._lock:
            if following:
                sids.add(sid)
                self.emitter.enter_room(sid, room, namespace=namespace)
            elif sid in sids:
                sids.discard(sid)
                self.emitter.leave_room(sid, room, namespace=namespace)

    def fleet_followers(self) -> int:
        return len(self._fleet)

    def publish_fleet(self, summaries: list[dict[str, Any]], now: float) -> None:
        """Every host's summary, one emit for every ``/fleet`` client (``now``: the server's
        time, so a page says "last seen 3 min ago" by the server's clock, not its own)."""
        body = {"now": now, "hosts": summaries}
        self.emitter.emit("fleet", body, namespace="/fleet", to=self.FLEET_ROOM)

    def watch(self, callback: Callable[[Topic, Reading], None]) -> None:
        """Call ``callback(topic, reading)`` after each publish (an agent's sender, say)."""
        self._watchers.append(callback)

    def key(self, host: str, name: str) -> str:
        """The history name of ``name`` on ``host``: this machine keeps its plain names."""
        return name if host == self.host else f"{host}/{name}"

    def add(
        self,
        collector: Collector,
        default_filter: Mapping[str, Any] | None,
        series: Sequence[Series] = (),
        interval: float = 1.0,
        host: str | None = None,
    ) -> Topic:
        """Serve a collector of ``host`` (this machine by default); a known one is updated
        in place (a reload): its clients and rooms stay."""
        host = host or self.host
        with self._lock:
            topic = self._topics.get((host, collector.name))
            if topic is None:
                topic = Topic(host, collector, default_filter, list(series), interval,
                              self.key(host, collector.name))  # fmt: skip
                self._topics[(host, collector.name)] = topic
                self._clients.setdefault(collector.name, {})
            else:
                topic.collector, topic.default_filter = collector, default_filter
                topic.series, topic.interval = list(series), interval
            return topic

    def knows(self, name: str) -> bool:
        return name in self._clients

    def topic(self, name: str, host: str | None = None) -> Topic | None:
        return self._topics.get((host or self.host, name))

    def topics(self, name: str | None = None) -> list[Topic]:
        """Every host's topic of ``name`` (or every topic), in the order they appeared."""
        with self._lock:
            return [t for t in self._topics.values() if name is None or t.collector.name == name]

    def hosts(self) -> list[str]:
        with self._lock:
            return list(dict.fromkeys(host for host, _name in self._topics))

    def subscribe(
        self, name: str, sid: str, series: tuple[str, ...] | None, host: str | None = None
    ) -> None:
        with self._lock:
            client = self._clients[name].setdefault(sid, _Client())
            client.host, client.series = host or self.host, series
            self._move(name, sid, client, subscribed=True)

    def set_filter(self, name: str, sid: str, flt: Mapping[str, Any]) -> None:
        with self._lock:
            client = self._clients[name].setdefault(sid, _Client())
            client.filter = flt
            self._move(name, sid, client, subscribed=client.room is not None)

    def unsubscribe(self, name: str, sid: str) -> None:
        with self._lock:
            client = self._clients[name].get(sid)
            if client is not None:
                self._move(name, sid, client, subscribed=False)

    def drop(self, name: str, sid: str) -> None:
        """Forget a disconnected client (the server already removed it from its rooms)."""
        with self._lock:
            client = self._clients.get(name, {}).pop(sid, None)
            if client is not None and client.room is not None and client.room_host is not None:
                self._release(self._topics[(client.room_host, name)], client.room)

    def clients(self) -> int:
        with self._lock:
            return sum(len(clients) for clients in self._clients.values())

    def prepare(
        self, name: str, reading: Reading, series: list[Series] | None, host: str | None = None
    ) -> Prepared:
        """Every room's payload for a reading; runs in the collector's native thread."""
        topic = self._topics[(host or self.host, name)]
        with self._lock:
            rooms = [(key, spec) for key, (spec, _members) in topic.rooms.items()]
        ready, faults = payloads.prepare(topic.collector, topic.host, reading, rooms)
        return Prepared(reading, series, ready, faults)

    def publish(
        self, name: str, prepared: Prepared, host: str | None = None, seq: int | None = None
    ) -> None:
        """Record the reading and write each room's prepared text (on the event loop).

        ``seq`` is the sample's number where its host counts them (an agent); this machine's
        are counted here. A room that appeared after ``prepare`` took its list gets this
        reading from history (its subscribe ack) or not at all, and every later one live.
        """
        topic = self._topics[(host or self.host, name)]
        reading = prepared.reading
        with self._lock:
            topic.seq = topic.seq + 1 if seq is None else seq
            topic.last_seen = reading.ts
            if prepared.series is not None:
                topic.series = list(prepared.series)
            live = list(topic.rooms)
        self.history.append(topic.key, reading.ts, reading.values)
        namespace = "/" + name
        if prepared.series is not None and live:
            body = {"series": [s.as_dict() for s in prepared.series]}
            self.emitter.emit("series", body, namespace=namespace, to=live)
        for key in live:
            payload = prepared.payloads.get(key)
            if payload is not None:
                self.emitter.emit(
                    "sample", payload.with_seq(topic.seq), namespace=namespace, to=key
                )
        for callback in self._watchers:
            callback(topic, reading)

    def _move(self, name: str, sid: str, client: _Client, subscribed: bool) -> None:
        topic = self._topics.get((client.host, name)) if client.host is not None else None
        target = None
        if subscribed and topic is not None:
            target = RoomSpec(client.series, client.filter or topic.default_filter, topic.host)
        new_key = target.key if target is not None else None
        if new_key == client.room:
            return
        namespace = "/" + name
        if client.room is not None and client.room_host is not None:
            self.emitter.leave_room(sid, client.room, namespace=namespace)
            self._release(self._topics[(client.room_host, name)], client.room)
        if target is not None and new_key is not None and topic is not None:
            self.emitter.enter_room(sid, new_key, namespace=namespace)
            spec, members = topic.rooms.get(new_key, (target, 0))
            topic.rooms[new_key] = (spec, members + 1)
        client.room = new_key
        client.room_host = topic.host if new_key is not None and topic is not None else None

    @staticmethod
    def _release(topic: Topic, key: str) -> None:
        spec, members = topic.rooms[key]
        if members <= 1:
            del topic.rooms[key]
        else:
            topic.rooms[key] = (spec, members - 1)
