"""Socket.IO handlers: one class-based namespace per collector, thin by design.

Each handler parses the payload with a pure function, tells the hub, and returns the ack.
A bad request gets ``{"ok": false, "error": ...}`` and changes nothing; an unexpected
exception gets ``{"ok": false, "error": "internal"}``. Nothing is sent before ``subscribe``.
No collector code runs here: a filter is checked by the collector's runner, in a native
thread with a timeout, and a collector that is not running is named as such.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flask import request
from flask_socketio import Namespace

from collectors.messages import kind, quoted
from dashboard.fleet import summary
from dashboard.history.tiers import Query
from dashboard.pipeline.filters import CollectorFault
from dashboard.pipeline.hub import Topic
from dashboard.web.protocol import RequestError, as_object, parse_subscribe
from dashboard.web.wirejson import MALFORMED

if TYPE_CHECKING:
    from dashboard.runtime import Runtime
    from dashboard.web.auth import Auth

log = logging.getLogger(__name__)
_EVENTS = {"connect", "disconnect", "subscribe", "filter", "unsubscribe"}


def _sid() -> str:
    """The Socket.IO session of the event being handled (Flask-SocketIO puts it on the
    request; its type stubs do not say so)."""
    sid: str = vars(request)["sid"]
    return sid


class FleetNamespace(Namespace):
    """``/fleet``: a summary of every host, pushed each second after ``subscribe``."""

    def __init__(self, runtime: Runtime, auth: Auth) -> None:
        super().__init__("/fleet")
        self.runtime, self.auth = runtime, auth

    def trigger_event(self, event: str, sid: str, *args: Any) -> Any:
        if event in {"connect", "disconnect", "subscribe", "unsubscribe"}:
            return super().trigger_event(event, sid, *args)
        return {
            "ok": False,
            "error": f"unknown event {quoted(event)} (known: subscribe, unsubscribe)",
        }

    def on_connect(self, auth: Any = None) -> bool:
        return self.auth.allow_socket(auth)

    def on_disconnect(self, *_reason: Any) -> None:
        self.runtime.hub.follow_fleet(_sid(), False)

    def on_subscribe(self, *args: Any) -> dict[str, Any]:
        if len(args) > 1 or (args and args[0] not in (None, {})):
            return {"ok": False, "error": "subscribe on /fleet takes no options"}
        self.runtime.hub.follow_fleet(_sid(), True)
        hosts = summary.summaries(self.runtime)
        return {"ok": True, "every": summary.EVERY, "now": self.runtime.clock(), "hosts": hosts}

    def on_unsubscribe(self, *_args: Any) -> dict[str, Any]:
        self.runtime.hub.follow_fleet(_sid(), False)
        return {"ok": True}


class CollectorNamespace(Namespace):
    """``/<collector>``: subscribe, filter and unsubscribe, each answered with an ack."""

    def __init__(self, runtime: Runtime, auth: Auth, name: str) -> None:
        super().__init__("/" + name)
        self.runtime, self.auth, self.name = runtime, auth, name

    def trigger_event(self, event: str, sid: str, *args: Any) -> Any:
        """Route to ``on_<event>``; answer unknown and malformed events with an error ack."""
        if event in _EVENTS:
            return super().trigger_event(event, sid, *args)
        if event == MALFORMED:
            error = f"malformed message: {args[0] if args else 'unreadable'}"
        else:
            error = f"unknown event {quoted(event)} (known: filter, subscribe, unsubscribe)"
        log.warning("/%s refused from %s: %s", self.name, sid, error)
        return {"ok": False, "error": error}

    def on_connect(self, auth: Any = None) -> bool:
        return self.auth.allow_socket(auth)

    def on_disconnect(self, *_reason: Any) -> None:
        self.runtime.hub.drop(self.name, _sid())

    def on_subscribe(self, *args: Any) -> dict[str, Any]:
        return self._answer("subscribe", self._subscribe, args)

    def on_filter(self, *args: Any) -> dict[str, Any]:
        return self._answer("filter", self._filter, args)

    def on_unsubscribe(self, *args: Any) -> dict[str, Any]:
        return self._answer("unsubscribe", self._unsubscribe, args)

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
        self.runtime.hub.subscribe(self.name, _sid(), sub.series, sub.host)
        start = (
            sub.since
            if sub.since is not None
            else (self.runtime.clock() - sub.history if sub.history > 0 else None)
        )
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
        return {"ok": True}

    def _answer(
        self, event: str, handler: Callable[[Any], dict[str, Any]], args: tuple[Any, ...]
    ) -> dict[str, Any]:
        """The one error boundary every handler goes through."""
        try:
            if len(args) > 1:
                raise RequestError(f"expected one payload argument, got {len(args)}")
            return handler(args[0] if args else None)
        except RequestError as exc:
            log.warning("/%s %s from %s refused: %s", self.name, event, _sid(), exc)
            return {"ok": False, "error": str(exc)}
        except Exception:
            log.exception("/%s %s from %s: internal error", self.name, event, _sid())
            return {"ok": False, "error": "internal"}
