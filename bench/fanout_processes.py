"""Fan-out across web processes: one versus two, on one port, fed through Redis.

A real redis-server, one agent (default collectors) and N web processes (eventlet,
``[queue] url``, ``[server] reuse_port = true``) listening on one shared port: the kernel
spreads new connections over them (SO_REUSEPORT). The load generator of bench/fanout.py
then ramps clients subscribed to /cpu (the agent's host) and measures the delay from the
sample's timestamp, lost samples and CPU, for N = 1 and N = 2.

    .venv/bin/python -m bench.fanout_processes [--steps 1000,1500,2000,2500] [--seconds 20]

Results: one line per step on stdout and bench/results/fanout_processes.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import free_port, make_server, save
from bench.fanout import (
    LOAD_LIMITS,
    StepError,
    describe,
    parse_args,
    plan,
    run_step,
    verdict,
    wait_idle,
)
from tests.serverproc import RedisProcess, ServerProcess


class Cluster:
    """The agent and N web processes sharing one port; looks like a ServerProcess to
    bench/fanout.py (its URL reaches whichever process the kernel picks)."""

    def __init__(self, folder: Path, processes: int) -> None:
        self.redis = RedisProcess(folder).start()
        queue = f'[queue]\nurl = "{self.redis.url}"\n'
        self.agent = make_server(folder, queue, name="agent")
        self.agent.command = "agent"
        self.agent.start()
        port = free_port()
        self.webs: list[ServerProcess] = []
        for i in range(processes):
            body = f'[server]\nasync_mode = "eventlet"\nreuse_port = true\n{LOAD_LIMITS}{queue}'
            web = make_server(folder, body, port=port, name=f"web{i}")
            self.webs.append(web.start())
        self.url = self.webs[0].url
        self.pids = [web.pid for web in self.webs]

    def get_json(self, path: str) -> Any:
        return self.webs[0].get_json(path)

    def ready(self, timeout: float = 60) -> None:
        """Until every web process has the agent's /cpu (each answers in turn)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hosts = self.get_json("/api/hosts")
            if hosts and "cpu" in hosts[0]["collectors"]:
                time.sleep(3)  # the other process too, within the same few seconds
                return
            time.sleep(0.5)
        raise RuntimeError("the web processes never saw the agent's /cpu")

    def stop(self) -> None:
        for process in (*self.webs, self.agent):
            process.stop()
        self.redis.stop()


def ramp(processes: int, args: argparse.Namespace, record: list[dict[str, Any]]) -> None:
    label = f"{processes} proc"
    with tempfile.TemporaryDirectory(prefix="fanout-processes-") as tmp:
        cluster = Cluster(Path(tmp), processes)
        try:
            cluster.ready()
            for clients in plan(args.steps, args.max):
                try:
                    step = run_step(cluster, label, clients, args)
                    step["stop"] = verdict(step)
                except StepError as exc:
                    step = {"mode": label, "clients": clients, "error": str(exc), "stop": "error"}
                step["processes"] = processes
                record.append(step)
                print(describe(step), flush=True)
                if step["stop"]:
                    break
                wait_idle(cluster)
        finally:
            cluster.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args([*(argv or sys.argv[1:]), "--modes", "eventlet"])
    if args.name == "fanout":
        args.name = "fanout_processes"
    record: list[dict[str, Any]] = []
    for processes in (1, 2):
        ramp(processes, args, record)
        save(args.name, {"steps": record})
    print(f"saved {save(args.name, {'steps': record})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
