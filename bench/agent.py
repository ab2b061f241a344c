"""Agent cost: ``dashboard agent`` at idle with the default collectors, sending to Redis.

A real redis-server and a real agent (default settings, its history file in a temporary
folder); after --settle seconds, the agent's CPU (% of one core, utime + stime of its process
tree) and RSS over --seconds. The agent runs on every watched host, so it must cost less than
``run`` (bench/idle.py).

    .venv/bin/python -m bench.agent [--seconds 60] [--settle 10]

Results: one line on stdout and bench/results/agent.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import CostMeter, make_server, save
from tests.serverproc import RedisProcess


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=10.0)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    redis = RedisProcess(folder).start()
    agent = make_server(folder, f'[queue]\nurl = "{redis.url}"\n', name="agent")
    agent.command = "agent"
    try:
        agent.start()
        time.sleep(args.settle)
        meter = CostMeter(agent.pid)
        time.sleep(args.seconds)
        cost = meter.read()
        entries = sum(redis.client().xlen(k) for k in redis.client().keys("dashboard:*:samples"))
    finally:
        agent.stop()
        redis.stop()
        shutil.rmtree(folder, ignore_errors=True)
    result = {**cost.as_dict(), "entries_in_redis": entries}
    print(f"agent: {cost.cpu_percent:.2f} % of one core, {cost.rss_mb:.0f} MB RSS over "
          f"{cost.seconds:g} s ({entries} entries sent)")  # fmt: skip
    print(f"saved {save('agent', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
