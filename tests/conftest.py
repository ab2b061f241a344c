"""Shared fixtures: an app per test (Flask's pattern), real server processes, Socket.IO
clients, the command line, and the one way to wait (on a condition, never a fixed sleep).

A test that starts a real server process must be marked ``@pytest.mark.server``, so that
``pytest -m "not server"`` truly starts none: starting one without the mark fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import socketio
from flask import Flask

from dashboard import create_app
from tests.clock import Clock
from tests.serverproc import (
    ROOT,
    NginxProcess,
    RedisProcess,
    ServerProcess,
    make_server,
    nginx_binary,
    stop_all,
)
from tests.toy import Rows, Toy
from tests.waits import wait_until as _wait_until

THREADING = {"server": {"async_mode": "threading"}}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """``wait_until(condition, what, timeout=10)``: the condition's first truthy value."""
    return _wait_until


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Flask:
    """An app with the toy collectors on the test's clock (scheduler not started: tests tick
    runners by hand), its history file in ``tmp_path`` (not opened until a test opens it)."""
    settings = {**THREADING, "history": {"path": str(tmp_path / "h.sqlite3"), "retention": "1h"}}
    return create_app(settings, collectors=(Toy, Rows), clock=clock)


@pytest.fixture
def runtime(app: Flask) -> Any:
    return app.extensions["dashboard"]


@pytest.fixture(autouse=True)
def _servers_need_the_mark(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("server"):
        return

    def refuse(self: ServerProcess, *args: Any, **kwargs: Any) -> ServerProcess:
        raise pytest.fail.Exception(
            f"{request.node.nodeid} starts a real server: mark it @pytest.mark.server"
        )

    monkeypatch.setattr(ServerProcess, "start", refuse)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Build real server processes; every one started is stopped (by PID) afterwards."""
    made: list[ServerProcess] = []

    def factory(
        settings: str = "", async_mode: str = "threading", start: bool = True, **kwargs: Any
    ) -> ServerProcess:
        """``command="agent"`` makes an agent (``dashboard agent``) instead of a server."""
        command = kwargs.pop("command", "run")
        server = make_server(
            tmp_path, settings, async_mode, name=kwargs.pop("name", f"server{len(made)}"), **kwargs
        )
        server.command = command
        made.append(server)
        return server.start() if start else server

    yield factory
    stop_all(made)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisProcess]]:
    """``redis_server(password=None, tls=False)``: a redis-server of the test's own, started
    (``tls``: TLS only, its ``url`` a ``rediss://`` one trusting its own CA); every one
    is stopped (by PID) afterwards. Debian's redis-server must be installed (``.ci/run`` and
    ``make test`` install it as root); elsewhere the test is skipped, under CI it fails."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (CI installs Debian's redis-server)")
        pytest.skip("redis-server is not installed: sudo apt-get install redis-server")
    made: list[RedisProcess] = []

    def start(password: str | None = None, tls: bool = False) -> RedisProcess:
        folder = tmp_path / f"redis{len(made)}"
        folder.mkdir()
        made.append(RedisProcess(folder, password=password, tls=tls))
        return made[-1].start()

    yield start
    for server in made:
        server.stop(signal.SIGKILL)


