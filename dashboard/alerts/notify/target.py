"""What every notification target is: a stable display name (``--target NAME``, logs,
status) and one blocking ``send`` attempt that answers what the far end said."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from dashboard.alerts.notify.message import Message


@dataclass(frozen=True)
class Answer:
    """One attempt's outcome as people read it: ``HTTP 204``, ``apprise: SUCCESS``, or the
    error. ``retry`` is False when trying again cannot help (a 4xx the receiver meant)."""

    ok: bool
    detail: str
    retry: bool = True


class Target(Protocol):
    name: str
    kind: str  # "webhook" | "apprise"

    def redact(self, text: str) -> str:
        """``text`` without the secret parts of the target's URL."""
        ...

    def send(self, message: Message, timeout: float) -> Answer:
        """One attempt, blocking (network I/O only); may raise ``OSError`` and the like.
        ``timeout`` is for the socket: the caller also bounds the whole attempt."""
        ...


class Redactor:
    """Cuts the secret-looking parts of a URL out of a text before it is logged or shown
    (error strings of libraries may quote the URL): the whole URL, its userinfo, and every
    path segment, query value or fragment that could be a token (12 characters or more, or
    6 with a digit). Plain words such as ``hook`` stay readable. ``keep``: the parts the
    target's name shows anyway (a server's host name)."""

    def __init__(self, url: str, keep: tuple[str, ...] = ()) -> None:
        rest = url.split("://", 1)[-1]
        userinfo = rest.split("/", 1)[0].rpartition("@")[0]
        pieces = {url, *userinfo.split(":"), *re.split(r"[/?&=@:#]+", rest)} - {"", *keep}
        secret = [p for p in pieces if p in userinfo.split(":") or _token_like(p)]
        self._pieces = sorted(secret, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for piece in self._pieces:
            text = text.replace(piece, "***")
        return text


def _token_like(piece: str) -> bool:
    return len(piece) >= 12 or (len(piece) >= 6 and any(c.isdigit() for c in piece))
