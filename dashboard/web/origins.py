"""Which origins and Host headers may reach the server (the DNS-rebinding defence).

python-engineio's default origin check trusts the request's own Host header, which a
rebinding attacker controls. We pass an explicit origin list instead and refuse any request
whose Host is not one of ours, before Flask or Socket.IO see it. ``X-Forwarded-Host`` is
never consulted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from dashboard.settings import ServerSettings

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def allowed_origins(server: ServerSettings) -> list[str]:
    """The configured origins, plus on loopback this machine's own names (https:// when the
    server itself speaks TLS)."""
    origins = list(server.allowed_origins)
    if server.is_loopback:
        origins += [f"{server.scheme}://{name}:{server.port}" for name in LOOPBACK_NAMES]
    return origins


def allowed_hosts(server: ServerSettings) -> set[str]:
    hosts = {_host_of(origin) for origin in server.allowed_origins}
    if server.is_loopback:
        hosts.update(LOOPBACK_NAMES)
    hosts.add(f"[{server.host}]" if ":" in server.host else server.host)
    return {h.lower() for h in hosts}


def _host_of(origin: str) -> str:
    netloc = urlsplit(origin).netloc
    return netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc


class HostGuard:
    """WSGI middleware: 400 for any request whose Host header is not an allowed name."""

    def __init__(self, app: Callable[..., Any], hosts: Iterable[str]) -> None:
        self.app, self.hosts = app, frozenset(hosts)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        host = environ.get("HTTP_HOST", "").lower()
        name = host if host.endswith("]") else host.rsplit(":", 1)[0] if ":" in host else host
        if name in self.hosts:
            return self.app(environ, start_response)
        start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"unknown Host header: this dashboard only answers to its configured names\n"]
