"""Container names from the Docker (or Podman) Engine API, over its unix socket.

``GET /containers/json`` lists the running containers with their ids, names and images.
The answer is cached: asked again only when a container id it does not know appears, and
at most every REFRESH seconds. A socket that is missing or refuses is logged once and the
ids stay as names: a dashboard never fails for want of a name.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

TIMEOUT = 1.0  # s per request: the collector's run waits for it
REFRESH = 30.0  # s between two requests at most, however many new ids appear
MAX_ANSWER = 8 * 2**20  # bytes: a listing larger than this is not read


@dataclass(frozen=True)
class Container:
    name: str
    image: str


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def list_containers(path: str, timeout: float = TIMEOUT) -> dict[str, Container]:
    """Container id -> its name and image, from the Engine API at the unix socket ``path``.
    Raises OSError (no socket, refused, timed out) or ValueError (an answer not understood)."""
    conn = _UnixConnection(path, timeout)
    try:
        conn.request("GET", "/containers/json", headers={"Host": "docker"})
        resp = conn.getresponse()
        body = resp.read(MAX_ANSWER + 1)
    finally:
        conn.close()
    if resp.status != 200:
        raise ValueError(f"GET /containers/json answered {resp.status}")
    if len(body) > MAX_ANSWER:
        raise ValueError(f"the container list is over {MAX_ANSWER} bytes")
    return parse(json.loads(body))


def parse(listing: object) -> dict[str, Container]:
    """The Engine API's container list: ``[{"Id", "Names": ["/web"], "Image"}, ...]``."""
    if not isinstance(listing, list):
        raise ValueError("the container list is not a JSON array")
    out = {}
    for item in listing:
        if not isinstance(item, dict) or not isinstance(item.get("Id"), str):
            continue
        names = [n for n in item.get("Names") or [] if isinstance(n, str) and n.strip("/")]
        image = item.get("Image")
        image = image if isinstance(image, str) else ""
        out[item["Id"]] = Container(names[0].strip("/") if names else item["Id"][:12], image)
    return out


class Names:
    """Cached names of the containers of every configured engine socket."""

    def __init__(self, sockets: Iterable[str], clock: Callable[[], float] = time.monotonic,
                 optional: Iterable[str] = ()) -> None:  # fmt: skip
        """``optional``: sockets asked only while they exist (the standard paths, where no
        engine may run), never logged as missing."""
        self.sockets = [s for s in sockets if s]
        self.optional = set(optional)
        self.clock = clock
        self.known: dict[str, Container] = {}
        self.asked = -REFRESH
        self.failed: set[str] = set()  # sockets whose failure was logged (once each)

    def lookup(self, ids: Iterable[str]) -> dict[str, Container]:
        """The known containers among ``ids``; the engines are asked again when one is new
        and REFRESH has passed since they last were."""
        wanted = set(ids)
        if wanted - self.known.keys() and self.clock() - self.asked >= REFRESH:
            self.asked = self.clock()
            self.known = self._ask()
        return {i: c for i, c in self.known.items() if i in wanted}

    def _ask(self) -> dict[str, Container]:
        found: dict[str, Container] = {}
        for path in self.sockets:
            if path in self.optional and not Path(path).exists():
                continue
            try:
                found.update(list_containers(path))
            except (OSError, ValueError, http.client.HTTPException) as exc:
                if path not in self.failed:
                    self.failed.add(path)
                    log.warning("cgroups: no container names from %s (%s); their ids are "
                                "their names", path, exc)  # fmt: skip
                continue
            self.failed.discard(path)
        return found
