"""Token authentication: off on loopback by default, required for any other address.

A browser logs in once with the token and gets a signed, HttpOnly, SameSite=Strict session
cookie; scripts send ``Authorization: Bearer <token>``; Socket.IO clients carry the cookie or
pass ``auth={"token": ...}``. Login attempts are rate-limited per address.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from typing import Any

from flask import Flask, request, session

LOGIN_ATTEMPTS_PER_MINUTE = 10


class Auth:
    """Checks credentials against the configured token (empty token: everyone is allowed)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def init_app(self, app: Flask) -> None:
        """Guard ``app``: its session cookie settings, and ``app.extensions["dashboard.auth"]``."""
        app.extensions["dashboard.auth"] = self
        # Derived from the token so sessions survive a restart; rotating the token logs
        # everyone out.
        secret = hmac.new(self.token.encode() or b"loopback", b"dashboard-session", "sha256")
        app.secret_key = secret.hexdigest()
        app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")

    def matches(self, candidate: Any) -> bool:
        if not isinstance(candidate, str) or not self.token:
            return False
        return hmac.compare_digest(_digest(candidate), _digest(self.token))

    def allow_request(self) -> bool:
        if not self.enabled or session.get("auth") == _digest(self.token):
            return True
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and self.matches(header[7:])

    def allow_socket(self, auth: Any) -> bool:
        if self.allow_request():
            return True
        return isinstance(auth, dict) and self.matches(auth.get("token"))

    def login(self, candidate: str) -> bool:
        ok = self.matches(candidate)
        if ok:
            session.clear()
            session["auth"] = _digest(self.token)
        return ok

    def too_many_attempts(self, address: str, now: float | None = None) -> bool:
        """Record one login attempt; True if this address tried too often in the last minute."""
        now = time.monotonic() if now is None else now
        with self._lock:
            window = self._attempts.setdefault(address, deque())
            while window and window[0] < now - 60:
                window.popleft()
            window.append(now)
            if len(self._attempts) > 10_000:  # bound memory under an address-spraying attack
                self._attempts = {address: window}
            return len(window) > LOGIN_ATTEMPTS_PER_MINUTE


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
