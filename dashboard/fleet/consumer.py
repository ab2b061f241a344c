"""A web process's side of the streams: every host's samples, checked, into history and out
to this process's browsers.

The read itself (``XREAD`` over every host's streams, blocking a second) is network I/O and
runs on the event loop; decoding and checking the entries, and preparing each room's payload,
run in a native thread; the loop then publishes. Where to start reading a host comes from
this process's own history (its newest sample of that host), so a restarted web process
catches up from where it left off, as far back as Redis keeps (``[queue] keep``). An entry
older than what a host's collector already published is a duplicate and skipped; one that is
not valid is dropped, counted, and warned about once a minute per host. A NaN or an infinity
in an entry (not JSON, but ``json.loads`` reads it) costs that value, not the entry: it is
published as no value, counted in ``non_finite`` and warned about likewise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from collectors.base import Collector, Series
from dashboard.fleet import wire
from dashboard.fleet.connection import Link, connect
from dashboard.pipeline.hub import Hub, Topic
from dashboard.pipeline.payloads import Prepared
from dashboard.pipeline.validate import Reading
from dashboard.settings import QueueSettings, redacted

log = logging.getLogger(__name__)
BLOCK_MS = 1000
COUNT = 1000  # entries per stream per read
HOSTS_EVERY = 2.0  # seconds between looks for new hosts
MAX_BACKOFF = 5.0  # a Redis that comes back is found within seconds
DECODE_TIMEOUT = 10.0
WARN_EVERY = 60.0
CLOCK_MARGIN = 60.0
SERIES_PREFIX = "series:"  # history file meta keys: "series:<host>/<collector>"

StandIn = Callable[[str], Collector]  # a collector of this name, to run filters for it


@dataclass
class _Host:
    """One host's read positions and what this process knows of its collectors."""

    samples_from: str  # the last entry id read
    rows_from: str
    series: dict[str, tuple[list[Series], float]]


@dataclass(frozen=True)
class _Ready:
    """One checked sample, prepared for the rooms of its host's topic."""

    host: str
    collector: str
    seq: int
    prepared: Prepared


