"""Alerting across web processes, through Redis: one of them notifies (``lease``), and a
silence or an ack made through any of them reaches every other (``shared``).

One background task on the event loop does both: the lease every ``lease.RENEW_EVERY``
seconds, the sync every ``SYNC_EVERY``. Redis I/O runs on the loop (network only); what
touches the engine (its SQLite file) runs in a native worker with a timeout. With Redis away
alerts keep being evaluated here; it reconnects with the consumer's backoff.

Keys (the ``web`` ACL user may write these, and only these): ``dashboard:alerts:notifier``
(the lease), ``dashboard:alerts:silences`` ({id: silence JSON}), ``dashboard:alerts:acks``
({rule␟host␟series: {state, since, by}}) and ``dashboard:alerts:epoch``, a random value set
when missing: a Redis that restarted empty has none (or a new one), and every process then
copies its active silences into the hash again instead of reading the empty hash as "all
ended". The ids both sides held at the last sync (the merge's base) and the epoch they are
of are kept in this process's history file, so a restart does not bring back a silence
ended meanwhile elsewhere.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from dashboard.alerts.model import Outbox
from dashboard.fleet import shared
from dashboard.fleet.connection import connect, explain
from dashboard.fleet.lease import RENEW_EVERY, Holder, Lease, LeasedOutbox
from dashboard.settings import QueueSettings, redacted

log = logging.getLogger(__name__)
SILENCES_KEY = "dashboard:alerts:silences"
ACKS_KEY = "dashboard:alerts:acks"
EPOCH_KEY = "dashboard:alerts:epoch"
SYNC_EVERY = 2.0
MAX_BACKOFF = 5.0
ENGINE_TIMEOUT = 10.0
META_KEY = "alerts-sync:base"  # the history file's meta: {"epoch": ..., "ids": [...]}


class AlertFleet:
    """See the module docstring; ``runtime`` gives the engine, workers, history and clock."""

    def __init__(self, settings: QueueSettings, runtime: Any, sleep: Callable[[float], None]):
        self.settings, self.runtime, self.sleep = settings, runtime, sleep
        self.engine = runtime.alerts
        self.me = Holder.here()
        self.lease = Lease(self.me)
        self.state: str = "starting"
        self.error: str | None = None
        self.running = True
        self.last_sync: float | None = None
        self.synced = {"silences": 0, "acks": 0}
        self._redis: Any = None
        self._epoch: str | None = None
        self._base: frozenset[str] = frozenset()
        self._kept: tuple[str | None, frozenset[str]] | None = None  # what the file holds
        self._warned: set[str] = set()

    def outbox(self, inner: Outbox) -> LeasedOutbox:
        return LeasedOutbox(inner, self.lease, self.status)

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "error": self.error, "last_sync": self.last_sync,
                **self.synced}  # fmt: skip

    def stop(self) -> None:
        self.running = False

    def release(self) -> None:
        """On a clean stop: give the lease to another web process at once."""
        if self._redis is not None and self.lease.holder == self.me:
            try:
                self.lease.release(self._redis)
            except Exception as exc:  # stopping anyway: it lapses within TTL seconds
                log.warning("alerts: could not give the notifier lease up: %s",
                            explain(exc, self.settings))  # fmt: skip

    def run(self) -> None:
        """Until ``stop``: the lease and the sync, each on its own period; reconnect with a
        backoff when Redis cannot be reached."""
        self._restore()
        delay, lease_at, sync_at = 1.0, 0.0, 0.0
        while self.running:
            try:
                if self._redis is None:
                    self._connect()
                    delay, lease_at, sync_at = 1.0, 0.0, 0.0
                now = time.monotonic()
                if now >= lease_at:
                    self.lease.step(self._redis)
                    lease_at = now + RENEW_EVERY
                if now >= sync_at:
                    self._sync()
                    sync_at = now + SYNC_EVERY
                self.sleep(max(0.05, min(lease_at, sync_at) - time.monotonic()))
            except Exception as exc:  # redis-py raises many kinds; each means "not now"
                self._down(exc)
                self.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    def _connect(self) -> None:
        redis = connect(self.settings, decode=True)
        redis.ping()
        self._redis = redis
        if self.state != "ok":
            log.info("alerts: sharing the notifier lease, silences and acks through %s",
                     redacted(self.settings.url))  # fmt: skip
        self.state, self.error = "ok", None

    def _down(self, exc: BaseException) -> None:
        """Logged once per kind of problem; the consumer's ``queue:`` line says what is wrong
        with Redis, so this one does not repeat it."""
        if isinstance(exc, TimeoutError):  # a worker call: the engine, not Redis
            kind, problem = "busy", f"the alert engine did not answer within {ENGINE_TIMEOUT:.0f} s"
            said = f"alerts: silences and acks not shared this time: {problem}"
        else:
            found = explain(exc, self.settings)
            kind, problem = found.kind, str(found)
            said = (f"alerts: no notifier lease, shared silences or acks while Redis cannot be "
                    f"used ({kind}); alerts are still evaluated here")  # fmt: skip
            self._redis = None
            self.lease.lost()
        if kind != self.state:
            log.warning("%s", said)
        self.state, self.error = kind, problem

    # -- the sync ----------------------------------------------------------------------------

    def _sync(self) -> None:
        redis = self._redis
        epoch = redis.get(EPOCH_KEY)
        if epoch is None:  # a Redis that never had us, or restarted empty
            redis.set(EPOCH_KEY, secrets.token_hex(8), nx=True)
            epoch = redis.get(EPOCH_KEY)
        base = self._base if epoch == self._epoch else frozenset()
        pipe = redis.pipeline(transaction=False)
        pipe.hgetall(SILENCES_KEY)
        pipe.hgetall(ACKS_KEY)
        silences, acks = pipe.execute()
        merge = partial(self._merge, silences, acks, base)
        silence_plan, ack_plan = self.runtime.workers.call(merge, ENGINE_TIMEOUT)
        self._write(silence_plan, ack_plan)
        self._epoch, self._base = epoch, silence_plan.base
        self.last_sync = self.runtime.clock()
        self.synced = {"silences": len(silence_plan.base), "acks": len(acks)}

    def _merge(
        self, silences: dict[str, str], acks: dict[str, str], base: frozenset[str]
    ) -> tuple[shared.SilencePlan, shared.AckPlan]:
        """In a native worker: plan, then carry out what concerns this process's engine."""
        engine, now = self.engine, self.runtime.clock()
        self._keep()
        silence_plan = shared.plan_silences(engine.silences(), silences, base, now)
        ack_plan = shared.plan_acks(engine.alerts(), acks, self.me.describe(), now)
        for silence in silence_plan.adopt:
            if engine.adopt_silence(silence):
                log.info("alerts: silence %s (made in another web process) holds here too: %s",
                         silence.id, silence.as_dict())  # fmt: skip
        for sid in silence_plan.end:
            if engine.remove_silence(sid, elsewhere=True):  # its clients are told on the loop
                log.info("alerts: silence %s ended (in another web process)", sid)
        for key, since, by in ack_plan.apply:
            engine.adopt_ack(key, since, by)
        for sid in silence_plan.unreadable:
            if sid not in self._warned:
                self._warned.add(sid)
                log.warning("alerts: %s %r: not a silence this version can read; ignored",
                            SILENCES_KEY, sid[:64])  # fmt: skip
        return silence_plan, ack_plan

    def _write(self, silences: shared.SilencePlan, acks: shared.AckPlan) -> None:
        """Both hashes' changes in one transaction: all or nothing."""
        if not (silences.push or silences.drop or acks.push or acks.drop):
            return
        pipe = self._redis.pipeline(transaction=True)
        if silences.drop:
            pipe.hdel(SILENCES_KEY, *silences.drop)
        if silences.push:
            pipe.hset(SILENCES_KEY, mapping=silences.push)
        if acks.drop:
            pipe.hdel(ACKS_KEY, *acks.drop)
        if acks.push:
            pipe.hset(ACKS_KEY, mapping=acks.push)
        pipe.execute()

    # -- the base, kept in the history file --------------------------------------------------

    def _restore(self) -> None:
        def read() -> None:
            raw = self.runtime.history.recall(META_KEY).get(META_KEY)
            try:
                kept = json.loads(raw) if raw else {}
                epoch, ids = kept.get("epoch"), frozenset(str(i) for i in kept.get("ids", []))
            except (ValueError, TypeError, AttributeError):
                epoch, ids = None, frozenset()
            self._epoch, self._base = epoch if isinstance(epoch, str) else None, ids
            self._kept = (self._epoch, self._base)

        try:
            self.runtime.workers.call(read, ENGINE_TIMEOUT)
        except TimeoutError:
            log.warning("alerts: reading the synced silences from the history file timed out")

    def _keep(self) -> None:
        """In a native worker: the last sync's base into the history file, when it changed."""
        now = (self._epoch, self._base)
        if now != self._kept:
            body = json.dumps({"epoch": now[0], "ids": sorted(now[1])})
            self.runtime.history.remember(META_KEY, body)
            self._kept = now
