"""A deadline for reading a request's line and headers under eventlet's WSGI server.

eventlet's timeouts are per read: a client sending its headers one byte a second (slowloris)
never trips them and keeps a connection forever. Each connection is its own green thread,
so the accept path is never starved; this only reclaims those connections. Once the
headers are in, the request (a websocket, say) runs without this deadline.
"""

from __future__ import annotations

from typing import Any

import eventlet
import eventlet.wsgi

HEADER_TIMEOUT = 10.0  # seconds from a connection's (or a keep-alive's) first wait to its headers


class _TooSlow(Exception):
    pass


class HeaderDeadline(eventlet.wsgi.HttpProtocol):  # type: ignore[misc]
    """eventlet's protocol with one deadline over the request line and the headers."""

    _deadline: Any = None

    def handle_one_request(self) -> None:
        # Some of eventlet's early answers (414, 400) return between the request line and
        # the headers: the deadline must never outlive the request that set it.
        try:
            super().handle_one_request()
        except _TooSlow:
            self.close_connection = 1
        finally:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

    def _read_request_line(self) -> Any:
        self._deadline = eventlet.Timeout(HEADER_TIMEOUT, _TooSlow())
        try:
            line = super()._read_request_line()
        except _TooSlow:
            line = ""
        if not line:
            self._deadline.cancel()
            self.close_connection = 1
        return line

    def parse_request(self) -> bool:
        try:
            return bool(super().parse_request())
        except _TooSlow:
            self.close_connection = 1
            return False
        finally:
            if self._deadline is not None:
                self._deadline.cancel()
