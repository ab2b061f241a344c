"""Socket.IO handlers: one class-based namespace per collector, thin by design.

Each handler parses the payload with a pure function, tells the hub, and returns the ack.
A bad request gets ``{"ok": false, "error": ...}`` and changes nothing; an unexpected
exception gets ``{"ok": false, "error": "internal"}``. Nothing is sent before ``subscribe``.
No collector code runs here: a filter is checked by the collector's runner, in a native
thread with a timeout, and a collector that is not running is named as such.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flask import request
from flask_socketio import Namespace

from collectors.messages import kind, quoted
from dashboard.fleet import summary
from dashboard.history.tiers import RAW_SPAN, Query
from dashboard.pipeline.filters import CollectorFault
from dashboard.pipeline.hub import Topic
from dashboard.web.processes_api import parse_snapshot
from dashboard.web.protocol import (
    RangeRequest,
    RequestError,
    as_object,
    parse_range,
    parse_subscribe,
)
from dashboard.web.wirejson import MALFORMED

if TYPE_CHECKING:
    from dashboard.limits.guard import Limits
    from dashboard.limits.requests import Refusal
    from dashboard.runtime import Runtime
    from dashboard.web.auth import Auth

log = logging.getLogger(__name__)


def _sid() -> str:
    """The Socket.IO session of the event being handled (Flask-SocketIO puts it on the
    request; its type stubs do not say so)."""
    sid: str = vars(request)["sid"]
    return sid


class GuardedNamespace(Namespace):
    """What every namespace shares: the login check at connect, the per-client request
    budget, and the one error boundary every handler goes through."""

    events: frozenset[str] = frozenset()
    namespace: str  # set by Namespace (its type stubs do not declare it)
    # Each namespace's own handlers, behind the shared on_subscribe / on_unsubscribe.
    _subscribe: Callable[[Any], dict[str, Any]]
    _unsubscribe: Callable[[Any], dict[str, Any]]

    def __init__(self, namespace: str, runtime: Runtime, auth: Auth, limits: Limits) -> None:
        super().__init__(namespace)
        self.runtime, self.auth, self.limits = runtime, auth, limits

    def trigger_event(self, event: str, sid: str, *args: Any) -> Any:
        if event in {"connect", "disconnect"}:
            return super().trigger_event(event, sid, *args)
        refusal = self.limits.check(sid, self.namespace, event, time.monotonic)
        if refusal is not None:
            return refusal.ack()
        if event in self.events:  # on_<event>, in the request context Flask-SocketIO makes
            return super().trigger_event(event, sid, *args)
        if event == MALFORMED:
            error = f"malformed message: {args[0] if args else 'unreadable'}"
        else:
            known = ", ".join(sorted(self.events))
            error = f"unknown event {quoted(event)} (known: {known})"
        log.warning("%s refused from %s: %s", self.namespace, sid, error)
        return {"ok": False, "error": error}

    def on_connect(self, auth: Any = None) -> bool:
        return self.auth.allow_socket(auth)

    def on_subscribe(self, *args: Any) -> dict[str, Any]:
        return self._answer("subscribe", self._subscribe, args)

    def on_unsubscribe(self, *args: Any) -> dict[str, Any]:
        return self._answer("unsubscribe", self._unsubscribe, args)

    def _subscribed(self, on: bool) -> None:
        """Count this namespace against the client's subscriptions (refused over the cap)."""
        sid = _sid()
        error = self.limits.budgets.subscribed(
            self.limits.eio_sid(sid, self.namespace), self.namespace, on
        )
        if error is not None:
            raise RequestError(error)

    def _answer(
        self, event: str, handler: Callable[[Any], dict[str, Any]], args: tuple[Any, ...]
    ) -> dict[str, Any]:
        try:
            if len(args) > 1:
                raise RequestError(f"expected one payload argument, got {len(args)}")
            return handler(args[0] if args else None)
        except RequestError as exc:
            log.warning("%s %s from %s refused: %s", self.namespace, event, _sid(), exc)
            return {"ok": False, "error": str(exc)}
        except RateLimited as exc:
            return exc.refusal.ack()
        except Exception:
            log.exception("%s %s from %s: internal error", self.namespace, event, _sid())
            return {"ok": False, "error": "internal"}


