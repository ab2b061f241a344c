"""Container names from the Engine API over a real unix socket: a small HTTP server that
answers GET /containers/json from a recorded Docker answer, one that fails, and none."""

from __future__ import annotations

import http.server
import json
import logging
import socketserver
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collectors.cgroups.collector import CgroupsCollector
from collectors.cgroups.engine import REFRESH, Container, Names, list_containers, parse

RECORDED = Path(__file__).parent / "data" / "cgroups" / "docker-containers.json"
WEB = "0123456789abcdef" * 4
DB = "fedcba9876543210" * 4


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def engine(path: Path, status: int = 200, body: bytes | None = None) -> tuple[_Server, list[str]]:
    """An Engine API stand-in at the unix socket ``path``; returns it and the paths asked."""
    asked: list[str] = []
    answer = RECORDED.read_bytes() if body is None else body

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name for it
            asked.append(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def address_string(self) -> str:  # a unix socket has no client address
            return "unix"

        def log_message(self, *_args: object) -> None:
            pass

    server = _Server(str(path), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, asked


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., tuple[str, list[str]]]]:
    servers: list[_Server] = []

    def start(name: str = "docker.sock", **kwargs: object) -> tuple[str, list[str]]:
        path = tmp_path / name
        server, asked = engine(path, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return str(path), asked

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_recorded_answer_gives_names_and_images(serve):
    path, asked = serve()
    found = list_containers(path)
    assert asked == ["/containers/json"]
    assert found[WEB] == Container("web", "nginx:1.27")
    assert found[DB] == Container("db", "postgres:16")  # the first of its names
    assert found["a" * 64] == Container("a" * 12, "")  # no name: its short id; odd image
    assert len(found) == 3  # entries that are not containers are left out


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_names_are_cached_and_asked_again_only_for_a_new_id(serve):
    path, asked = serve()
    ticks = Ticks()
    names = Names([path], clock=ticks)
    assert names.lookup([WEB])[WEB].name == "web"
    assert names.lookup([WEB, DB])[DB].name == "db"
    assert len(asked) == 1, "both known: no second request"
    names.lookup(["b" * 64])  # unknown, but asked less than REFRESH ago
    assert len(asked) == 1
    ticks.now += REFRESH
    assert names.lookup(["b" * 64]) == {}
    assert len(asked) == 2


def test_a_missing_or_failing_socket_is_one_log_line_and_ids_stay(serve, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    failing, _asked = serve("podman.sock", status=500, body=b"{}")
    ticks = Ticks()
    names = Names([str(tmp_path / "absent.sock"), failing], clock=ticks)
    for _ in range(3):
        assert names.lookup([WEB]) == {}
        ticks.now += REFRESH
    lines = [r.getMessage() for r in caplog.records if "container names" in r.getMessage()]
    assert len(lines) == 2, lines  # one per socket, however often asked
    assert "absent.sock" in lines[0] and "answered 500" in lines[1]


def test_answers_that_are_not_a_list_are_refused(serve):
    path, _asked = serve(body=json.dumps({"message": "page not found"}).encode())
    with pytest.raises(ValueError, match="not a JSON array"):
        list_containers(path)
    assert parse([]) == {}


def test_the_collector_names_a_container_by_its_engine(serve, cgroup_tree):
    path, _asked = serve()
    made = CgroupsCollector()
    made.setup({"root": str(cgroup_tree("v2-systemd-docker")), "docker_socket": path,
                "podman_socket": "", "include": ["web", "nginx"]})  # fmt: skip
    values = made.collect().values
    assert values["cgroups.web.memory"] == 268435456  # docker-<id>.scope, named "web"
    assert "cgroups.nginx.memory" in values
    assert {s.label for s in made.describe() if s.name == "cgroups.web.memory"} == {"web memory"}
