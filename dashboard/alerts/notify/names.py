"""Display names of targets, stable across restarts and free of secrets.

``webhook`` for the webhook. An Apprise URL is named by its scheme, plus its host where
that is a server's name (dotted, an IP address, or ``localhost``): ``mailto:smtp.example.com``,
``json:127.0.0.1:8080``, ``ntfys:ntfy.sh``. Many services put a token where the host goes
(``tgram://BOT_TOKEN/CHAT``, ``ntfy://TOPIC``): those are named by the scheme alone, ``tgram``.
Two targets with the same name get ``-2``, ``-3`` in the order of ``notify``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SERVER = re.compile(r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|\[[0-9A-Fa-f:.]+\])$")


def apprise_name(url: str) -> str:
    scheme = url.partition("://")[0].lower()
    host, port = _server(url)
    if not host:
        return scheme
    return f"{scheme}:{host.lower()}:{port}" if port else f"{scheme}:{host.lower()}"


def server_host(url: str) -> str:
    """The host the name shows, or "" (it is not a secret: see the module docstring)."""
    return _server(url)[0]


def _server(url: str) -> tuple[str, str]:
    """(host, port) when the URL's host is a server's name, else ("", "")."""
    rest = url.partition("://")[2]
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    if netloc.startswith("["):
        host, _, port = netloc.partition("]")
        host, port = host + "]", port.lstrip(":")
    else:
        host, _, port = netloc.partition(":")
    if not _SERVER.match(host):
        return "", ""
    return host, port if port.isdigit() else ""


def unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out
