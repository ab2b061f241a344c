"""Fan-out: N Socket.IO clients subscribed to /cpu at 1 Hz, stepped up until it breaks.

For each async mode a real server (default settings: every built-in collector on) is started
on a free loopback port. For each step N, W worker processes (bench/loadgen.py, one asyncio
loop of lean raw-websocket clients each) connect N clients in batches and subscribe them all
to /cpu; then for --seconds every sample's delay (receive time - sample ts), samples lost
(per client, against every seq the server sent in the window), server CPU and load-generator
CPU (% of one core) are measured. A mode stops after the first step where p99 > 100 ms,
anything is lost, or a client fails to connect or is dropped (that step is recorded too).
A worker stops connecting after its first batch with a failure (eventlet's WSGI server
accepts at most 1,024 connections, then hangs new ones), so a refused step ends in about
--connect-timeout seconds; its "connected" says how far it got.

    .venv/bin/python bench/fanout.py [--modes eventlet,gevent,threading]
        [--steps 100,500,1000,2000] [--max 3000] [--seconds 20] [--workers 2] [--batch 50]

Results: one line per step on stdout and bench/results/<--name, default fanout>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import CostMeter, make_server, percentile, save
from bench.loadgen import WorkerSpec, unpack, worker_main

NAMESPACE = "/cpu"
P99_LIMIT_MS = 100.0
SETTLE = 3.0  # seconds between "all subscribed" and the window: the connect tail dies down
GRACE = 3.0  # a sample of the window arriving later than this after it is counted as lost
IDLE_TIMEOUT = 20.0  # seconds for the server to forget the last step's clients
CLK_TCK = os.sysconf("SC_CLK_TCK")


class StepError(Exception):
    """A step could not be measured at all (a worker died or never answered)."""


class Fleet:
    """The load generator: worker processes sharing the clients; each is ended by its PID."""

    def __init__(self, url: str, clients: int, workers: int, batch: int, timeout: float) -> None:
        ctx = mp.get_context("spawn")  # a clean interpreter: no inherited sockets or threads
        self.procs: list[mp.process.BaseProcess] = []
        self.conns: list[Connection] = []
        for count in split(clients, workers):
            ours, theirs = ctx.Pipe()
            spec = WorkerSpec(url, NAMESPACE, count, batch, timeout)
            proc = ctx.Process(target=worker_main, args=(theirs, spec), daemon=True)
            proc.start()
            theirs.close()
            self.procs.append(proc)
            self.conns.append(ours)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def send(self, message: tuple) -> None:
        for conn in self.conns:
            conn.send(message)

    def gather(self, kind: str, timeout: float) -> list[dict[str, Any]]:
        """One ``kind`` message from every worker, all within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        replies = []
        for proc, conn in zip(self.procs, self.conns, strict=True):
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise StepError(f"worker {proc.pid}: no {kind!r} within {timeout:.0f} s")
            try:
                got, body = conn.recv()
            except (EOFError, OSError) as exc:
                raise StepError(f"worker {proc.pid} died (exit {proc.exitcode})") from exc
            if got != kind:
                raise StepError(f"worker {proc.pid}: expected {kind!r}, got {got!r}")
            replies.append(body)
        return replies

    def stop(self) -> None:
        """Ask every worker to close its clients; terminate, then kill, those that linger."""
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(("close",))
        deadline = time.monotonic() + 20
        for proc in self.procs:
            proc.join(max(0.1, deadline - time.monotonic()))
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for conn in self.conns:
            conn.close()


