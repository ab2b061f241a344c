"""Run every benchmark one after another, then write docs/benchmarks.md and the charts.

    .venv/bin/python -m bench.run_all            # full run (~80 min), as published
    .venv/bin/python -m bench.run_all --quick    # short windows, for trying it out
    .venv/bin/python -m bench.run_all --render   # only re-render from bench/results/*.json

Benchmarks run alone on purpose: anything else on the machine shows up in the figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.common import RESULTS, ROOT
from bench.report import render

FULL = {
    "idle": ["--seconds", "60", "--settle", "10"],
    "watch": ["--seconds", "60", "--settle", "10"],
    "fanout": ["--seconds", "20"],
    "history": ["--record", "300"],
    # Before and after issue 14's page work (ac412c2: the page as it was), then a 30-minute soak.
    "page": ["--minutes", "30", "--busy-seconds", "60", "--baseline", "ac412c2"],
    "alerts": ["--seconds", "45", "--settle", "20", "--pairs", "3", "--rounds", "20"],
    "snapshots": ["--record", "600"],  # one whole 10-minute block of real scans
    "cgroups": ["--runs", "30"],
}
QUICK = {
    "idle": ["--seconds", "15", "--settle", "5"],
    "watch": ["--seconds", "15", "--settle", "5"],
    "fanout": ["--seconds", "8", "--steps", "100,500", "--max", "500"],
    "history": ["--quick"],
    "page": ["--minutes", "1", "--busy-seconds", "15"],
    "alerts": ["--seconds", "15", "--settle", "5", "--pairs", "1", "--rounds", "5"],
    "snapshots": ["--quick"],
    "cgroups": ["--groups", "50,200", "--runs", "10"],
}


def run(name: str, args: list[str]) -> float:
    started = time.monotonic()
    print(f"== bench/{name}.py {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", f"bench.{name}", *args], cwd=ROOT, check=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--render", action="store_true", help="only re-render the report")
    parser.add_argument("--only", help="comma-separated subset of " + ",".join(FULL))
    args = parser.parse_args()
    if not args.render:
        plan = QUICK if args.quick else FULL
        wanted = args.only.split(",") if args.only else list(plan)
        for name in wanted:
            took = run(name, plan[name])
            print(f"   took {took:.0f} s", flush=True)
    print(f"wrote {render(RESULTS, ROOT / 'docs')}")


if __name__ == "__main__":
    main()
