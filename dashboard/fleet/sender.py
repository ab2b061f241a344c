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

from redis.exceptions import WatchError

from collectors.base import Series
from dashboard.fleet import claim, wire
from dashboard.fleet.connection import QueueError, connect, explain
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


class Sender:
    """Appends the agent's samples to ``dashboard:<host>:samples`` (see the module docstring)."""

    def __init__(
        self,
        host: str,
        settings: QueueSettings,
        history: History,
        describe: Describe,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host, self.settings, self.history = host, settings, history
        self.describe, self.clock = describe, clock
        self.me = claim.Identity.here()
        self.state = "starting"  # ok | down | auth | refused | claimed
        self.error: str | None = None
        self.fatal: str | None = None  # a claim refused: the agent stops (exit 78)
        self.sent = 0
        self._collectors: dict[str, _Collector] = {}
        self._redis: Any = None
        self._last_id = (0, 0)
        self._renewed = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # -- from the collectors' threads --------------------------------------------------------

    def note(self, name: str, reading: Reading) -> None:
        """A new sample is in history; its rows (live only) ride along with it."""
        if reading.rows is not None:
            with self._lock:
                state = self._collectors.get(name)
                if state is not None:
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
        self._last_id = max(self._last_id, _top(redis, self.host))
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
        self._redis = redis
        self._renewed = time.monotonic()
        self._up()

    def _renew(self) -> None:
        if time.monotonic() - self._renewed >= claim.RENEW_EVERY:
            claim.renew(self._redis, self.host, self.me)
            self._renewed = time.monotonic()

    def _send_all(self) -> None:
        for name in list(self._collectors):
            while self._send_batch(name):
                pass

    def _send_batch(self, name: str) -> bool:
        """Send up to ``BATCH`` samples of ``name`` after its cursor; whether there may be more."""
        state, now = self._collectors[name], self.clock()
        described = self.describe(name)
        if described is None:
            return False
        series, interval = described
        end = min(now, state.cursor + REPLAY_SPAN) + 1e-3
        query = Query(name, state.cursor, end, max_points=EXPORT_MAX_POINTS, prefer_raw=True)
        answer = self.history.answer(query)
        ts = answer.ts[:BATCH]
        if not ts:
            if state.cursor + REPLAY_SPAN < now:  # an empty stretch of a long gap: skip it
                state.cursor += REPLAY_SPAN
                return True
            return False
        pipe = self._redis.pipeline(transaction=True)
        # Entry ids must grow: WATCH the streams and start past their newest id, so a writer
        # that is not us (there should be none) fails this transaction instead of half of it.
        streams = (wire.key(self.host, "samples"), wire.key(self.host, "rows"))
        pipe.watch(*streams)
        self._last_id = max(self._last_id, _top(pipe, self.host))
        pipe.multi()
        announce = series if state.announced != series else None
        if announce is not None:
            pipe.hset(wire.key(self.host, "series"), name, wire.encode_series(series, interval))
        minid = f"{int((now - self.settings.keep) * 1000)}-0"
        for i, when in enumerate(ts):
            values = {n: _value(c[i]) for n, c in answer.columns.items()}
            rows = state.rows[1] if state.rows is not None and state.rows[0] == when else None
            entry_id = self._next_id(when)
            first = announce if i == 0 else None
            body = wire.encode(name, state.seq + i + 1, Reading(when, values, rows), first,
                               interval if first is not None else None)  # fmt: skip
            if rows is not None:
                rows_body = {"d": wire.encode_rows(rows)}
                pipe.xadd(wire.key(self.host, "rows"), rows_body, id=entry_id,
                          maxlen=wire.ROWS_KEPT, approximate=True)  # fmt: skip
            pipe.xadd(wire.key(self.host, "samples"), {"d": body}, id=entry_id, minid=minid,
                      approximate=True)  # fmt: skip
        pipe.hset(wire.key(self.host, "sent"), name, repr(ts[-1]))
        try:
            pipe.execute()
        except WatchError:
            return True  # someone wrote to our streams meanwhile: build the batch again
        state.cursor, state.seq, state.announced = ts[-1], state.seq + len(ts), series
        self.sent += len(ts)
        return len(answer.ts) > BATCH or state.cursor + REPLAY_SPAN < now

    def _next_id(self, ts: float) -> str:
        ms = int(ts * 1000)
        last_ms, last_n = self._last_id
        self._last_id = (ms, 0) if ms > last_ms else (last_ms, last_n + 1)
        return f"{self._last_id[0]}-{self._last_id[1]}"

    def _up(self) -> None:
        if self.state != "ok":
            log.info("queue: sending to %s as host %r", self._where(), self.host)
        self.state, self.error = "ok", None

    def _down(self, exc: BaseException) -> None:
        problem = exc if isinstance(exc, QueueError) else explain(exc, self.settings)
        if str(problem) != self.error:
            log.warning("queue: %s", problem)
        self.state, self.error, self._redis = problem.kind, str(problem), None

    def _where(self) -> str:
        return redacted(self.settings.url)


def _top(redis: Any, host: str) -> tuple[int, int]:
    """The newest entry id either stream has had (ids only grow, across trims too)."""
    newest = (0, 0)
    for what in ("samples", "rows"):
        try:
            info = redis.xinfo_stream(wire.key(host, what))
        except Exception:  # no such stream yet
            continue
        ms, _, n = info["last-generated-id"].decode().partition("-")
        newest = max(newest, (int(ms), int(n)))
    return newest


def _value(value: float) -> float | None:
    return None if math.isnan(value) else value
