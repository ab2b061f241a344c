"""Alerts for clients: the ``/alerts`` namespace and ``/api/alerts``, ``/api/silences``.

Both read and change the engine through ``model.AlertsView`` only, and every call that may
touch its SQLite file runs in a native worker with a timeout, never on the event loop.
Subscribers hear of every change at once, through the hub: ``alert`` per transition,
``silences`` (the active ones) after a silence is made, ended or expires, ``acked`` after an
acknowledgement, whichever client, socket or HTTP, made it. The
socket and HTTP share the request parsing (``alertrequests``), so a bad silence gets the same
answer either way. With ``[alerts] enabled = false`` there is no engine: the namespace acks
every request with ``DISABLED`` and the routes answer 404 with it.

Cross-site requests: a browser's POST or DELETE must be JSON (a form or a ``text/plain``
``fetch`` cannot make one without a CORS preflight, which this server never grants), must
come from one of the server's origins when it names one (browsers always do on POST and
DELETE), and with a login session must carry that session's CSRF token in
``X-CSRF-Token`` (the one the page's forms carry). A client with ``Authorization: Bearer``
needs none of this: no other site can make a browser send that header.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, current_app, jsonify, request

from dashboard.web.alertrequests import (
    AckRequest,
    SilenceRequest,
    parse_ack,
    parse_silence,
    parse_silence_id,
)
from dashboard.web.namespaces import GuardedNamespace, _sid
from dashboard.web.origins import allowed_origins
from dashboard.web.protocol import RequestError, as_object
from dashboard.web.routes import auth as _auth
from dashboard.web.routes import runtime as _runtime

if TYPE_CHECKING:
    from dashboard.alerts.model import Alert, AlertsView, Key, Silence, Transition
    from dashboard.limits.guard import Limits
    from dashboard.runtime import Runtime
    from dashboard.web.auth import Auth

    Snapshot = tuple[list[Alert], list[Transition], list[Silence], list[dict[str, Any]],
                     list[float]]  # fmt: skip

log = logging.getLogger(__name__)
DISABLED = "alerts are disabled ([alerts] enabled = false)"
STORE_TIMEOUT = 5.0  # seconds a read or change of the alerts store may take
BUSY = "the alerts store did not answer within 5 s; try again"
RECENT = 100  # transitions a subscribe (and GET /api/alerts) returns, newest last
T = TypeVar("T")


def view_of(runtime: Runtime) -> AlertsView | None:
    """The engine as the web sees it; None when alerts are disabled."""
    view: AlertsView | None = runtime.alerts
    return view


def wire(runtime: Runtime) -> None:
    """Push every transition, and the silences when some expired, to ``/alerts`` clients
    (the engine calls these on the loop)."""
    view = view_of(runtime)
    if view is not None:
        hub = runtime.hub

        def push(transition: Transition, alert: Alert) -> None:
            # The instance's summary, unit and silence ride along, so a page's panel says
            # what the alert says now, not what it said when the page subscribed.
            extra = {"summary": alert.summary, "unit": alert.unit, "silenced": alert.silenced}
            hub.publish_alerts("alert", {**transition.as_dict(), **extra})

        view.on_transition(push)
        view.on_silences_changed(lambda silences: push_silences(runtime, silences))
        view.on_acked(lambda key, by: push_acked(runtime, key, by))
        view.on_rules_changed(lambda rules: hub.publish_alerts("rules", {"rules": rules}))


def push_silences(runtime: Runtime, silences: list[Silence]) -> None:
    now = runtime.clock()
    active = [s.as_dict() for s in silences if s.active(now)]
    runtime.hub.publish_alerts("silences", {"silences": active})


def push_acked(runtime: Runtime, key: Key, by: str) -> None:
    runtime.hub.publish_alerts("acked", {**key.as_dict(), "acked": True, "by": by})


class Store:
    """The engine's blocking calls, each in a native worker with ``STORE_TIMEOUT``."""

    def __init__(self, runtime: Runtime, view: AlertsView) -> None:
        self.runtime, self.view = runtime, view

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a worker; the engine's ``ValueError`` (a bad request) becomes a
        ``RequestError``, a timeout ``StoreBusy``."""
        try:
            return self.runtime.workers.call(fn, STORE_TIMEOUT)
        except TimeoutError:
            raise StoreBusy(BUSY) from None

    def snapshot(self) -> dict[str, Any]:
        """Instances, recent transitions, active silences, the rules' lines and the
        process's starts (one trip to a worker)."""
        view, now = self.view, self.runtime.clock()

        def read() -> Snapshot:
            return (view.alerts(), view.transitions(RECENT), view.silences(), view.rule_lines(),
                    view.restarts())  # fmt: skip

        alerts, transitions, silences, rules, restarts = self.call(read)
        return {
            "alerts": [a.as_dict() for a in alerts],
            "transitions": [t.as_dict() for t in transitions[-RECENT:]],
            "silences": [s.as_dict() for s in silences if s.active(now)],
            "rules": rules,
            "restarts": restarts[-RECENT:],
        }

    def active_silences(self) -> list[dict[str, Any]]:
        view, now = self.view, self.runtime.clock()
        return [s.as_dict() for s in self.call(view.silences) if s.active(now)]

    def silence(self, wanted: SilenceRequest, by: str) -> Silence:
        """Make a silence, then push the active ones to every subscriber."""
        view = self.view

        def add() -> tuple[Silence, list[Silence]]:
            try:
                made = view.add_silence(wanted.matchers, wanted.ends, wanted.comment, by)
            except ValueError as exc:
                raise RequestError(str(exc)) from None
            return made, view.silences()

        made, active = self.call(add)
        push_silences(self.runtime, active)
        return made

    def remove_silence(self, silence_id: str) -> bool:
        """End a silence now (False: there is no such active one), then push the rest."""
        view = self.view

        def remove() -> tuple[bool, list[Silence]]:
            return view.remove_silence(silence_id), view.silences()

        removed, active = self.call(remove)
        if removed:
            push_silences(self.runtime, active)
        return removed

    def ack(self, wanted: AckRequest, by: str) -> Alert:
        """Acknowledge a firing alert, then tell every subscriber (``acked``)."""
        view, key = self.view, wanted.key

        def ack() -> Alert:
            try:
                return view.ack(key, by, wanted.comment)
            except KeyError:
                raise RequestError(
                    f"no alert {key.rule!r} on host {key.host!r}, series {key.series!r}"
                ) from None
            except ValueError as exc:
                raise RequestError(str(exc)) from None

        alert = self.call(ack)
        push_acked(self.runtime, alert.key, by)
        return alert


