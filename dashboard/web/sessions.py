"""Login sessions: a random id per login, carried in Flask's signed session cookie.

The cookie stays the only place a session lives, so a login survives a restart and works on
every web process that shares the token. The server keeps only what a cookie cannot say:
which ids were logged out (each until its cookie would have expired anyway), and, as one
Socket.IO room per session, which sockets a session opened, so that a logout closes them.
python-socketio drops a socket from its rooms when it disconnects: nothing here grows with
connections that came and went.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import flask_socketio

SESSION_LIFETIME = 30 * 86_400.0  # a login lasts 30 days, then the page asks again
CLOCK_SKEW = 300.0  # web processes' clocks may differ this much (a login made on another)
MAX_REVOKED = 10_000  # logged-out ids remembered; past it, every session ends at once
ROOM_PREFIX = "login-session:"


class Sessions:
    """Issues session ids, tells a live session from a stale or logged-out one, and ends one."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._revoked: dict[str, float] = {}  # id -> when its cookie expires anyway
        self._generation = 0  # bumped when the revoked set is full: older cookies all end
        self._lock = threading.Lock()

    def start(self) -> dict[str, Any]:
        """What a new login's cookie holds: its id, when it began, and the generation."""
        return {"id": secrets.token_urlsafe(24), "at": self.clock(), "gen": self._generation}

    def live_id(self, data: Mapping[str, Any]) -> str | None:
        """The id of the login ``data`` (a cookie's contents) holds, if it is still live."""
        sid, at = data.get("id"), data.get("at")
        if not isinstance(sid, str) or isinstance(at, bool) or not isinstance(at, (int, float)):
            return None
        now = self.clock()
        fresh = now - SESSION_LIFETIME < at < now + CLOCK_SKEW
        if not fresh or data.get("gen") != self._generation:
            return None
        with self._lock:
            return None if sid in self._revoked else sid

    def revoke(self, data: Mapping[str, Any]) -> None:
        """Make this login's cookie useless from now on (for this process's lifetime)."""
        sid, at = data.get("id"), data.get("at")
        if not isinstance(sid, str) or not isinstance(at, (int, float)):
            return
        now = self.clock()
        with self._lock:
            self._revoked = {k: until for k, until in self._revoked.items() if until > now}
            if len(self._revoked) < MAX_REVOKED:
                self._revoked[sid] = at + SESSION_LIFETIME + CLOCK_SKEW
                return
            # Full: forgetting an id would bring its cookie back, so end every session instead.
            self._revoked.clear()
            self._generation += 1

    def revoked_count(self) -> int:
        with self._lock:
            return len(self._revoked)


def room(session_id: str) -> str:
    """The Socket.IO room that holds every socket this login session opened."""
    return ROOM_PREFIX + session_id


def join(session_id: str) -> None:
    """Put the socket being connected (in a connect handler) in its session's room."""
    flask_socketio.join_room(room(session_id))


def disconnect_sockets(server: Any, session_id: str) -> int:
    """Close every socket of this session, in every namespace; how many there were."""
    manager, closed = server.manager, 0
    for namespace in list(manager.get_namespaces()):
        for sid, _eio_sid in list(manager.get_participants(namespace, room(session_id))):
            server.disconnect(sid, namespace=namespace)
            closed += 1
    return closed
