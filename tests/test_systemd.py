"""sd_notify against a real server process and a datagram socket this test owns: READY once
listening, STATUS, WATCHDOG at half the period, STOPPING then exit 0 on SIGTERM; pings stop
while the event loop is blocked and go on while only a plugin hangs."""

from __future__ import annotations

import itertools
import random
import re
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess, free_port
from tests.waits import wait_until

pytestmark = pytest.mark.server

PLUGINS = '''
import ctypes

from collectors import Collector, Series


class Stuck(Collector):
    """Its collect() blocks in C for 30 s: a hung plugin."""

    name = "stuck"
    interval = 1.0

    def describe(self):
        return [Series("stuck.v", "n")]

    def collect(self):
        ctypes.CDLL(None).sleep(30)
        return {}


class Blocker(Collector):
    """Its filter holds the GIL in C (ctypes.PyDLL, unlike CDLL, does not release it), so
    every thread stops, the event loop too: a stalled loop, on demand."""

    name = "blocker"
    interval = 1.0

    def describe(self):
        return [Series("blocker.v", "n")]

    def collect(self):
        return {"blocker.v": 1.0}

    def parse_filter(self, request):
        ctypes.PyDLL(None).sleep(int(request.get("seconds", 0)))
        return {}
'''


@dataclass
class Inbox:
    """Datagrams the server sent to our NOTIFY_SOCKET, with their arrival times."""

    path: Path
    messages: list[tuple[float, str]] = field(default_factory=list)

    def of(self, key: str) -> list[float]:
        return [t for t, m in self.messages if f"{key}=" in m]

    def wait_for(self, key: str, timeout: float = 20) -> str:
        def first() -> str | None:
            return next((m for _t, m in self.messages if f"{key}=" in m), None)

        return wait_until(first, f"a {key} notification", timeout)

    def wait_for_pings(self, count: int, after: float = 0.0, timeout: float = 15) -> list[float]:
        """Once ``count`` WATCHDOG pings arrived after ``after`` (monotonic): all of those."""

        def pings() -> list[float]:
            found = [t for t in self.of("WATCHDOG") if t > after]
            return found if len(found) >= count else []

        return wait_until(pings, f"{count} watchdog pings", timeout)


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[Inbox]:
    box = Inbox(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(box.path))
    sock.settimeout(0.2)
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            box.messages.append((time.monotonic(), data.decode()))

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    yield box
    stop.set()
    reader.join(2)
    sock.close()


def notified(server_factory, inbox: Inbox, settings: str = "", watchdog_usec: int = 1_000_000):
    server = server_factory(settings, async_mode="eventlet", start=False)
    server.env = {"NOTIFY_SOCKET": str(inbox.path), "WATCHDOG_USEC": str(watchdog_usec)}
    return server.start()


def test_ready_status_watchdog_and_stopping(server_factory, inbox):
    server = notified(server_factory, inbox)
    ready = inbox.wait_for("READY")
    assert "READY=1" in ready and "collectors ok" in ready and "MAINPID=" in ready
    pings = inbox.wait_for_pings(6)  # every 0.5 s for WATCHDOG_USEC = 1 s
    assert all(b - a < 1.0 for a, b in itertools.pairwise(pings))
    assert any("history ok" in m for _t, m in inbox.messages if "STATUS=" in m)
    assert server.stop() == 0
    assert "STOPPING=1" in inbox.wait_for("STOPPING")


def test_no_pings_while_the_event_loop_is_blocked_but_a_hung_plugin_is_fine(
    server_factory, inbox, tmp_path, sio_client
):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "faults.py").write_text(PLUGINS)
    server = notified(server_factory, inbox, f'[plugins]\npaths = ["{folder}"]\n')
    inbox.wait_for("READY")
    before = inbox.wait_for_pings(6)  # "stuck" hangs in C the whole time: pings go on
    assert max(b - a for a, b in itertools.pairwise(before)) < 1.0
    assert server.get_json("/healthz")["collectors"]["stuck"]["state"] in ("timeout", "hung")

    sio = sio_client(server.url, ["/blocker"])
    blocked_at = time.monotonic()
    sio.emit("filter", {"seconds": 4}, namespace="/blocker")  # the loop stops for 4 s
    inbox.wait_for_pings(2, after=blocked_at + 4.5)  # pings resume
    during = [t for t in inbox.of("WATCHDOG") if blocked_at + 0.5 < t < blocked_at + 3.5]
    assert during == [], "pinged while the event loop was blocked"
    assert server.stop() == 0


def test_sigterm_at_random_moments_under_load_exits_0_with_an_intact_file(
    server_factory, inbox, tmp_path, sio_client
):
    rng = random.Random(11)
    settings = '[history]\npath = "h.sqlite3"\nflush_interval = "1s"\n'
    server = notified(server_factory, inbox, settings)
    for round_ in range(5):
        inbox.wait_for("READY")
        names = ["/cpu", "/memory", "/disk", "/network", "/processes"]
        clients = [sio_client(server.url, names) for _ in range(5)]
        for client in clients:
            for name in names:
                client.emit("subscribe", {"history": 3600}, namespace=name)
        time.sleep(rng.uniform(0.3, 2.0))  # the stop lands at a random moment: the point here
        inbox.messages.clear()
        assert server.stop() == 0, server.output()
        assert "STOPPING=1" in inbox.wait_for("STOPPING")
        for client in clients:
            client.disconnect()
        with sqlite3.connect(tmp_path / "h.sqlite3") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",), round_
        inbox.messages.clear()
        server = ServerProcess(server.config, server.port, server.log, server.env).start()
    assert server.stop() == 0