class StoreBusy(Exception):
    """The alerts store took longer than ``STORE_TIMEOUT``."""


def _who(via: str) -> str:
    """Who made a silence or an ack, as stored beside it."""
    return f"{via} from {request.remote_addr or '?'}"


class AlertsNamespace(GuardedNamespace):
    """``/alerts``: subscribe (the state now, then ``alert`` pushes), silence, ack."""

    events = frozenset({"subscribe", "unsubscribe", "silence", "ack"})

    def __init__(self, runtime: Runtime, auth: Auth, limits: Limits) -> None:
        super().__init__("/alerts", runtime, auth, limits)

    def on_disconnect(self, *_reason: Any) -> None:
        self.runtime.hub.follow_alerts(_sid(), False)

    def on_silence(self, *args: Any) -> dict[str, Any]:
        return self._answer("silence", self._silence, args)

    def on_ack(self, *args: Any) -> dict[str, Any]:
        return self._answer("ack", self._ack, args)

    def _answer(
        self, event: str, handler: Callable[[Any], dict[str, Any]], args: tuple[Any, ...]
    ) -> dict[str, Any]:
        if view_of(self.runtime) is None:
            return {"ok": False, "error": DISABLED}  # not a client's mistake: no warning
        return super()._answer(event, lambda data: self._busy_is_refusal(handler, data), args)

    @staticmethod
    def _busy_is_refusal(handler: Callable[[Any], dict[str, Any]], data: Any) -> dict[str, Any]:
        try:
            return handler(data)
        except StoreBusy as exc:
            raise RequestError(str(exc)) from None

    def _store(self) -> Store:
        view = view_of(self.runtime)
        assert view is not None  # _answer checked
        return Store(self.runtime, view)

    def _subscribe(self, data: Any) -> dict[str, Any]:
        if data not in (None, {}):
            raise RequestError("subscribe on /alerts takes no options")
        self._subscribed(True)
        # Follow first, then read: a transition in between is pushed and also in the
        # answer (the page drops the copy), never lost.
        self.runtime.hub.follow_alerts(_sid(), True)
        try:
            state = self._store().snapshot()
        except StoreBusy:
            self.runtime.hub.follow_alerts(_sid(), False)
            self._subscribed(False)
            raise
        return {"ok": True, **state}

    def _unsubscribe(self, data: Any) -> dict[str, Any]:
        as_object(data, ())
        self.runtime.hub.follow_alerts(_sid(), False)
        self._subscribed(False)
        return {"ok": True}

    def _silence(self, data: Any) -> dict[str, Any]:
        wanted = parse_silence(data, self.runtime.clock())
        silence = self._store().silence(wanted, _who("socket"))
        log.info("silence %s made over /alerts: %s", silence.id, silence.as_dict())
        return {"ok": True, "id": silence.id}

    def _ack(self, data: Any) -> dict[str, Any]:
        wanted = parse_ack(data)
        alert = self._store().ack(wanted, _who("socket"))
        return {"ok": True, "alert": alert.as_dict()}


