"""Which web process notifies: the one holding ``dashboard:alerts:notifier`` in Redis.

Every web process evaluates every host's alerts; only the holder of this lease hands notices
to its notifier (``LeasedOutbox``). The others' outboxes refuse them, so their engines offer
them again at every evaluation: when the holder goes, whoever takes the lease over delivers
what is still due by its own reckoning — at most one duplicate per alert firing at that
moment (the old holder may have told it already), nothing lost.

The lease is taken with ``SET NX EX`` (``TTL``) and renewed by its holder every
``RENEW_EVERY`` seconds; its value names the holder (machine, hostname, pid, a random id).
A holder stops notifying ``MARGIN`` seconds before its lease could lapse unrenewed, so two
never notify at once because one could not reach Redis. A lease that names this machine
and a process that no longer runs is taken over at once (two web processes on one machine,
one killed). A process that has not reached Redis for ``GRACE`` seconds notifies on its own
("solo") until it is back: with Redis away nobody could hold the lease, and a duplicate is
better than alerts nobody hears of.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dashboard.alerts.model import Notice, Outbox
from dashboard.fleet.claim import Identity

log = logging.getLogger(__name__)
KEY = "dashboard:alerts:notifier"
TTL = 10  # seconds a lease outlives its last renewal
RENEW_EVERY = 3.0
MARGIN = 2.0  # the holder stops this long before its lease could lapse in Redis
GRACE = 30.0  # without Redis this long, a process notifies on its own


@dataclass(frozen=True)
class Holder:
    """A web process: its machine, hostname and pid, and a random id for this run."""

    machine: str
    hostname: str
    pid: int
    token: str

    @classmethod
    def here(cls) -> Holder:
        me = Identity.here()
        return cls(me.machine, socket.gethostname(), os.getpid(), secrets.token_hex(8))

    def describe(self) -> str:
        return f"the web process on {self.hostname} (pid {self.pid})"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parse(cls, raw: Any) -> Holder | None:
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return cls(str(data["machine"]), str(data["hostname"]), int(data["pid"]),
                       str(data["token"]))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            return None


class Lease:
    """This process's view of the lease; ``step`` (network I/O, on the loop) takes or
    renews it, ``lost`` notes that Redis could not be reached."""

    def __init__(self, me: Holder, clock: Callable[[], float] = time.monotonic) -> None:
        self.me, self.clock = me, clock
        self.holder: Holder | None = None
        self._valid_until = 0.0
        self._contact = clock()  # the grace runs from the start too
        self._reachable = True
        self._mode = "waiting"

    def step(self, redis: Any) -> None:
        began = self.clock()
        held = self._take(redis)
        self.holder, self._contact, self._reachable = held, self.clock(), True
        self._valid_until = began + TTL - MARGIN if held == self.me else 0.0
        self.mode()

    def _take(self, redis: Any) -> Holder | None:
        import redis as redis_py

        mine = self.me.to_json()
        if redis.set(KEY, mine, nx=True, ex=TTL):
            return self.me
        with redis.pipeline() as pipe:
            try:
                pipe.watch(KEY)
                held = Holder.parse(pipe.get(KEY))
                if held is not None and held != self.me and not self._gone(held):
                    return held
                pipe.multi()  # ours to renew; or unreadable, or its process is gone
                pipe.set(KEY, mine, ex=TTL)
                pipe.execute()
                return self.me
            except redis_py.WatchError:  # it changed meanwhile: look again next time
                return None

    def _gone(self, held: Holder) -> bool:
        return held.machine == self.me.machine and not Path(f"/proc/{held.pid}").exists()

    def lost(self) -> None:
        """Redis could not be reached: the lease is renewed no more (it lapses by itself)."""
        self._reachable = False
        self.mode()

    def release(self, redis: Any) -> None:
        """On a clean stop: give the lease up, so another takes it at once."""
        with redis.pipeline() as pipe:
            pipe.watch(KEY)
            if Holder.parse(pipe.get(KEY)) == self.me:
                pipe.multi()
                pipe.delete(KEY)
                pipe.execute()
        self._valid_until = 0.0

    def notifies(self) -> bool:
        return self.mode() in ("holder", "solo")

    def mode(self) -> str:
        """``holder``, ``standby`` (another holds it), ``solo`` (no Redis for ``GRACE``: this
        process notifies anyway) or ``waiting``; each change is logged once."""
        now = self.clock()
        if self.holder == self.me and now < self._valid_until:
            mode = "holder"
        elif not self._reachable or now - self._contact > TTL:
            mode = "solo" if now - self._contact >= GRACE else "waiting"
        elif self.holder is not None and self.holder != self.me:
            mode = "standby"
        else:
            mode = "waiting"
        if mode != self._mode:
            self._say(self._mode, mode)
            self._mode = mode
        return mode

    def _say(self, before: str, now: str) -> None:
        if now == "holder":
            log.info("alerts: this web process notifies now (it holds the lease %s)", KEY)
            return
        if now == "solo":
            log.warning("alerts: Redis not reached for %.0f s: this web process notifies on "
                        "its own until it is back (others may too: a duplicate rather than "
                        "an alert nobody hears of)", GRACE)  # fmt: skip
            return
        if before in ("holder", "solo"):
            why = "another took the lease" if now == "standby" else "it cannot renew the lease"
            log.warning("alerts: this web process no longer notifies (%s %s)", why, KEY)
        if now == "standby" and self.holder is not None:
            log.info("alerts: %s notifies; this one stands by", self.holder.describe())

    def status(self) -> dict[str, Any]:
        """For ``/healthz`` (``alerts.notify.lease``): whether this process notifies, and
        who does."""
        mode = self.mode()
        holder = self.me if mode == "solo" else self.holder if mode != "waiting" else None
        return {
            "notifies": mode in ("holder", "solo"),
            "mode": mode,
            "holder": None if holder is None else holder.describe(),
            "this": self.me.describe(),
        }


class LeasedOutbox:
    """The notifier, passed notices only while this process holds the lease (or is solo);
    otherwise ``offer`` says "not now" and the engine offers the notice again later."""

    def __init__(self, inner: Outbox, lease: Lease, shared: Callable[[], dict[str, Any]]) -> None:
        self.inner, self.lease, self.shared = inner, lease, shared

    def offer(self, notice: Notice, now: float) -> bool:
        return self.lease.notifies() and self.inner.offer(notice, now)

    def tick(self, now: float) -> None:
        if self.lease.notifies():
            self.inner.tick(now)

    def status(self) -> dict[str, Any]:
        status = getattr(self.inner, "status", None)
        body: dict[str, Any] = status() if status is not None else {"state": "ok"}
        return {**body, "lease": self.lease.status(), "shared": self.shared()}

    def counters(self) -> dict[str, Any]:
        counters = getattr(self.inner, "counters", None)
        return counters() if counters is not None else {}