@pytest.fixture
def nginx_server(tmp_path: Path) -> Iterator[Callable[[str, int], NginxProcess]]:
    """``nginx_server(http_conf, port)``: Debian's nginx running those upstream and server
    blocks, started; stopped (by PID) afterwards. Skipped where nginx is not installed,
    failed under CI (``.ci/system-deps`` installs it)."""
    if nginx_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (CI installs Debian's nginx)")
        pytest.skip("nginx is not installed: sudo apt-get install nginx")
    made: list[NginxProcess] = []

    def start(http_conf: str, port: int) -> NginxProcess:
        folder = tmp_path / f"nginx{len(made)}"
        folder.mkdir()
        made.append(NginxProcess(folder, http_conf, port))
        return made[-1].start()

    yield start
    for server in made:
        server.stop()


CHROMIUM = Path("/usr/bin/chromium")  # Debian's: Playwright cannot download its own here
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for every browser test; skipped where it is not installed,
    failed under CI (``.ci/system-deps`` installs it)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package for browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def sio_client() -> Iterator[Callable[..., socketio.Client]]:
    """``sio_client(url, namespaces, **connect_options)``: a connected Socket.IO client over
    a websocket, without reconnection; every one is disconnected after the test."""
    made: list[socketio.Client] = []

    def connect(url: str, namespaces: list[str], **options: Any) -> socketio.Client:
        client = socketio.Client(reconnection=False)
        made.append(client)
        options.setdefault("wait_timeout", 10)
        client.connect(url, namespaces=namespaces, transports=["websocket"], **options)
        return client

    yield connect
    for client in made:
        client.disconnect()
        # A connection the server closed leaves python-engineio's websocket open (its read
        # loop stops without closing it): close it, or a ResourceWarning surfaces in
        # whichever later test the garbage collector happens to run.
        ws = getattr(client.eio, "ws", None)
        if ws is not None:
            ws.shutdown()


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli(*args, config=None, cwd=ROOT)``: ``python -m dashboard *args``, its output
    captured. ``config`` is a settings file's path or its text (written to tmp_path), passed
    as ``--config``."""

    def run(
        *args: str, config: str | Path | None = None, cwd: Path = ROOT, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "dashboard", *args]
        if isinstance(config, str):
            path = tmp_path / "settings.toml"
            path.write_text(config)
            config = path
        if config is not None:
            argv += ["--config", str(config)]
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def cgroup_tree(tmp_path: Path) -> Callable[[str], Path]:
    """``cgroup_tree("v2-systemd-docker")``: that recorded tree (tests/data/cgroups/<name>.json,
    its "files") written out under a fresh folder, which is returned."""

    def write(name: str) -> Path:
        recording = json.loads((ROOT / "tests" / "data" / "cgroups" / f"{name}.json").read_text())
        base = tmp_path / "cgroup" / name
        for rel, text in recording["files"].items():
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return base

    return write


@pytest.fixture
def writable_cgroups() -> Any:
    """This machine's cgroup Layout, where the test may make groups in it; else a skip with
    the reason (no tree, not root). Under CI, where tests run as root, not being root fails."""
    from collectors.cgroups import tree

    layout = tree.detect()
    if layout is None:
        pytest.skip("no readable cgroup tree on this machine")
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("making cgroups needs root, and CI runs as root")
        pytest.skip("making cgroups needs root")
    return layout


@pytest.fixture
def real_cgroup(writable_cgroups: Any) -> Iterator[Callable[..., Any]]:
    """``real_cgroup(name, pid, roots=None)``: a group ``name`` made at the top of each of
    this machine's cgroup trees (v2's one, or v1's cpuacct, memory, blkio and pids; or of
    each of ``roots``), with process ``pid`` moved into it; the Layout is returned, and the
    groups are removed after the test. Skips
    with the reason where groups cannot be made (see writable_cgroups; a read-only or
    delegated tree; v2 without the memory controller for child groups)."""
    made: list[Path] = []
    layout = writable_cgroups

    def make(name: str, pid: int, roots: list[Path] | None = None) -> Any:
        if roots is None:
            roots = list(layout.roots.values())
            enabled = (
                (roots[0] / "cgroup.subtree_control").read_text() if layout.version == 2 else ""
            )
            if layout.version == 2 and "memory" not in enabled:
                pytest.skip("cgroup v2 without the memory controller enabled for child groups")
        for root in roots:
            try:
                (root / name).mkdir()
                made.append(root / name)
                (root / name / "cgroup.procs").write_text(str(pid))
            except OSError as exc:
                pytest.skip(f"this machine's cgroup tree takes no new group: {exc}")
        return layout

    yield make
    for folder in made:
        # The kernel empties a group just after its last task exits: wait for that.
        _wait_until(partial(_removed, folder), f"{folder} removed", timeout=5)


def _removed(folder: Path) -> bool:
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def aged_history() -> Callable[..., None]:
    """``aged_history(path, spans, value)``: the history file a server that ran at those
    times would have left: cpu samples once a second (``cpu.total = value(ts)``,
    ``cpu.user = 1``) over each ``(first ts, seconds)`` span, flushed every minute and
    maintained every 10 minutes as the server does, then flushed and maintained at the real
    time now (every block sealed and rolled up; raw samples past the 1 h retention gone)."""
    from dashboard.history.tiers import History
    from dashboard.settings import HistorySettings
    from tests.clock import Clock

    def write(path: Path, spans: list[tuple[int, int]], value: Callable[[float], float]) -> None:
        clock = Clock(spans[0][0])
        history = History(HistorySettings(path=path, retention=3600.0), clock=clock)
        history.register("cpu", 1.0)
        history.open()
        for first, seconds in spans:
            for ts in range(first, first + seconds):
                clock.now = ts
                history.append("cpu", ts, {"cpu.total": value(ts), "cpu.user": 1.0})
                if ts % 60 == 0:
                    history.flush()
                if ts % 600 == 0:
                    history.maintain()
        clock.now = time.time()
        history.flush()
        history.maintain()
        history.close()

    return write
