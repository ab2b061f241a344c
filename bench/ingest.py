"""Ingest: many hosts' samples through Redis into one web process, delay to a client.

A load process publishes like agents do (each host at its own moment of the second, one
round trip a host), for N simulated hosts at 1 Hz with the default
collectors' series (cpu 7, memory 5, load 3, disk 8, network 12, processes 2 every 2 s,
filesystem 9 every 10 s: about 40 values a host a second), into a real redis-server. One
web process (eventlet, ``[queue] url``) reads them all and keeps their history; websocket
clients follow /cpu of every --watch-th host (a client per host: a namespace follows one host;
fewer clients keep the measuring process from being the bottleneck). For --seconds: the delay
from a sample's timestamp to a client (p50/p99), samples lost (the clients' seq gaps), the web
process's CPU and RSS, and Redis's memory. Steps: N = --steps, stopping after the first step
whose p99 exceeds 100 ms or that loses samples.

    .venv/bin/python -m bench.ingest [--steps 100,200,300] [--seconds 30]

Results: one line per step on stdout and bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import socketio

from bench.common import CostMeter, make_server, percentile, save
from tests.fleetsim import COLLECTORS, host_name, publish
from tests.serverproc import RedisProcess

P99_LIMIT_MS = 100.0
SETTLE = 5.0


class Watcher:
    """Websocket clients following /cpu of every ``every``-th host, one client a host."""

    def __init__(self, url: str, hosts: int, every: int) -> None:
        self.delays: list[float] = []
        self.seqs: dict[str, list[int]] = {}
        self.measuring = False
        self.clients = []
        for i in range(0, hosts, every):
            client = socketio.Client(reconnection=False)
            client.on("sample", self._sample, namespace="/cpu")
            client.connect(url, namespaces=["/cpu"], transports=["websocket"], wait_timeout=20)
            ack = client.call("subscribe", {"host": host_name(i)}, namespace="/cpu", timeout=20)
            if not ack.get("ok"):
                raise RuntimeError(f"subscribe {host_name(i)}: {ack}")
            self.clients.append(client)

    def _sample(self, sample: dict[str, Any]) -> None:
        if self.measuring:
            self.delays.append(time.time() - sample["ts"])
            self.seqs.setdefault(sample["host"], []).append(sample["seq"])

    def lost(self) -> int:
        missing = 0
        for seqs in self.seqs.values():
            missing += (max(seqs) - min(seqs) + 1) - len(set(seqs))
        return missing

    def close(self) -> None:
        for client in self.clients:
            client.disconnect()


def wait_hosts(url: str, hosts: int, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/hosts", timeout=5) as resp:
                known = json.load(resp)
            if sum("cpu" in h["collectors"] for h in known) >= hosts:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the web process did not see {hosts} hosts in {timeout} s")


def run_step(hosts: int, seconds: float, every: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    redis_server = RedisProcess(folder).start()
    ctx = mp.get_context("spawn")
    stop, sent = ctx.Event(), ctx.Value("i", 0)
    loader = ctx.Process(target=publish, args=(redis_server.url, hosts, stop, sent), daemon=True)
    loader.start()
    web = make_server(
        folder, f'[server]\nasync_mode = "eventlet"\n[queue]\nurl = "{redis_server.url}"\n'
    )
    watcher = None
    try:
        web.start()
        wait_hosts(web.url, hosts)
        watcher = Watcher(web.url, hosts, every)
        time.sleep(SETTLE)
        meter = CostMeter(web.pid)
        watcher.measuring = True
        time.sleep(seconds)
        watcher.measuring = False
        cost = meter.read()
        memory = redis_server.client().info("memory")["used_memory"]
        delays = sorted(watcher.delays)
        return {
            "hosts": hosts,
            "watched": len(watcher.clients),
            "values_per_s": round(sum(len(n) / i for i, n in COLLECTORS.values()) * hosts),
            "samples": len(delays),
            "p50_ms": round(1000 * percentile(delays, 0.50), 1),
            "p99_ms": round(1000 * percentile(delays, 0.99), 1),
            "lost": watcher.lost(),
            "web_cpu_percent": round(cost.cpu_percent, 1),
            "web_rss_mb": round(cost.rss_mb, 1),
            "redis_mb": round(memory / 2**20, 1),
        }
    finally:
        if watcher is not None:
            watcher.close()
        stop.set()
        loader.join(10)
        web.stop()
        redis_server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", default="100,200,300")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--watch", type=int, default=10, help="follow every Nth host")
    args = parser.parse_args(argv)
    steps = []
    for hosts in (int(n) for n in args.steps.split(",")):
        step = run_step(hosts, args.seconds, args.watch)
        steps.append(step)
        print(f"ingest: {hosts} hosts ({step['values_per_s']} values/s): delay p50 "
              f"{step['p50_ms']} p99 {step['p99_ms']} ms, lost {step['lost']}, web "
              f"{step['web_cpu_percent']} % CPU {step['web_rss_mb']} MB, redis "
              f"{step['redis_mb']} MB", flush=True)  # fmt: skip
        if step["p99_ms"] > P99_LIMIT_MS or step["lost"]:
            break
    print(f"saved {save('ingest', {'seconds': args.seconds, 'steps': steps})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