bp = Blueprint("alerts", __name__)


@bp.app_context_processor
def page_flags() -> dict[str, Any]:
    """What templates need to know: whether the page shows alerts at all."""
    return {"alerts_enabled": view_of(current_app.extensions["dashboard"]) is not None}


def _http_store() -> Store:
    view = view_of(_runtime())
    if view is None:
        raise _Refused(404, DISABLED)
    return Store(_runtime(), view)


class _Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


@bp.errorhandler(_Refused)
def _refused(exc: _Refused) -> Any:
    return jsonify(error=exc.error), exc.status


@bp.errorhandler(RequestError)
def _bad_request(exc: RequestError) -> Any:
    return jsonify(error=str(exc)), 400


@bp.errorhandler(StoreBusy)
def _busy(exc: StoreBusy) -> Any:
    return jsonify(error=str(exc)), 503


def _bearer() -> bool:
    """Whether the request carries the token itself (a script), not a browser's cookie."""
    header = request.headers.get("Authorization", "")
    return header.startswith("Bearer ") and _auth().matches(header[7:])


def _same_origin_check() -> None:
    """Refuse a browser's change from another site (see the module docstring)."""
    if _bearer():
        return
    if request.method == "POST" and not request.is_json:
        raise _Refused(415, "expected a JSON body (Content-Type: application/json)")
    origin = request.headers.get("Origin")
    if origin is not None:
        own = request.host_url.rstrip("/")
        settings = _runtime().settings.server
        if origin != own and origin not in allowed_origins(settings):
            raise _Refused(403, f"cross-site request refused: Origin {origin[:100]!r} is not "
                                "this dashboard's")  # fmt: skip
    guard = _auth()
    if guard.session_id() is not None and not guard.csrf_ok(request.headers.get("X-CSRF-Token")):
        raise _Refused(403, "missing or wrong X-CSRF-Token header: send the page's CSRF "
                            "token, or use Authorization: Bearer <token>")  # fmt: skip


@bp.get("/api/alerts")
def api_alerts() -> Any:
    """Every alert instance, the recent transitions and the process's starts (newest last)."""
    state = _http_store().snapshot()
    return jsonify(alerts=state["alerts"], transitions=state["transitions"],
                   restarts=state["restarts"])  # fmt: skip


@bp.get("/api/silences")
def api_silences() -> Any:
    return jsonify(silences=_http_store().active_silences())


@bp.post("/api/silences")
def api_add_silence() -> Any:
    store = _http_store()
    _same_origin_check()
    body = request.get_json(silent=True)
    if body is None:
        raise RequestError("expected a JSON object: {matchers, ends, comment}")
    wanted = parse_silence(body, _runtime().clock())
    silence = store.silence(wanted, _who("token" if _bearer() else "http"))
    log.info("silence %s made over HTTP: %s", silence.id, silence.as_dict())
    return jsonify(id=silence.id), 201


@bp.delete("/api/silences/<silence_id>")
def api_remove_silence(silence_id: str) -> Any:
    store = _http_store()
    _same_origin_check()
    wanted = parse_silence_id(silence_id)
    if not store.remove_silence(wanted):
        raise _Refused(404, f"no active silence {wanted[:64]!r}")
    log.info("silence %s removed over HTTP (%s)", wanted, _who("token" if _bearer() else "http"))
    return jsonify(id=wanted)
