"""Connection caps, refused at the handshake, and each session's raw socket.

Every engine.io session is counted by the address it came from. A handshake (a Socket.IO
request without ``sid``) beyond ``max_connections`` overall or ``max_connections_per_address``
from one address gets 503 with a one-line reason before engine.io allocates anything.
The websocket's raw socket is kept so the backlog can read how much the kernel still holds
for that client (``backlog.py``), and so a closed session's socket is really shut: a client
that stops reading would otherwise pin the server's writer on a full send buffer forever.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger(__name__)
SOCKET_KEY = "dashboard.socket"


@dataclass
class _Session:
    address: str
    sock: socket.socket | None


class Connections:
    """The caps, and the sessions they count."""

    def __init__(self, max_total: int, max_per_address: int) -> None:
        self.max_total, self.max_per_address = max_total, max_per_address
        self._sessions: dict[str, _Session] = {}
        self._per_address: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.refused = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def refusal(self, address: str) -> str | None:
        """Why a new session from ``address`` is refused now, or None."""
        if len(self._sessions) >= self.max_total:
            return f"server full: {self.max_total} connections ([server] max_connections)"
        if self.max_per_address and self._per_address[address] >= self.max_per_address:
            return (
                f"too many connections from {address}: at most {self.max_per_address} "
                "([server] max_connections_per_address)"
            )
        return None

    def opened(self, sid: str, environ: dict[str, Any]) -> None:
        address = environ.get("REMOTE_ADDR", "?")
        with self._lock:
            self._sessions[sid] = _Session(address, environ.get(SOCKET_KEY))
            self._per_address[address] += 1

    def upgraded(self, sid: str, sock: socket.socket | None) -> None:
        """A polling session moved to a websocket: from now on that is its socket."""
        session = self._sessions.get(sid)
        if session is not None and sock is not None:
            session.sock = sock

    def closed(self, sid: str) -> socket.socket | None:
        with self._lock:
            session = self._sessions.pop(sid, None)
            if session is None:
                return None
            self._per_address[session.address] -= 1
            if self._per_address[session.address] <= 0:
                del self._per_address[session.address]
            return session.sock

    def socket(self, sid: str) -> socket.socket | None:
        session = self._sessions.get(sid)
        return None if session is None else session.sock

    def addresses(self) -> Iterable[tuple[str, int]]:
        return self._per_address.most_common()


def raw_socket(environ: dict[str, Any]) -> socket.socket | None:
    """The client's TCP socket under each server we run on (eventlet, werkzeug); gevent's
    is reached through its input stream. None where it cannot be found."""
    stream = environ.get("eventlet.input")
    if stream is not None:
        return stream.get_socket()  # type: ignore[no-any-return]
    sock = environ.get("werkzeug.socket")
    if sock is None:
        sock = getattr(getattr(environ.get("wsgi.input"), "rfile", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class HandshakeGate:
    """WSGI middleware in front of Socket.IO: caps new sessions, and notes websockets' raw
    sockets for ``Connections``."""

    def __init__(self, app: Callable[..., Any], connections: Connections, path: str) -> None:
        self.app, self.connections, self.path = app, connections, "/" + path.strip("/")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not environ.get("PATH_INFO", "").startswith(self.path):
            return self.app(environ, start_response)
        sid = parse_qs(environ.get("QUERY_STRING", "")).get("sid", [None])[0]
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            sock = raw_socket(environ)
            if sid is None:
                environ[SOCKET_KEY] = sock
            else:
                self.connections.upgraded(sid, sock)
        if sid is None:
            reason = self.connections.refusal(environ.get("REMOTE_ADDR", "?"))
            if reason is not None:
                return self._refuse(reason, start_response)
        return self.app(environ, start_response)

    def _refuse(self, reason: str, start_response: Callable[..., Any]) -> list[bytes]:
        self.connections.refused += 1
        if self.connections.refused % 100 == 1:  # one line per 100, not one per attempt
            log.warning("connection refused (%d so far): %s", self.connections.refused, reason)
        body = json.dumps({"message": reason}).encode()
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Retry-After", "10"),
             ("Content-Length", str(len(body)))],
        )  # fmt: skip
        return [body]


def shut(sock: socket.socket | None) -> None:
    """End a socket's TCP connection both ways, so reads and writes blocked on it return."""
    if sock is not None:
        with contextlib.suppress(OSError, ValueError):
            sock.shutdown(socket.SHUT_RDWR)
