"""The agent's side of the stream: every sample, in order, and after an outage the missed ones.

The sender does not keep a queue of its own. It follows the agent's history: for each
collector it remembers the newest timestamp Redis has (the ``sent`` hash, written in the
same transaction as the entries), and sends whatever history holds after it — a few rows
when all is well, the whole gap from the history file after Redis was away (up to
``[queue] keep``). So an outage, or an agent restart, costs nothing that history kept.

It runs in a thread of its own (real I/O, never on an event loop), woken by each new sample.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collectors.base import Series
from dashboard.fleet import claim, wire
from dashboard.fleet.connection import Link, connect
from dashboard.history.tiers import EXPORT_MAX_POINTS, History, Query
from dashboard.pipeline.validate import Reading
from dashboard.settings import QueueSettings, redacted

log = logging.getLogger(__name__)
BATCH = 200  # entries per transaction
MAX_BACKOFF = 5.0  # a Redis that comes back is found within seconds
REPLAY_SPAN = 600.0  # seconds of history read at a time while catching up

Describe = Callable[[str], "tuple[list[Series], float] | None"]


@dataclass
class _Collector:
    """What the sender knows of one collector."""

    cursor: float  # newest ts Redis has
    seq: int = 0
    announced: list[Series] | None = None  # the series the stream last heard of
    rows: tuple[float, list[dict[str, Any]]] | None = None  # the newest table, live only


class Sender(Link):
    """Appends the agent's samples to ``dashboard:<host>:samples`` (see the module docstring)."""

    def __init__(
        self,
        host: str,
        settings: QueueSettings,
        history: History,
        describe: Describe,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()  # state: also "claimed", a refused claim
        self.host, self.settings, self.history = host, settings, history
        self.describe, self.clock = describe, clock
        self.me = claim.Identity.here()
        self.fatal: str | None = None  # a claim refused: the agent stops (exit 78)
        self.sent = 0
        self._collectors: dict[str, _Collector] = {}
        self._pending_series: dict[str, list[Series]] = {}  # announced in the open batch
        self._fresh: set[str] = set()  # collectors with samples newer than their cursor
        self._renewed = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # -- from the collectors' threads --------------------------------------------------------

    def note(self, name: str, reading: Reading) -> None:
        """A new sample is in history; its rows (live only) ride along with it."""
        with self._lock:
            self._fresh.add(name)
            state = self._collectors.get(name)
            if state is not None and reading.rows is not None:
                state.rows = (round(reading.ts, 3), reading.rows)
        self._wake.set()

    # -- the sender's own thread --------------------------------------------------------------

    def run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                if self._redis is None:
                    self._connect()
                    delay = 1.0
                self._renew()
                self._send_all()
            except claim.ClaimRefused as exc:  # the agent reports it and stops (exit 78)
                self.state, self.error, self.fatal = "claimed", str(exc), str(exc)
                return
            except Exception as exc:  # redis-py raises many kinds; each means "not now"
                self._down(exc)
                self._stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            self._wake.wait(1.0)
            self._wake.clear()

    def stop(self) -> None:
        """Stop, letting go of the host's claim if Redis can be reached."""
        self._stop.set()
        self._wake.set()
        if self._redis is not None:
            # Stopping: an unreachable Redis lets the lease expire by itself.
            with contextlib.suppress(Exception):
                claim.release(self._redis, self.host, self.me)

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "error": self.error, "sent": self.sent}

    def _connect(self) -> None:
        redis = connect(self.settings)
        redis.ping()
        claim.take(redis, self.host, self.me)
        redis.sadd(wire.HOSTS_KEY, self.host)
        cursors = redis.hgetall(wire.key(self.host, "sent"))
        floor = self.clock() - self.settings.keep
        with self._lock:
            for name in self.history.memory.collectors():
                known = cursors.get(name.encode())
                state = self._collectors.get(name)
                if known is not None:
                    cursor = float(known)
                elif state is not None:
                    cursor = state.cursor  # Redis lost it (a restart): resend from our own
                else:
                    cursor = floor
                if state is None:
                    self._collectors[name] = _Collector(max(cursor, floor))
                else:
                    state.cursor, state.announced = max(cursor, floor), None
            self._fresh.update(self._collectors)  # what Redis lacks goes out first
        self._redis = redis
        self._renewed = time.monotonic()
        self._up(f"sending to {self._where()} as host {self.host!r}")

    def _renew(self) -> None:
        if time.monotonic() - self._renewed >= claim.RENEW_EVERY:
            claim.renew(self._redis, self.host, self.me)
            self._renewed = time.monotonic()

    def _send_all(self) -> None:
        """Everything history holds after each collector's cursor, in one transaction per
        round (one round trip however many collectors have news), until caught up."""
        with self._lock:
            names, self._fresh = [n for n in self._collectors if n in self._fresh], set()
        while names:
            pipe = self._redis.pipeline(transaction=True)
            done = [s for s in (self._queue(pipe, name) for name in names) if s]
            if any(count for _name, count, _last, _more in done):
                pipe.execute()
            more = False
            for name, count, last, has_more in done:
                state = self._collectors[name]
                state.cursor, state.seq = last, state.seq + count
                state.announced = self._pending_series.pop(name, state.announced)
                self.sent += count
                more = more or has_more
            if not more:
                return
            names = [name for name, _count, _last, has_more in done if has_more]

    def _queue(self, pipe: Any, name: str) -> tuple[str, int, float, bool] | None:
        """Queue up to ``BATCH`` samples of ``name`` on ``pipe``: (name, how many, the new
        cursor, whether more may follow); None when there is nothing to send."""
        state, now = self._collectors[name], self.clock()
        described = self.describe(name)
        if described is None:
            return None
        series, interval = described
        end = min(now, state.cursor + REPLAY_SPAN) + 1e-3
        query = Query(name, state.cursor, end, max_points=EXPORT_MAX_POINTS, prefer_raw=True)
        answer = self.history.answer(query)
        ts = answer.ts[:BATCH]
        if not ts:
            if state.cursor + REPLAY_SPAN < now:  # an empty stretch of a long gap: skip it
                return name, 0, state.cursor + REPLAY_SPAN, True
            return None
        announce = series if state.announced != series else None
        if announce is not None:
            pipe.hset(wire.key(self.host, "series"), name, wire.encode_series(series, interval))
            self._pending_series[name] = series
        # Entry ids are Redis's own (they only grow); trimming goes by Redis's clock too.
        minid = f"{int((now - self.settings.keep) * 1000)}-0"
        for i, when in enumerate(ts):
            seq = state.seq + i + 1
            values = {n: _value(c[i]) for n, c in answer.columns.items()}
            rows = state.rows[1] if state.rows is not None and state.rows[0] == when else None
            first = announce if i == 0 else None
            body = wire.encode(name, seq, Reading(when, values, rows), first,
                               interval if first is not None else None)  # fmt: skip
            if rows is not None:
                pipe.xadd(wire.key(self.host, "rows"), {"d": wire.encode_rows(name, seq, rows)},
                          maxlen=wire.ROWS_KEPT, approximate=True)  # fmt: skip
            pipe.xadd(wire.key(self.host, "samples"), {"d": body}, minid=minid,
                      approximate=True)  # fmt: skip
        pipe.hset(wire.key(self.host, "sent"), name, repr(ts[-1]))
        return name, len(ts), ts[-1], len(answer.ts) > BATCH or ts[-1] + REPLAY_SPAN < now

    def _where(self) -> str:
        return redacted(self.settings.url)


def _value(value: float) -> float | None:
    return None if math.isnan(value) else value