class RateLimited(Exception):
    """A request over one of the client's budgets (history backfill)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.error)
        self.refusal = refusal


class FleetNamespace(GuardedNamespace):
    """``/fleet``: a summary of every host, pushed each second after ``subscribe``."""

    events = frozenset({"subscribe", "unsubscribe"})

    def __init__(self, runtime: Runtime, auth: Auth, limits: Limits) -> None:
        super().__init__("/fleet", runtime, auth, limits)

    def on_disconnect(self, *_reason: Any) -> None:
        self.runtime.hub.follow_fleet(_sid(), False)

    def _subscribe(self, data: Any) -> dict[str, Any]:
        if data not in (None, {}):
            raise RequestError("subscribe on /fleet takes no options")
        self._subscribed(True)
        self.runtime.hub.follow_fleet(_sid(), True)
        hosts = summary.summaries(self.runtime)
        return {"ok": True, "every": summary.EVERY, "now": self.runtime.clock(), "hosts": hosts}

    def _unsubscribe(self, data: Any) -> dict[str, Any]:
        as_object(data, ())
        self.runtime.hub.follow_fleet(_sid(), False)
        self._subscribed(False)
        return {"ok": True}


class CollectorNamespace(GuardedNamespace):
    """``/<collector>``: subscribe, filter, unsubscribe and range, each answered with an ack."""

    events = frozenset({"subscribe", "filter", "unsubscribe", "range"})

    def __init__(self, runtime: Runtime, auth: Auth, limits: Limits, name: str) -> None:
        super().__init__("/" + name, runtime, auth, limits)
        self.name = name

    def on_disconnect(self, *_reason: Any) -> None:
        self.runtime.hub.drop(self.name, _sid())

    def on_filter(self, *args: Any) -> dict[str, Any]:
        return self._answer("filter", self._filter, args)

    def on_range(self, *args: Any) -> dict[str, Any]:
        return self._answer("range", self._range, args)

    def _topics(self) -> dict[str, Topic]:
        """Every host that serves this collector now; none is a clear refusal (a collector
        stopped by a reload, say)."""
        topics = {t.host: t for t in self.runtime.hub.topics(self.name)}
        own = self.runtime.hub.host
        if self.runtime.collects and own in topics and self.name not in self.runtime.runners:
            del topics[own]  # this machine's, stopped by a reload (an agent's is served)
        if not topics:
            why = self.runtime.why_not_running(self.name)
            raise RequestError(f"collector {self.name!r} is not running ({why})")
        return topics

    def _subscribe(self, data: Any) -> dict[str, Any]:
        topics = self._topics()
        sub = parse_subscribe(
            data,
            {host: {s.name for s in t.series} for host, t in topics.items()},
            self.runtime.hub.host,
            self.runtime.history.window,
            clock=self.runtime.clock,
        )
        topic = topics[sub.host]
        start = (
            sub.since
            if sub.since is not None
            else (self.runtime.clock() - sub.history if sub.history > 0 else None)
        )
        if start is not None:
            self._charge_history(topic, sub.series, start)
        self._subscribed(True)
        self.runtime.hub.subscribe(self.name, _sid(), sub.series, sub.host)
        backfill: dict[str, Any] = {"ts": [], "values": {}}
        if start is not None:
            query = Query(topic.key, start, series=sub.series)
            try:
                answer = self.runtime.query_history(query)
            except TimeoutError:
                # The file is too slow right now: the newest hour from memory beats no answer.
                log.warning(
                    "/%s subscribe: history query timed out; answered from memory", self.name
                )
                answer = self.runtime.history.answer(replace(query, memory_only=True))
            backfill = answer.as_json(stats=False)
        return {
            "ok": True,
            "collector": self.name,
            "host": topic.host,
            "interval": topic.interval,
            "seq": topic.seq,
            "series": [
                s.as_dict() for s in topic.series if sub.series is None or s.name in sub.series
            ],
            "history": backfill,
        }

    def _range(self, data: Any) -> dict[str, Any]:
        """History for a span of the client's choosing (a zoom, a comparison): raw samples
        when they are kept and fit the points, else rollups with their min and max."""
        topics = self._topics()
        history = self.runtime.history
        req = parse_range(
            data,
            {host: {s.name for s in t.series} for host, t in topics.items()},
            self.runtime.hub.host,
            history.window,
        )
        topic = topics[req.host]
        query = self._range_query(topic, req)
        step = topic.interval if not query.rollup else history.settings.rollup
        self._charge(topic, req.series, req.end - req.start, step)
        try:
            answer = self.runtime.query_history(query)
        except TimeoutError:
            raise RequestError(
                "history: the file took too long to answer; try again or ask a shorter range"
            ) from None
        return {
            "ok": True,
            "collector": self.name,
            "host": topic.host,
            "start": req.start,
            "end": req.end,
            "interval": topic.interval,
            "history": answer.as_json(stats=True),
        }

    def _range_query(self, topic: Topic, req: RangeRequest) -> Query:
        """Raw when the range starts within raw retention and its samples fit the points
        (a 30 s spike in the 24 h view shows every sample); else the rollup tier."""
        retention = self.runtime.history.settings.retention
        fits = (req.end - req.start) / topic.interval <= req.points
        raw = req.start >= self.runtime.clock() - retention and fits
        return Query(topic.key, req.start, req.end, series=req.series, max_points=req.points,
                     prefer_raw=raw, rollup=not raw, stats=not raw)  # fmt: skip

    def _charge_history(self, topic: Topic, series: tuple[str, ...] | None, start: float) -> None:
        """Backfill costs the points it reads: series x samples over the span."""
        span = max(0.0, self.runtime.clock() - start)
        # What the tier that answers reads: raw samples up to RAW_SPAN, rollups beyond.
        step = topic.interval if span <= RAW_SPAN else self.runtime.history.settings.rollup
        self._charge(topic, series, span, step)

    def _charge(
        self, topic: Topic, series: tuple[str, ...] | None, span: float, step: float
    ) -> None:
        """A history read's cost against the client's budget: series x samples of ``step``."""
        count = len(series) if series is not None else len(topic.series)
        points = count * span / max(step, 0.001)
        eio_sid = self.limits.eio_sid(_sid(), self.namespace)
        refusal = self.limits.budgets.charge_history(eio_sid, points, time.monotonic())
        if refusal is not None:
            raise RateLimited(refusal)

    def _filter(self, data: Any) -> dict[str, Any]:
        self._topics()
        if not isinstance(data, Mapping):
            raise RequestError(f"expected an object, got {kind(data, 'json')}")
        try:
            normalized = self.runtime.check_filter(self.name, data)
        except (ValueError, CollectorFault) as exc:
            raise RequestError(str(exc)) from None
        self.runtime.hub.set_filter(self.name, _sid(), normalized)
        return {"ok": True, "filter": normalized}

    def _unsubscribe(self, data: Any) -> dict[str, Any]:
        as_object(data, ())
        self.runtime.hub.unsubscribe(self.name, _sid())
        self._subscribed(False)
        return {"ok": True}


class ProcessesNamespace(CollectorNamespace):
    """``/processes``: a collector namespace that also answers ``snapshot``, the stored
    process table nearest a moment (what was running then)."""

    events = CollectorNamespace.events | {"snapshot"}

    def on_snapshot(self, *args: Any) -> dict[str, Any]:
        return self._answer("snapshot", self._snapshot, args)

    def _snapshot(self, data: Any) -> dict[str, Any]:
        topics = self._topics()
        req = parse_snapshot(data, topics, self.runtime.hub.host)
        try:
            found = self.runtime.process_snapshot(req.host, req.ts, req.filter)
        except TimeoutError:
            raise RequestError("snapshots: the file took too long to answer; try again") from None
        return {"ok": True, "host": req.host, "snapshot": found}
