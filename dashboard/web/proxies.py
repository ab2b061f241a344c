"""Which address a request comes from, behind reverse proxies we were told to trust.

Behind nginx every request comes from the proxy's address, so the per-address connection
cap and the login throttle would count every user together. With ``[server]
trusted_proxies`` set, a request *from* one of those addresses is taken to come from the
right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy — what that proxy
saw (``$proxy_add_x_forwarded_for`` appends it). Anything further left was written by the
client and is never believed; a request from any other address keeps its own address, header
or not. ``X-Forwarded-Host`` and the rest are never consulted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(remote: str, forwarded: str, trusted: Iterable[Network]) -> str:
    """The client's address for a request from ``remote`` carrying ``forwarded``."""
    networks = tuple(trusted)
    if not networks or not _within(remote, networks):
        return remote
    for entry in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            return remote  # a malformed chain: believe nothing in it
        if not _within(entry, networks):
            return entry
    return remote


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class ClientAddress:
    """WSGI middleware: ``REMOTE_ADDR`` becomes the client's own address (see above); the
    proxy's is kept as ``dashboard.proxy``."""

    def __init__(self, app: Callable[..., Any], trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = tuple(ipaddress.ip_network(t, strict=False) for t in trusted)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.trusted:
            remote = environ.get("REMOTE_ADDR", "")
            client = client_address(remote, environ.get("HTTP_X_FORWARDED_FOR", ""), self.trusted)
            if client != remote:
                environ["dashboard.proxy"], environ["REMOTE_ADDR"] = remote, client
        return self.app(environ, start_response)