def split(total: int, parts: int) -> list[int]:
    """``total`` clients over at most ``parts`` workers, as evenly as possible, none empty."""
    parts = max(1, min(parts, total))
    return [total // parts + (i < total % parts) for i in range(parts)]


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user/nice
    return (total - idle) / CLK_TCK, total / CLK_TCK


def sleep_until(instant: float) -> None:
    time.sleep(max(0.0, instant - time.time()))


def meter_window(server_pids: list[int], worker_pids: list[int], t0: float, t1: float) -> dict:
    """CPU (% of one core) of the server(s), the load generator and the machine over [t0, t1)."""
    sleep_until(t0)
    servers = [CostMeter(pid) for pid in server_pids]
    workers = [CostMeter(pid) for pid in worker_pids]
    busy0, all0 = machine_cpu()
    sleep_until(t1)
    busy1, all1 = machine_cpu()
    costs = [server.read() for server in servers]
    cores = os.cpu_count() or 1
    return {
        "server_cpu": round(sum(c.cpu_percent for c in costs), 1),
        "server_rss_mb": round(sum(c.rss_mb for c in costs), 1),
        "loadgen_cpu": round(sum(w.read().cpu_percent for w in workers), 1),
        # Everything on the box (incl. other work sharing it), in the same % of one core.
        "machine_cpu": round(100 * cores * (busy1 - busy0) / max(all1 - all0, 1e-9), 1),
    }


def history_count(server: Any, t0: float, t1: float) -> int | None:
    """How many /cpu samples the server recorded with t0 <= ts < t1 (None if it won't say)."""
    seconds = time.time() - t0 + 5
    try:
        with urllib.request.urlopen(
            f"{server.url}/api/history/cpu?seconds={seconds:.0f}", timeout=10
        ) as resp:
            stamps = json.load(resp)["ts"]
    except (OSError, ValueError, KeyError):
        return None
    return sum(t0 <= ts < t1 for ts in stamps)


def loss(results: list[dict[str, Any]], expected_hist: int | None) -> dict[str, int]:
    """Samples lost: every connected client should have every seq the server sent in the window.

    The expected set is the seq range seen by any client, widened to the server's own count
    of samples in the window (in case every client missed the first or last one).
    """
    arrivals: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, res in enumerate(results):
        for idx, seq in zip(res["client"], res["seq"], strict=True):
            arrivals[(k, idx)].append(seq)
    seen = [s for seqs in arrivals.values() for s in seqs]
    span = max(seen) - min(seen) + 1 if seen else 0
    expected = max(span, expected_hist or 0)
    clients = sum(res["clients"] for res in results)
    received = sum(len(set(seqs)) for seqs in arrivals.values())
    gaps = sum(b != a + 1 for seqs in arrivals.values() for a, b in itertools.pairwise(seqs))
    return {"expected_per_client": expected, "lost": clients * expected - received,
            "seq_breaks": gaps, "samples": len(seen)}  # fmt: skip


def delays(results: list[dict[str, Any]]) -> dict[str, float]:
    """Delay percentiles (ms), the spread of one sample across clients, and the clients' lag."""
    ms = [d * 1000 for res in results for d in res["delay"]]
    by_seq: dict[int, list[float]] = defaultdict(list)
    for res in results:
        for seq, d in zip(res["seq"], res["delay"], strict=True):
            by_seq[seq].append(d * 1000)
    # Spread: first to last client getting the same sample, i.e. how long one fan-out takes.
    spread = [max(v) - min(v) for v in by_seq.values()]
    lags = [lag * 1000 for res in results for lag in res["lags"]]
    return {
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "max_ms": round(max(ms, default=float("nan")), 1),
        "spread_p50_ms": round(percentile(spread, 0.50), 1),
        "loadgen_lag_p99_ms": round(percentile(lags, 0.99), 1),
        "loadgen_lag_max_ms": round(max(lags, default=float("nan")), 1),
    }


def verdict(step: dict[str, Any]) -> str:
    """Why this step ends the ramp ("" if it does not)."""
    reasons = []
    if step["connected"] < step["clients"]:
        reasons.append(f"{step['clients'] - step['connected']} failed to connect")
    if step.get("dropped"):
        reasons.append(f"{step['dropped']} dropped")
    if step.get("lost"):
        reasons.append(f"{step['lost']} lost")
    if not step.get("p99_ms", 0) <= P99_LIMIT_MS:  # NaN (nothing received) fails too
        reasons.append(f"p99 {step.get('p99_ms')} ms > {P99_LIMIT_MS:.0f}")
    return ", ".join(reasons)


def run_step(server: Any, mode: str, clients: int, args: argparse.Namespace) -> dict:
    """Connect ``clients``, measure one window, disconnect them all. ``server`` is a
    ServerProcess, or anything with its ``url``, ``pids`` and ``get_json`` (several web
    processes on one port: bench/fanout_processes.py)."""
    pids = getattr(server, "pids", None) or [server.pid]
    fleet = Fleet(server.url, clients, args.workers, args.batch, args.connect_timeout)
    try:
        ready = fleet.gather("ready", timeout=60 + clients / 10)
        t0 = time.time() + SETTLE
        t1 = t0 + args.seconds
        fleet.send(("measure", t0, t1, GRACE))
        costs = meter_window(pids, fleet.pids, t0, t1)
        results = [unpack(r) for r in fleet.gather("result", timeout=GRACE + 30)]
    finally:
        fleet.stop()
    # Asked once the clients are gone: eventlet serves no HTTP at all while 1,024 are connected.
    expected = history_count(server, t0, t1)
    errors: dict[str, int] = {}
    for r in ready:
        for text, count in r["errors"].items():
            errors[text] = errors.get(text, 0) + count
    return {
        "mode": mode,
        "clients": clients,
        "connected": sum(r["connected"] for r in ready),
        "connect_s": round(max(r["connect_s"] for r in ready), 1),
        "connect_errors": errors,
        "dropped": sum(r["dropped"] for r in results),
        **loss(results, expected),
        **delays(results),
        **costs,
    }


def wait_idle(server: Any) -> None:
    """Until the server has forgotten every client of the last step (or IDLE_TIMEOUT)."""
    deadline = time.monotonic() + IDLE_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if server.get_json("/healthz").get("clients") == 0:
                break
        time.sleep(0.5)
    time.sleep(2)  # and let its CPU settle


def describe(step: dict[str, Any]) -> str:
    if "error" in step:
        return f"{step['mode']:9} N={step['clients']:5}  ERROR {step['error']}"
    return (
        f"{step['mode']:9} N={step['clients']:5}  conn {step['connected']}/{step['clients']} "
        f"in {step['connect_s']:.1f}s  p50 {step['p50_ms']:.1f} p99 {step['p99_ms']:.1f} "
        f"max {step['max_ms']:.1f} ms  spread {step['spread_p50_ms']:.1f} ms  "
        f"lost {step['lost']}  samples {step['samples']}  "
        f"server {step['server_cpu']:.0f}%  loadgen {step['loadgen_cpu']:.0f}% "
        f"(lag p99 {step['loadgen_lag_p99_ms']:.1f} ms)  machine {step['machine_cpu']:.0f}%"
        + (f"  STOP: {step['stop']}" if step["stop"] else "")
    )


# Thousands of clients from one address: the per-address cap is for the real world.
LOAD_LIMITS = "max_connections_per_address = 0\nmax_connections = 20000\n"


def run_mode(mode: str, args: argparse.Namespace, record: list[dict]) -> None:
    """One server for the whole ramp of ``mode``; stopped (by PID) whatever happens."""
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        server = make_server(Path(tmp), settings=LOAD_LIMITS, async_mode=mode).start()
        try:
            time.sleep(3)  # past start-up: the first samples, imports, gc.freeze()
            for clients in plan(args.steps, args.max):
                try:
                    step = run_step(server, mode, clients, args)
                    step["stop"] = verdict(step)
                except StepError as exc:
                    step = {"mode": mode, "clients": clients, "error": str(exc), "stop": "error"}
                record.append(step)
                print(describe(step), flush=True)
                if step["stop"]:
                    break
                wait_idle(server)
        finally:
            server.stop()
            if server.proc is not None and server.proc.returncode not in (0, None):
                print(f"{mode}: server exited {server.proc.returncode}:\n{server.output()[-2000:]}")


def plan(steps: list[int], maximum: int) -> list[int]:
    """The given steps up to ``maximum``, then on by 1,000 up to it."""
    chosen = [n for n in steps if n <= maximum]
    nxt = (chosen[-1] // 1000 + 1) * 1000 if chosen else maximum
    while nxt <= maximum:
        chosen.append(nxt)
        nxt += 1000
    return chosen


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--modes", default="eventlet,gevent,threading",
                        type=lambda s: [m for m in s.split(",") if m])  # fmt: skip
    parser.add_argument("--steps", default="100,500,1000,2000",
                        type=lambda s: sorted(int(n) for n in s.split(",") if n))  # fmt: skip
    parser.add_argument("--max", type=int, default=3000, help="largest N (default 3000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes")
    parser.add_argument("--batch", type=int, default=50, help="clients connecting at once")
    parser.add_argument("--connect-timeout", type=float, default=15.0)
    parser.add_argument("--name", default="fanout", help="bench/results/<name>.json")
    args = parser.parse_args(argv)
    bad = set(args.modes) - {"eventlet", "gevent", "threading"}
    if bad:
        parser.error(f"unknown mode(s): {', '.join(sorted(bad))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    record: list[dict] = []
    params = {
        "modes": args.modes, "steps": plan(args.steps, args.max), "seconds": args.seconds,
        "workers": args.workers, "batch": args.batch, "namespace": NAMESPACE,
        "settings": "defaults (all built-in collectors enabled)", "p99_limit_ms": P99_LIMIT_MS,
        "client": "raw aiohttp websocket, Engine.IO v4 / Socket.IO v5 text framing",
        "cpus": os.cpu_count(), "python": platform.python_version(),
    }  # fmt: skip
    try:
        for mode in args.modes:
            run_mode(mode, args, record)
            save(args.name, {"steps": record, "params": params})  # partial results survive
    finally:
        path = save(args.name, {"steps": record, "params": params})
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
