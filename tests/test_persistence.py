"""History across real server processes: SIGTERM flushes, SIGKILL loses at most one flush
interval, a reconnecting client's ``since`` bridges the restart, and a corrupt history file
degrades the server instead of stopping it."""

from __future__ import annotations

import random
import signal
import sqlite3
import time

import pytest

from tests.serverproc import ServerProcess
from tests.waits import wait_until

pytestmark = pytest.mark.server
CONFIG = """
[collectors.memory]
interval = 0.5
[history]
path = "h.sqlite3"
flush_interval = "{flush}"
"""


def memory_ts(server: ServerProcess, seconds: int = 600) -> list[float]:
    return server.get_json(f"/api/history/memory?seconds={seconds}")["ts"]


def wait_for_points(server: ServerProcess, count: int, timeout: float = 20) -> list[float]:
    def enough() -> list[float] | None:
        ts = memory_ts(server)
        return ts if len(ts) >= count else None

    return wait_until(enough, f"{count} memory points", timeout, 0.2)


@pytest.fixture
def restart():
    """Start a server again on its config, port and log; stopped (by PID) after the test."""
    started: list[ServerProcess] = []

    def again(server: ServerProcess) -> ServerProcess:
        started.append(ServerProcess(server.config, server.port, server.log))
        return started[-1].start()

    yield again
    for server in started:
        server.stop()


def file_rows(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COALESCE(SUM(count), 0) FROM chunks").fetchone()[0]


@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
def test_sigterm_flushes_and_the_next_start_backfills_across_the_restart(
    server_factory, restart, tmp_path, mode, sio_client
):
    server = server_factory(CONFIG.format(flush="5m"), async_mode=mode)  # only the stop writes
    before = wait_for_points(server, 6)
    assert file_rows(tmp_path / "h.sqlite3") == 0
    assert server.stop() == 0
    assert "Traceback" not in server.output()

    again = restart(server)
    after = memory_ts(again)
    assert after[: len(before)] == before  # every point from before the stop, at once
    sio = sio_client(again.url, ["/memory"])
    # What a page that saw the first point before the restart asks for on reconnect.
    reply = sio.call("subscribe", {"since": before[0]}, namespace="/memory", timeout=10)
    sio.disconnect()
    assert reply["ok"] and reply["history"]["ts"][: len(before) - 1] == before[1:]
    assert again.stop() == 0


def test_sigkill_loses_at_most_the_last_flush_interval(server_factory, restart, tmp_path):
    server = server_factory(CONFIG.format(flush="1s"), async_mode="eventlet")
    wait_for_points(server, 8)
    last_flush = server.get_json("/healthz")["history"]["last_flush"]
    seen = memory_ts(server)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)

    again = restart(server)
    kept = set(memory_ts(again))
    lost = [t for t in seen if t not in kept]
    assert all(t > last_flush - 1.0 for t in lost), (lost, last_flush)
    assert len(lost) <= 3  # one flush interval of 0.5 s samples, give or take the edges
    assert again.stop() == 0


def test_a_corrupt_history_file_degrades_but_the_stream_runs(server_factory, tmp_path):
    path = tmp_path / "h.sqlite3"
    garbage = b"definitely not a database " * 200
    path.write_bytes(garbage)
    server = server_factory(CONFIG.format(flush="1s"))
    health = server.get_json("/healthz")
    assert health["status"] == "degraded" and health["history"]["state"] == "degraded"
    assert "is corrupt" in health["history"]["error"] and ".bad" in health["history"]["error"]
    assert len(wait_for_points(server, 4)) >= 4  # live data keeps flowing, from memory
    assert path.read_bytes() == garbage
    assert server.stop() == 0
    assert server.output().count("is corrupt") == 1


def test_sigterm_at_random_moments_leaves_an_intact_file(server_factory, restart, tmp_path):
    """Stops that land during a write: every one exits 0 and the file checks out."""
    rng = random.Random(7)
    server = server_factory(CONFIG.format(flush="1s"), async_mode="eventlet")
    path = tmp_path / "h.sqlite3"
    for _ in range(5):
        time.sleep(rng.uniform(0.5, 2.5))  # the stop lands at a random moment: the point here
        assert server.stop() == 0
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        server = restart(server)
    ts = memory_ts(server)
    assert ts == sorted(ts) and len(ts) >= 10
    assert server.stop() == 0
