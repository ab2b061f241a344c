"""Delay from a sample's timestamp to its arrival at one websocket client, and idle cost.

Starts a real server (default settings, chosen async mode) on a free loopback port, measures
the server's CPU % of one core and RSS with no client for --idle seconds, then subscribes one
client to every namespace for --seconds and reports delay percentiles (receive time - ts).

    .venv/bin/python bench/delay.py [--mode eventlet] [--idle 30] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.serverproc import make_server

NAMESPACES = ["/cpu", "/memory", "/load", "/disk", "/filesystem", "/network", "/processes",
              "/sensors"]  # fmt: skip


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = make_server(Path(tmp), async_mode=args.mode).start()
        try:
            report(server, args)
        finally:
            server.stop()


def report(server, args) -> None:
    pid = server.proc.pid
    time.sleep(5)  # let start-up settle
    before = cpu_seconds(pid)
    time.sleep(args.idle)
    idle_cpu = 100 * (cpu_seconds(pid) - before) / args.idle
    print(f"idle ({args.mode}): {idle_cpu:.2f} % of one core, RSS {rss_mb(pid):.1f} MB")
    delays: list[float] = []
    sio = socketio.Client(reconnection=False)
    for ns in NAMESPACES:
        sio.on("sample", lambda s: delays.append(time.time() - s["ts"]), namespace=ns)
    sio.connect(server.url, namespaces=NAMESPACES, transports=["websocket"])
    for ns in NAMESPACES:
        sio.call("subscribe", {}, namespace=ns)
    before = cpu_seconds(pid)
    time.sleep(args.seconds)
    watched_cpu = 100 * (cpu_seconds(pid) - before) / args.seconds
    sio.disconnect()
    ms = [d * 1000 for d in delays]
    print(f"one client on every namespace: {watched_cpu:.2f} % of one core; "
          f"{len(ms)} samples, delay p50 {statistics.median(ms):.1f} ms, "
          f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
