"""Shared pieces of the benchmarks: start servers, read a process tree's CPU and memory from
/proc, count bytes on the wire with a loopback proxy, and save results as JSON.

Benchmarks report figures; they never pass or fail. Everything talks to 127.0.0.1 only and
every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_VENV = ROOT / ".venv-bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

sys.path.insert(0, str(ROOT))
from tests.serverproc import ServerProcess, free_port, make_server  # noqa: E402

__all__ = ["ServerProcess", "free_port", "make_server"]


def children(pid: int) -> list[int]:
    """``pid`` and all its descendants, from the ppid field of /proc/*/stat."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(_stat_fields(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (field 3 onwards)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in children(pid):
        try:
            fields = _stat_fields(member)
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
    return total


def tree_rss_mb(pid: int) -> float:
    total = 0
    for member in children(pid):
        try:
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * PAGE_SIZE
        except OSError:
            continue
    return total / 2**20


@dataclass
class Cost:
    """CPU as % of one core and RSS (MB) of a process tree over a measured interval."""

    cpu_percent: float
    rss_mb: float
    seconds: float

    def as_dict(self) -> dict[str, float]:
        return {"cpu_percent": round(self.cpu_percent, 3), "rss_mb": round(self.rss_mb, 1),
                "seconds": self.seconds}  # fmt: skip


class CostMeter:
    """Start/stop CPU accounting for a process tree."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._cpu = tree_cpu_seconds(pid)
        self._at = time.monotonic()

    def read(self) -> Cost:
        elapsed = time.monotonic() - self._at
        used = tree_cpu_seconds(self.pid) - self._cpu
        return Cost(100 * used / elapsed, tree_rss_mb(self.pid), round(elapsed, 1))


def measure(pid: int, seconds: float) -> Cost:
    meter = CostMeter(pid)
    time.sleep(seconds)
    return meter.read()


class ByteCountingProxy:
    """A loopback TCP proxy that counts the bytes it forwards in each direction."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.to_server = 0
        self.to_client = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(5)

    def reset(self) -> None:
        self.to_server = self.to_client = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        # Kept referenced for the loop's lifetime; the daemon thread ends with the process.
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(reader, up_writer, "to_server"),
                             self._pipe(up_reader, writer, "to_client"))  # fmt: skip

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    counter: str) -> None:  # fmt: skip
        try:
            while data := await reader.read(65536):
                setattr(self, counter, getattr(self, counter) + len(data))
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


@dataclass
class Glances:
    """Glances in web mode (from the bench venv), on a free loopback port."""

    port: int
    proc: subprocess.Popen

    @classmethod
    def start(cls) -> Glances | None:
        exe = BENCH_VENV / "bin" / "glances"
        if not exe.is_file():
            return None
        port = free_port()
        cmd = [str(exe), "-w", "--disable-webui", "-B", "127.0.0.1", "-p", str(port),
               "--disable-autodiscover", "--disable-check-update", "-q"]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        glances = cls(port, proc)
        glances.wait_ready()
        return glances

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/4/status", timeout=2).read()
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("glances did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def netdata_installed() -> bool:
    return shutil.which("netdata") is not None


def save(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    result = {"measured_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"), **result}
    path.write_text(json.dumps(result, indent=2))
    return path


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def window_args(doc: str) -> argparse.Namespace:
    """Command-line options shared by the ours-beside-Glances benchmarks."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measuring window")
    parser.add_argument("--settle", type=float, default=10.0, help="wait after start-up")
    parser.add_argument("--mode", default="eventlet", help="our server's async_mode")
    return parser.parse_args()


@contextlib.contextmanager
def settled_dashboard(mode: str, settle: float, settings: str = "") -> Iterator[ServerProcess]:
    """Our server with default collectors (and ``settings``), given ``settle`` seconds after
    start-up."""
    with tempfile.TemporaryDirectory() as tmp:
        server = make_server(Path(tmp), settings=settings, async_mode=mode).start()
        try:
            time.sleep(settle)
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def settled_glances(settle: float) -> Iterator[Glances | None]:
    """Glances in web mode after ``settle`` seconds (None where it is not installed)."""
    peer = Glances.start()
    if peer is None:
        yield None
        return
    try:
        time.sleep(settle)
        yield peer
    finally:
        peer.stop()
