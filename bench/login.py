"""Login throttle under attack: wrong tokens at N attempts a second from one address
(127.0.0.2), while a logged-in user (127.0.0.1) keeps asking for /api/collectors. Reports,
per attack rate, what the attempts got, the server's CPU and the user's request latency.

    .venv/bin/python -m bench.login [--rates 0,17,100,300] [--seconds 20] [--mode eventlet]

17 a second is the issue's "1,000 attempts a minute". Every attempt is a new connection
(as a script hammering a form makes them). Loopback only; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import CostMeter, make_server, percentile, save
from tests.logins import Browser

TOKEN = "bench-login-token-0123456789abcdef"
USER_EVERY = 0.1  # the user's request cadence, seconds


def attack(url: str, rate: float, seconds: float, codes: Counter[int]) -> float:
    """Wrong logins at ``rate`` a second for ``seconds`` (paced, one thread per 50/s);
    the rate achieved."""
    if rate <= 0:
        time.sleep(seconds)
        return 0.0
    workers = max(1, int(rate // 50) + 1)
    lock, sent = threading.Lock(), [0]

    def worker() -> None:
        attacker = Browser(url, source="127.0.0.2")
        csrf = attacker.csrf()
        start, gap, n = time.monotonic(), workers / rate, 0
        while (now := time.monotonic()) - start < seconds:
            wait = start + n * gap - now
            if wait > 0:
                time.sleep(wait)
            status = attacker.login(f"guess-{n}", csrf).status
            with lock:
                codes[status] += 1
                sent[0] += 1
            n += 1

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent[0] / (time.monotonic() - started)


def user_latencies(url: str, stop: threading.Event, out: list[float], failures: list[int]) -> None:
    user = Browser(url)
    assert user.login(TOKEN).status == 302
    while not stop.is_set():
        started = time.monotonic()
        status = user.request("GET", "/api/collectors").status
        out.append(1000 * (time.monotonic() - started))
        if status != 200:
            failures.append(status)
        stop.wait(USER_EVERY)


def step(url: str, pid: int, rate: float, seconds: float) -> dict[str, Any]:
    codes: Counter[int] = Counter()
    latencies: list[float] = []
    failures: list[int] = []
    stop = threading.Event()
    user = threading.Thread(target=user_latencies, args=(url, stop, latencies, failures))
    user.start()
    meter = CostMeter(pid)
    achieved = attack(url, rate, seconds, codes)
    cost = meter.read()
    stop.set()
    user.join()
    return {
        "rate_asked": rate,
        "rate_achieved": round(achieved, 1),
        "attempts": dict(sorted(codes.items())),
        "server_cpu_percent": round(cost.cpu_percent, 1),
        "user_requests": len(latencies),
        "user_failures": len(failures),
        "user_p50_ms": round(percentile(latencies, 0.5), 1),
        "user_p99_ms": round(percentile(latencies, 0.99), 1),
        "user_max_ms": round(max(latencies, default=float("nan")), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="0,17,100,300", help="attempts a second, each step")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each step")
    parser.add_argument("--mode", default="eventlet", help="the server's async_mode")
    args = parser.parse_args()
    rows = []
    for rate in [float(r) for r in args.rates.split(",")]:
        # A fresh server per step: the throttle's minute starts clean each time.
        with tempfile.TemporaryDirectory() as tmp:
            settings = f'[auth]\ntoken = "{TOKEN}"\n[history]\npath = ""\n'
            server = make_server(Path(tmp), settings, args.mode).start()
            try:
                rows.append(step(server.url, server.pid, rate, args.seconds))
            finally:
                server.stop()
        print(rows[-1], flush=True)
    path = save("login", {"mode": args.mode, "seconds": args.seconds, "steps": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