class Consumer(Link):
    """See the module docstring; ``runtime`` gives the hub, history, workers and clock."""

    def __init__(
        self,
        settings: QueueSettings,
        runtime: Any,
        stand_in: StandIn,
        on_collector: Callable[[str], None],
        sleep: Callable[[float], None],
    ) -> None:
        super().__init__()
        self.settings, self.runtime, self.stand_in = settings, runtime, stand_in
        self.on_collector, self.sleep = on_collector, sleep
        self.received = 0
        self.dropped = 0
        self.non_finite = 0
        self.running = True
        self._hosts: dict[str, _Host] = {}
        self._looked = 0.0
        self._rows: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        self._warned: dict[tuple[str, str], float] = {}

    def stop(self) -> None:
        self.running = False

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "url": redacted(self.settings.url),
            "error": self.error,
            "hosts": len(self._hosts),
            "received": self.received,
            "dropped": self.dropped,
            "non_finite": self.non_finite,
        }

    def run(self) -> None:
        """Forever (until ``running`` is cleared): read, check, publish; reconnect on failure.

        First, the hosts this process served before it restarted come back from its history
        file, so it serves what it has even while Redis is away.
        """
        try:
            self.runtime.workers.call(self._restore, DECODE_TIMEOUT)
        except TimeoutError:
            log.warning("queue: reading the known hosts from the history file timed out")
        delay = 1.0
        while self.running:
            try:
                if self._redis is None:
                    self._connect()
                    delay = 1.0
                self._look_for_hosts()
                self._read_once()
            except Exception as exc:  # redis-py raises many kinds; each means "not now"
                self._down(exc)
                self.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    def _connect(self) -> None:
        redis = connect(self.settings)
        redis.ping()
        self._redis = redis
        self._looked = 0.0
        self._up(f"reading every host's samples from {redacted(self.settings.url)}")

    def _restore(self) -> None:
        """In a native thread: topics for every host and collector the file describes."""
        for key, raw in self.runtime.history.recall(SERIES_PREFIX).items():
            host, _, name = key.removeprefix(SERIES_PREFIX).partition("/")
            try:
                described = _described(*wire.decode_series(name, raw.encode()))
                state = self._hosts.setdefault(wire.check_host(host), _Host("0-0", "0-0", {}))
            except wire.WireError:
                continue  # written by this process, so never; a hand-edited file, say
            state.series[name] = described
            self._topic(host, name)
        for host, state in self._hosts.items():
            state.samples_from = state.rows_from = self._start(
                [t for t in self.runtime.hub.topics() if t.host == host]
            )

    def _look_for_hosts(self) -> None:
        if time.monotonic() - self._looked < HOSTS_EVERY:
            return
        self._looked = time.monotonic()
        for raw in self._redis.smembers(wire.HOSTS_KEY):
            host = raw.decode(errors="replace")
            if host in self._hosts:
                continue
            try:
                wire.check_host(host)
            except wire.WireError as exc:
                self._drop(host, str(exc))
                continue
            described = self._redis.hgetall(wire.key(host, "series"))
            start = self.runtime.workers.call(partial(self._adopt, host, described), DECODE_TIMEOUT)
            self._hosts[host].samples_from = self._hosts[host].rows_from = start

    def _adopt(self, host: str, described: dict[bytes, bytes]) -> str:
        """In a native thread (history may read its file): a new host's collectors from its
        ``series`` hash, and the entry id to read it from."""
        state = self._hosts[host] = _Host("0-0", "0-0", {})
        for raw_name, raw in described.items():
            name = raw_name.decode(errors="replace")
            try:
                state.series[name] = _described(*wire.decode_series(name, raw))
            except wire.WireError as exc:
                self._drop(host, str(exc))
        topics = [self._topic(host, name) for name in state.series]
        return self._start(topics)

    def _start(self, topics: list[Topic]) -> str:
        """Before this process's newest sample of the host (all of ``keep`` if none).

        Entry ids are Redis's clock, timestamps the agent's: ``CLOCK_MARGIN`` earlier covers
        clocks that disagree a little; what was published already is skipped by timestamp.
        """
        seen = [t.last_seen for t in topics]
        if not seen or any(s is None for s in seen):
            since = self.runtime.clock() - self.settings.keep
        else:
            since = min(s for s in seen if s is not None) - CLOCK_MARGIN
        return f"{int(max(since, 0) * 1000)}-0"

    def _topic(self, host: str, name: str) -> Topic:
        """The hub's topic of ``name`` on ``host`` (made, with its history, when new)."""
        hub: Hub = self.runtime.hub
        series, interval = self._hosts[host].series[name]
        topic = hub.topic(name, host)
        if topic is None:
            new_name = not hub.knows(name)
            collector = self.stand_in(name)
            topic = hub.add(collector, _default_filter(collector), series, interval, host=host)
            latest = self.runtime.adopt(topic)
            topic.last_seen = None if latest is None else latest[0]
            if new_name:  # before anyone can see the host in /api/hosts: only dict work
                self.on_collector(name)
            self._remember(topic)
        elif topic.series != series or topic.interval != interval:
            topic.series, topic.interval = list(series), interval
            self._remember(topic)
        return topic

    def _remember(self, topic: Topic) -> None:
        """Keep what the topic's series are in the history file, for a restart without Redis."""
        body = wire.encode_series(topic.series, topic.interval).decode()
        self.runtime.history.remember(f"{SERIES_PREFIX}{topic.host}/{topic.collector.name}", body)

    def _read_once(self) -> None:
        if not self._hosts:
            self.sleep(BLOCK_MS / 1000)
            return
        streams: dict[str, str] = {}
        for host, state in self._hosts.items():
            streams[wire.key(host, "rows")] = state.rows_from
            streams[wire.key(host, "samples")] = state.samples_from
        reply = self._redis.xread(streams, count=COUNT, block=BLOCK_MS)
        if not reply:
            return
        ready = self.runtime.workers.call(lambda: self._check(reply), DECODE_TIMEOUT)
        for item in ready:
            self.runtime.hub.publish(item.collector, item.prepared, host=item.host, seq=item.seq)

    def _check(self, reply: list[Any]) -> list[_Ready]:
        """In a native thread: decode, check, skip what was published, prepare payloads."""
        by_kind: dict[str, list[tuple[str, list[Any]]]] = {"rows": [], "samples": []}
        for raw_key, entries in reply:
            _prefix, host, what = raw_key.decode().split(":", 2)
            by_kind.setdefault(what, []).append((host, entries))
        for host, entries in by_kind["rows"]:
            for entry_id, fields in entries:
                self._hosts[host].rows_from = entry_id.decode()
                try:
                    collector, seq, table = wire.decode_rows(fields.get(b"d", b""))
                except wire.WireError as exc:
                    self._drop(host, str(exc))
                    continue
                self._count_non_finite(host, collector, table)
                self._rows[(host, collector, seq)] = table.rows or []
        ready = []
        for host, entries in by_kind["samples"]:
            for entry_id, fields in entries:
                self._hosts[host].samples_from = entry_id.decode()
                item = self._entry(host, fields.get(b"d", b""))
                if item is not None:
                    ready.append(item)
        if len(self._rows) > 1000:  # tables whose sample never came: keep the newest
            for stale in list(self._rows)[:-100]:
                del self._rows[stale]
        return ready

    def _entry(self, host: str, raw: bytes) -> _Ready | None:
        state = self._hosts[host]

        def known(name: str) -> set[str] | None:
            found = state.series.get(name)
            return None if found is None else {s.name for s in found[0]}

        try:
            entry = wire.decode(raw, known, time.time())
        except wire.WireError as exc:
            self._drop(host, str(exc))
            return None
        self.received += 1
        self._count_non_finite(host, entry.collector, entry.reading)
        if entry.series is not None:
            interval = entry.interval or state.series.get(entry.collector, ([], 1.0))[1]
            state.series[entry.collector] = (entry.series, interval)
        topic = self._topic(host, entry.collector)
        if topic.last_seen is not None and entry.reading.ts <= topic.last_seen:
            return None  # published already (a catch-up re-read, or an agent's re-send)
        reading = entry.reading
        if entry.has_rows:
            rows = self._rows.pop((host, entry.collector, entry.seq), None)
            reading = replace(reading, rows=rows)
        prepared = self.runtime.hub.prepare(entry.collector, reading, entry.series, host=host)
        topic.last_seen = reading.ts  # so a duplicate later in this batch is skipped too
        return _Ready(host, entry.collector, entry.seq, prepared)

    def _drop(self, host: str, why: str) -> None:
        self.dropped += 1
        if self._may_warn("dropped", host):
            log.warning("queue: dropped an entry from host %r: %s", host[:64], why)

    def _count_non_finite(self, host: str, collector: str, reading: Reading) -> None:
        if not reading.non_finite:
            return
        self.non_finite += reading.non_finite
        if self._may_warn("non_finite", host):
            log.warning(
                "queue: host %r, collector %s: %r was NaN or infinite, published as no value",
                host[:64],
                collector,
                reading.non_finite_series,
            )

    def _may_warn(self, what: str, host: str) -> bool:
        """Once a minute per host and kind of problem: a bad writer must not fill the log."""
        now = time.monotonic()
        if now - self._warned.get((what, host), -WARN_EVERY) < WARN_EVERY:
            return False
        self._warned[(what, host)] = now
        return True


def _described(series: list[Series], interval: float | None) -> tuple[list[Series], float]:
    return series, interval or 1.0


def _default_filter(collector: Collector) -> dict[str, Any] | None:
    from dashboard.pipeline.payloads import normalized_filter

    try:
        return normalized_filter(collector.parse_filter({}))
    except (ValueError, TypeError):
        return None