def test_under_journald_lines_carry_priorities_and_no_timestamps(server_factory, tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken.py").write_text("raise ImportError('needs libfoo')\n")
    server = server_factory(
        f'[plugins]\npaths = ["{folder}"]\n', async_mode="eventlet", start=False
    )
    server.env = {"JOURNAL_STREAM": "8:12345"}
    server.start()
    assert server.stop() == 0
    lines = server.output().splitlines()
    assert lines and all(re.match(r"^<[2-7]>", line) for line in lines), lines
    assert any(line.startswith("<3>ERROR dashboard.runtime: plugin 'broken'") for line in lines)
    assert any(line.startswith("<6>INFO dashboard: serving http://") for line in lines)
    assert not any(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", line) for line in lines)


def test_log_level_flag_overrides_the_settings(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text('[server]\nlog_level = "warning"\n[history]\npath = ""\n')
    quiet = ServerProcess(config, free_port(), tmp_path / "quiet.log").start()
    assert quiet.stop() == 0
    assert " INFO " not in quiet.output()  # warning, from the file
    loud = ServerProcess(config, free_port(), tmp_path / "loud.log", args=["--log-level", "info"])
    loud.start()
    assert loud.stop() == 0
    assert " INFO dashboard: serving http://" in loud.output()


RELOADED_PLUGIN = """
from collectors import Collector, Series


class Late(Collector):
    name = "late"
    interval = 0.5

    def describe(self):
        return [Series("late.v", "n")]

    def collect(self):
        return {"late.v": 7.0}
"""


@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
def test_sighup_applies_intervals_collectors_and_plugins_and_names_the_rest(
    server_factory, tmp_path, mode, sio_client
):
    folder = tmp_path / "plugins"
    folder.mkdir()
    server = server_factory("", async_mode=mode)
    assert {c["name"] for c in server.get_json("/api/collectors")["collectors"]} >= {"sensors"}
    (folder / "late.py").write_text(RELOADED_PLUGIN)
    body = server.config.read_text()
    server.config.write_text(
        body.replace("[server]\n", "[server]\nmax_message_bytes = 100000\n")
        + f"\n[collectors.cpu]\ninterval = 2.0\n[collectors.sensors]\nenabled = false\n"
        f'[plugins]\npaths = ["{folder}"]\n'
    )
    server.proc.send_signal(signal.SIGHUP)
    log = wait_until(lambda: "need a restart" in (out := server.output()) and out, "the reload")
    assert "cpu every 1 s -> 2 s" in log and "sensors stopped" in log, log
    assert f"late started (file {folder / 'late.py'})" in log
    assert "need a restart to take effect: [server]" in log
    listing = {c["name"]: c for c in server.get_json("/api/collectors")["collectors"]}
    assert listing["cpu"]["interval"] == 2.0 and "sensors" not in listing and "late" in listing
    sio = sio_client(server.url, ["/late", "/sensors"])
    got: list[dict] = []
    sio.on("sample", got.append, namespace="/late")
    assert sio.call("subscribe", {}, namespace="/late", timeout=5)["ok"]
    assert sio.call("subscribe", {}, namespace="/sensors", timeout=5) == {
        "ok": False,
        "error": "collector 'sensors' is not running (disabled in settings)",
    }
    wait_until(lambda: got, "a sample from the reloaded plugin", timeout=5)
    sio.disconnect()
    assert got[-1]["values"] == {"late.v": 7.0}

    server.config.write_text("[server\nbroken")  # a bad file is refused as a whole
    server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reload refused" in server.output(), "the bad file refused")
    assert "not valid TOML" in server.output()
    assert server.get_json("/healthz")["collectors"]["cpu"]["runs"] > 0  # still serving
    assert server.stop() == 0
    assert "Traceback" not in server.output()


def test_the_agent_speaks_sd_notify_too(server_factory, redis_server, inbox):
    redis = redis_server()
    agent = server_factory(
        f'[queue]\nurl = "{redis.url}"\n[agent]\nhost = "alpha"\n', command="agent", start=False
    )
    agent.env = {"NOTIFY_SOCKET": str(inbox.path), "WATCHDOG_USEC": "1000000"}
    agent.start()
    ready = inbox.wait_for("READY")
    assert "READY=1" in ready and "STATUS=host alpha; " in ready and "MAINPID=" in ready
    inbox.wait_for_pings(4)
    status = wait_until(
        lambda: next((m for _t, m in inbox.messages if "queue: ok" in m), None), "queue: ok"
    )
    assert "collectors ok" in status
    assert agent.stop() == 0
    assert "STOPPING=1" in inbox.wait_for("STOPPING")
