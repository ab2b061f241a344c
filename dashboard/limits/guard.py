"""The limits, wired to one Socket.IO server: what the namespaces and the serve loop use."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from dashboard.limits import backlog as backlog_module
from dashboard.limits.backlog import Backlog, CoalescingManager
from dashboard.limits.connections import Connections, HandshakeGate, shut
from dashboard.limits.requests import Budgets, Refusal, RequestLimits
from dashboard.settings import ServerSettings

log = logging.getLogger(__name__)
SHUT_GRACE = 1.0  # seconds a closing websocket gets to send its CLOSE frame itself


class Limits:
    """``[server]``'s per-client limits for one Socket.IO server."""

    def __init__(self, server: ServerSettings) -> None:
        self.budgets = Budgets(
            RequestLimits(
                server.requests_per_second,
                server.history_points_per_minute,
                server.max_subscriptions,
            )
        )
        self.connections = Connections(server.max_connections, server.max_connections_per_address)
        self.backlog = Backlog(
            server.max_backlog_bytes, server.slow_client_timeout, self.connections.socket
        )
        self.sio: Any = None

    def manager(self) -> CoalescingManager:
        return CoalescingManager(self.backlog)

    def gate(self, wsgi_app: Callable[..., Any], path: str) -> HandshakeGate:
        return HandshakeGate(wsgi_app, self.connections, path)

    def attach(self, sio: Any) -> None:
        """Count sessions as engine.io opens and closes them (python-socketio's own
        handlers still run), and shut a closed websocket's TCP connection."""
        self.sio = sio
        handlers = sio.eio.handlers
        on_connect, on_disconnect = handlers["connect"], handlers["disconnect"]

        def connect(eio_sid: str, environ: dict[str, Any]) -> Any:
            self.connections.opened(eio_sid, environ)
            return on_connect(eio_sid, environ)

        def disconnect(eio_sid: str, *reason: Any) -> Any:
            try:
                return on_disconnect(eio_sid, *reason)
            finally:
                self.budgets.forget(eio_sid)
                self.backlog.forget(eio_sid)
                sock = self.connections.closed(eio_sid)
                if sock is not None:
                    sio.start_background_task(self._shut_later, sock)

        handlers["connect"], handlers["disconnect"] = connect, disconnect
        trigger = sio.eio._trigger_event

        def guarded(event: str, *args: Any, **kwargs: Any) -> Any:
            # engine.io makes a task per message before python-socketio sees it: a flood
            # is cut here, on the reading side, so its backlog of frames costs nothing.
            if event == "message":
                refusal = self.budgets.flooding(args[0], time.monotonic())
                if refusal is not None:
                    if refusal.disconnect:
                        self.drop(args[0], "kept sending messages far past its request budget")
                    return None
            return trigger(event, *args, **kwargs)

        sio.eio._trigger_event = guarded

    def start(self, sleep: Callable[[float], None], running: Callable[[], bool]) -> None:
        backlog_module.install(self.sio, self.backlog, sleep, running)

    def check(
        self, sid: str, namespace: str, event: str, clock: Callable[[], float]
    ) -> Refusal | None:
        """One request on ``namespace``; a refusal (and a drop, for a flood) or None."""
        eio_sid = self.eio_sid(sid, namespace)
        refusal = self.budgets.admit(eio_sid, clock())
        if refusal is not None and refusal.disconnect:
            self.drop(eio_sid, f"kept sending requests after {event!r} was rate-limited")
        return refusal

    def eio_sid(self, sid: str, namespace: str) -> str:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, namespace)
        return str(eio_sid or sid)

    def drop(self, eio_sid: str, why: str) -> None:
        environ = self.sio.environ.get(eio_sid, {})
        log.warning(
            "client %s (%s) disconnected: %s", eio_sid, environ.get("REMOTE_ADDR", "?"), why
        )
        sock = self.connections.socket(eio_sid)
        with contextlib.suppress(KeyError):
            # Not eio.disconnect(): that waits for the client's queue to drain.
            self.sio.eio._get_socket(eio_sid).close(wait=False, abort=True)
        shut(sock)  # stop reading what it has already sent: each frame would cost a task

    def _shut_later(self, sock: Any) -> None:
        self.sio.sleep(SHUT_GRACE)
        shut(sock)
