"""Outage: what a Redis outage costs a browser watching another host through a web process.

A real redis-server, one agent (default collectors) and one web process (eventlet, ``[queue]
url``); a websocket client follows the agent's /cpu. Redis is killed (SIGKILL: it comes back
empty, nothing saved) for --outage seconds, then started again. Measured: the samples the
client never got (the agent's history file is the truth), duplicates, and the time from
Redis being back until the client has every sample of the outage (catch-up).

    .venv/bin/python -m bench.outage [--outage 10] [--rounds 3]

Results: one line per round on stdout and bench/results/outage.json.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import socketio

from bench.common import make_server, save
from dashboard.history.tiers import History, Query
from dashboard.settings import HistorySettings
from tests.serverproc import RedisProcess


def sent(folder: Path, since: float) -> list[float]:
    history = History(HistorySettings(path=folder / "agent.sqlite3"))
    history.register("cpu", 1.0)
    history.open()
    ts = history.answer(Query("cpu", since, prefer_raw=True, max_points=100_000)).ts
    history.close()
    return ts


def wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} within {timeout} s")
        time.sleep(0.05)


def round_(outage: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-outage-"))
    redis = RedisProcess(folder).start()
    queue = f'[queue]\nurl = "{redis.url}"\n'
    own = '[agent]\nhost = "alpha"\n[history]\npath = "agent.sqlite3"\nflush_interval = "1s"\n'
    agent = make_server(folder, queue + own, name="agent")
    agent.command = "agent"
    web = make_server(folder, '[server]\nasync_mode = "eventlet"\n' + queue, name="web")
    seen: list[float] = []
    arrived: dict[float, float] = {}  # sample ts -> when the client got it
    client = socketio.Client(reconnection=False)

    def on_sample(sample: dict[str, Any]) -> None:
        seen.append(sample["ts"])
        arrived.setdefault(sample["ts"], time.time())

    try:
        agent.start()
        web.start()
        wait(lambda: any("cpu" in h["collectors"] for h in web.get_json("/api/hosts")), 30, "cpu")
        client.on("sample", on_sample, namespace="/cpu")
        client.connect(web.url, namespaces=["/cpu"], transports=["websocket"], wait_timeout=10)
        client.call("subscribe", {"host": "alpha"}, namespace="/cpu", timeout=10)
        wait(lambda: len(seen) >= 5, 20, "samples")
        began = seen[0]
        redis.stop(signal.SIGKILL)
        down = time.time()
        time.sleep(outage)
        redis.start()
        back = time.time()
        wait(lambda: seen and seen[-1] > back + 2, 60, "live samples after the outage")
        assert agent.stop() == 0
        truth = [t for t in sent(folder, began - 1) if t <= seen[-1]]
        missed = [t for t in truth if down - 1 <= t <= back]
        lost = sorted(set(truth) - set(seen))
        # The outage's samples come in one burst once Redis is back: when the last one came.
        caught_up = None
        if missed and not lost:
            caught_up = round(max(arrived[t] for t in missed) - back, 2)
        return {
            "outage_s": outage,
            "missed_during_outage": len(missed),
            "lost": len(lost),
            "duplicates": len(seen) - len(set(seen)),
            "caught_up_s": caught_up,
        }
    finally:
        client.disconnect()
        for process in (web, agent):
            process.stop()
        redis.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--outage", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rounds = []
    for _ in range(args.rounds):
        result = round_(args.outage)
        rounds.append(result)
        print(f"outage {args.outage:g} s: {result['missed_during_outage']} samples of it to "
              f"replay, lost {result['lost']}, duplicates {result['duplicates']}, caught up "
              f"{result['caught_up_s']} s after Redis was back", flush=True)  # fmt: skip
    caught = [r["caught_up_s"] for r in rounds if r["caught_up_s"] is not None]
    median = statistics.median(caught) if caught else None
    summary = {"rounds": rounds, "caught_up_median_s": median}
    print(f"saved {save('outage', summary)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
