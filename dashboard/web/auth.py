"""Token authentication: off on loopback by default, required for any other address.

A browser logs in once with the token and gets a signed session cookie (HttpOnly,
SameSite=Strict, and Secure when the server speaks TLS) holding a random session id; scripts
send ``Authorization: Bearer <token>``; Socket.IO clients carry the cookie or pass
``auth={"token": ...}``. Every token comparison is constant-time. An address with 10 wrong
tokens in the last minute (by any path: the form, Bearer, a socket) is refused outright, the
right token too, until the oldest of them is a minute old. Forms carry a per-session CSRF
token. A logout ends that session: its cookie is refused from then on and its sockets close.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import timedelta
from enum import Enum
from typing import Any

from flask import Flask, current_app, request, session
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from dashboard.web import sessions
from dashboard.web.sessions import SESSION_LIFETIME, Sessions

log = logging.getLogger(__name__)
LOGIN_ATTEMPTS_PER_MINUTE = 10
MAX_ADDRESSES = 10_000  # addresses whose failures are remembered (oldest forgotten first)


class Verdict(Enum):
    """What a credential check decided."""

    ALLOWED = "allowed"
    MISSING = "missing"  # no credentials at all
    WRONG = "wrong"  # a wrong token (counted against the address)
    THROTTLED = "throttled"  # too many wrong tokens from this address: nothing is checked


class Auth:
    """Checks credentials against the configured token (empty token: everyone is allowed)."""

    def __init__(
        self,
        token: str,
        secure_cookie: bool = False,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.secure_cookie = secure_cookie
        self.sessions = Sessions(clock)
        self.throttle = Throttle(monotonic)
        self._token_digest = _digest(token)

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def init_app(self, app: Flask) -> None:
        """Guard ``app``: its session cookie settings, and ``app.extensions["dashboard.auth"]``."""
        app.extensions["dashboard.auth"] = self
        # Derived from the token so sessions survive a restart and work on every web process;
        # rotating the token logs everyone out.
        secret = hmac.new(self.token.encode() or b"loopback", b"dashboard-session", "sha256")
        app.secret_key = secret.hexdigest()
        app.permanent_session_lifetime = timedelta(seconds=SESSION_LIFETIME)
        app.config.update(
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Strict",
            SESSION_COOKIE_SECURE=self.secure_cookie,
        )

    def matches(self, candidate: Any) -> bool:
        """Whether ``candidate`` is the token, in time independent of where they differ."""
        if not isinstance(candidate, str) or not self.token:
            return False
        return hmac.compare_digest(_digest(candidate), self._token_digest)

    def session_id(self) -> str | None:
        """The live login session of this request's cookie, if any."""
        return self.sessions.live_id(session)

    def check_request(self) -> Verdict:
        """An HTTP request: a live session cookie, or ``Authorization: Bearer <token>``."""
        if not self.enabled or self.session_id() is not None:
            return Verdict.ALLOWED
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return Verdict.MISSING
        return self._check_token(header[7:])

    def allow_request(self) -> bool:
        return self.check_request() is Verdict.ALLOWED

    def allow_socket(self, auth: Any) -> bool:
        """A Socket.IO connect (in its handler): the cookie, or ``auth={"token": ...}``.

        A socket of a login session joins that session's room, so a logout can close it.
        A refusal raises python-socketio's ConnectionRefusedError, whose message the client
        sees ("authentication required", "too many failed logins ...").
        """
        if not self.enabled:
            return True
        session_id = self.session_id()
        if session_id is not None:
            sessions.join(session_id)
            return True
        offered = auth.get("token") if isinstance(auth, dict) else None
        verdict = Verdict.MISSING if offered is None else self._check_token(offered)
        if verdict is Verdict.ALLOWED:
            return True
        raise SocketRefused(_REFUSALS[verdict])

    def login(self, candidate: str) -> Verdict:
        """Check the form's token; on success start a new session (a new id, a new CSRF
        token: nothing from before the login carries over)."""
        verdict = self._check_token(candidate)
        if verdict is Verdict.ALLOWED:
            session.clear()
            session.update(self.sessions.start())
            session["csrf"] = secrets.token_urlsafe(24)
        return verdict

    def logout(self) -> int:
        """End this request's login session: refuse its cookie from now on and close its
        sockets; how many were closed."""
        session_id = self.session_id()
        closed = 0
        if session_id is not None:
            self.sessions.revoke(session)
            server = vars(current_app.extensions["socketio"])["server"]
            closed = sessions.disconnect_sockets(server, session_id)
        session.clear()
        return closed

    def csrf_token(self) -> str:
        """This session's CSRF token for a form (made, and the cookie set, on first use)."""
        token = session.get("csrf")
        if not isinstance(token, str):
            token = session["csrf"] = secrets.token_urlsafe(24)
        return token

    def csrf_ok(self, offered: Any) -> bool:
        expected = session.get("csrf")
        if not isinstance(offered, str) or not isinstance(expected, str):
            return False
        return hmac.compare_digest(offered.encode(), expected.encode())

    def retry_after(self) -> int:
        """Whole seconds until this request's address may try a token again (0: now)."""
        return int(self.throttle.wait(_address()) + 0.999)

    def _check_token(self, candidate: Any) -> Verdict:
        address = _address()
        if self.throttle.wait(address) > 0:
            return Verdict.THROTTLED
        if self.matches(candidate):
            return Verdict.ALLOWED
        if self.throttle.failed(address):
            # Once per lockout, never per attempt (a log line each would be a flood).
            log.warning(
                "%d wrong tokens from %s within a minute: refusing it every credential "
                "until the oldest is a minute old",
                self.throttle.limit,
                address,
            )
        return Verdict.WRONG


_REFUSALS = {
    Verdict.MISSING: "authentication required",
    Verdict.WRONG: "wrong token",
    Verdict.THROTTLED: "too many wrong tokens from this address; wait a minute",
}


class Throttle:
    """Wrong tokens per address over the last minute; at ``limit``, the address waits.

    Memory stays small under any attack: at most ``limit`` times per address (a refused
    attempt is not recorded: it was never checked), at most ``MAX_ADDRESSES`` addresses.
    IPv6 addresses count per /64, the block one machine usually holds.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        limit: int = LOGIN_ATTEMPTS_PER_MINUTE,
        window: float = 60.0,
    ) -> None:
        self.clock, self.limit, self.window = clock, limit, window
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, address: str) -> float:
        """Seconds until ``address`` may try again (0: it may now)."""
        with self._lock:
            times = self._failures.get(_key(address))
            if times is None or len(times) < self.limit:
                return 0.0
            return max(0.0, times[0] + self.window - self.clock())

    def failed(self, address: str) -> bool:
        """Record one wrong token from ``address``; True if that made it wait."""
        now, key = self.clock(), _key(address)
        with self._lock:
            times = self._failures.pop(key, None) or deque(maxlen=self.limit)
            while times and times[0] <= now - self.window:
                times.popleft()
            times.append(now)
            self._failures[key] = times  # newest last, so the oldest go first
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)
            return len(times) == self.limit


def _key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _address() -> str:
    return request.remote_addr or "?"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
