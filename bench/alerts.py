"""Alerting's cost and speed, on a real server (eventlet) with a real webhook receiver.

- cost: 1,000 rule instances (one rule over a 1,000-series plugin) evaluated at 1 Hz: the
  server's CPU (% of one core) and the event loop's largest hold, with alerts off and on,
  alternating, a fresh server per run (medians over the pairs);
- latency: from the moment a threshold has been crossed for the rule's ``for`` to the
  webhook receiving the POST, one fresh alert instance per round.

    .venv/bin/python -m bench.alerts [--seconds 45] [--settle 20] [--pairs 3] [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import ROOT, CostMeter, make_server, percentile, save

PLUGINS = ROOT / "bench" / "plugins"
FOR = 2.0  # the latency rule's `for`, seconds
GROUP_WAIT = 2.0  # leading-edge grouping: a round's first notice goes at once anyway


class Receiver:
    """A webhook receiver on 127.0.0.1 that notes when each POST arrived."""

    def __init__(self) -> None:
        self.posts: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(204)
                self.end_headers()
                with receiver._lock:
                    receiver.posts.append((arrived, json.loads(body)))

            def log_message(self, *_args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/hook"

    def firing(self, series: str) -> float | None:
        """When the first POST naming ``series`` as firing arrived."""
        with self._lock:
            for arrived, body in self.posts:
                for alert in body.get("alerts", []):
                    if alert.get("series") == series and alert.get("kind") == "firing":
                        return arrived
        return None

    def stop(self) -> None:
        self.http.shutdown()


def settings(count: int, alerts: bool, value_file: Path, webhook: str, aggregate: str) -> str:
    return f"""
[server]
async_mode = "eventlet"
[plugins]
paths = ["{PLUGINS}"]
[collectors.many]
count = {count}
value_file = "{value_file}"
[alerts]
enabled = {"true" if alerts else "false"}
webhook = "{webhook}"
group_wait = "{GROUP_WAIT:g}s"
[[alerts.rule]]
name = "bench"
series = "many.*"
aggregate = "{aggregate}"
window = "10s"
warn = 90
for = "{FOR:g}s"
recover = "1m"
"""


def loop_holds(url: str) -> tuple[float, float]:
    """The event loop's largest hold since start, and in the last minute, from /metrics."""
    found = {}
    with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            name, _, value = line.partition(" ")
            if name in ("dashboard_event_loop_lag_max_seconds", "dashboard_event_loop_lag_seconds"):
                found[name] = float(value)
    nan = float("nan")
    return (found.get("dashboard_event_loop_lag_max_seconds", nan),
            found.get("dashboard_event_loop_lag_seconds", nan))  # fmt: skip


def cost(tmp: Path, alerts: bool, seconds: float, settle: float, run: int) -> dict[str, Any]:
    name = "on" if alerts else "off"
    body = settings(1000, alerts, tmp / "none", "", "avg")
    server = make_server(tmp, body, name=f"cost-{name}-{run}")
    server.start()
    try:
        time.sleep(settle)
        meter = CostMeter(server.pid)
        time.sleep(seconds)
        used = meter.read()
        hold, recent = loop_holds(server.url)  # first: the requests below hold it themselves
        health = server.get_json("/healthz")
        row = {
            "alerts": alerts,
            **used.as_dict(),
            "loop_hold_max_s": hold,  # since start (start-up and the first evaluation too)
            "loop_hold_last_minute_s": recent,  # steady state
            "instances": health.get("alerts", {}).get("instances"),
        }
    finally:
        server.stop()
    hold, recent = row["loop_hold_max_s"] * 1000, row["loop_hold_last_minute_s"] * 1000
    print(f"cost alerts {name}: {row['cpu_percent']:.2f} % of one core, loop hold max "
          f"{hold:.1f} ms since start, {recent:.1f} ms in the last minute, "
          f"instances {row['instances']}")  # fmt: skip
    return row


def latency(tmp: Path, rounds: int) -> dict[str, Any]:
    receiver = Receiver()
    values = tmp / "values.txt"
    values.write_text("")
    server = make_server(tmp, settings(rounds, True, values, receiver.url, "last"), name="latency")
    server.start()
    delays = []
    try:
        time.sleep(5)  # the first samples and evaluations
        for index in range(rounds):
            series = f"many.s{index:04d}"
            crossed = time.time()
            # This round's series crosses 90 at once; the earlier ones stay up, so no resolve
            # (and no group_wait it opens) comes between the rounds.
            values.write_text("".join(f"{i} 99\n" for i in range(index + 1)))
            deadline = crossed + FOR + 30
            while (arrived := receiver.firing(series)) is None and time.time() < deadline:
                time.sleep(0.02)
            if arrived is not None:
                delays.append(arrived - (crossed + FOR))
            time.sleep(GROUP_WAIT + 0.5)  # a quiet period, so the next round is a first notice
    finally:
        server.stop()
        receiver.stop()
    row = {
        "rounds": rounds,
        "received": len(delays),
        "p50_s": round(statistics.median(delays), 3) if delays else None,
        "p90_s": round(percentile(delays, 0.9), 3) if delays else None,
        "max_s": round(max(delays), 3) if delays else None,
        "for_s": FOR,
    }
    print(f"latency: p50 {row['p50_s']} s, p90 {row['p90_s']} s, max {row['max_s']} s "
          f"over {row['received']}/{rounds} rounds")  # fmt: skip
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45.0, help="cost: measuring window")
    parser.add_argument("--settle", type=float, default=20.0, help="cost: wait after start")
    parser.add_argument("--pairs", type=int, default=3, help="cost: off/on runs, alternating")
    parser.add_argument("--rounds", type=int, default=20, help="latency: alerts fired")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        rows = [cost(tmp, on, args.seconds, args.settle, run)
                for run in range(args.pairs) for on in (False, True)]  # fmt: skip
        result = {"cost": rows, "medians": medians(rows), "latency": latency(tmp, args.rounds),
                  "params": vars(args)}  # fmt: skip
    save("alerts", result)


def medians(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per setting (off, on): the median CPU and loop holds over its runs."""
    found = {}
    for on in (False, True):
        runs = [r for r in rows if r["alerts"] is on]
        found["on" if on else "off"] = {
            key: round(statistics.median(r[key] for r in runs), 4)
            for key in ("cpu_percent", "loop_hold_last_minute_s", "loop_hold_max_s")
        }
    return found


if __name__ == "__main__":
    main()
