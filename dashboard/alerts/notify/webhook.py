"""The webhook target: one JSON POST per message, signed with HMAC-SHA256.

The signature covers ``<timestamp>.<body>``: ``X-Dashboard-Timestamp`` is the attempt's unix
time in seconds, ``X-Dashboard-Signature`` is ``sha256=<hex>``. A receiver recomputes it
over the exact bytes it read and refuses a timestamp more than 5 minutes off, so a captured
request cannot be replayed later. ``X-Dashboard-Delivery`` is the message's id, the same
for every retry: a receiver that saw it already can drop the copy.

Standard library only (urllib): it follows eventlet's and gevent's patched sockets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from dashboard.alerts.notify.message import WEBHOOK_VERSION, Message
from dashboard.alerts.notify.target import Answer, Redactor

SIGNATURE = "X-Dashboard-Signature"
TIMESTAMP = "X-Dashboard-Timestamp"
DELIVERY = "X-Dashboard-Delivery"
_READ_LIMIT = 2048  # of an answer's body: enough for an error message, never a flood
_FINAL = frozenset(range(300, 500)) - {408, 425, 429}  # trying again cannot help


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not followed: urllib would turn the POST into a bodiless GET."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Webhook:
    kind = "webhook"

    def __init__(
        self, url: str, secret: bytes, name: str = "webhook", clock: Callable[[], float] = time.time
    ) -> None:
        self.name = name
        self._url = url
        self._secret = secret
        self._clock = clock
        self.redact = Redactor(url)

    def request(self, message: Message) -> urllib.request.Request:
        body = json.dumps(message.body(), separators=(",", ":"), allow_nan=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"dashboard-alerts/{WEBHOOK_VERSION}",
            DELIVERY: message.id,
        }
        if self._secret:
            timestamp = str(int(self._clock()))
            headers[TIMESTAMP] = timestamp
            headers[SIGNATURE] = sign(self._secret, timestamp, body)
        return urllib.request.Request(self._url, data=body, headers=headers, method="POST")

    def send(self, message: Message, timeout: float) -> Answer:
        try:
            with _OPENER.open(self.request(message), timeout=timeout) as response:
                response.read(_READ_LIMIT)
                return Answer(True, f"HTTP {response.status} {response.reason}")
        except urllib.error.HTTPError as exc:
            with exc:
                said = exc.read(_READ_LIMIT).decode("utf-8", "replace").strip()
            detail = f"HTTP {exc.code} {exc.reason}" + (f": {said[:200]}" if said else "")
            if 300 <= exc.code < 400:
                detail += " (redirects are not followed: set [alerts] webhook to the final URL)"
            return Answer(False, self.redact(detail), retry=exc.code not in _FINAL)
        except urllib.error.URLError as exc:
            return Answer(False, self.redact(f"cannot reach the webhook: {exc.reason}"))
