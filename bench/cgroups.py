"""The cgroups collector's cost per run with 50, 200 and 1,000 groups.

A cgroup v2 tree of N services (each with the counter files the kernel gives: cpu.stat,
memory.current, memory.stat, memory.max, io.stat, pids.current) is written to a temporary
folder, then the real collector reads it: the first run (listing and naming included) and
the median and maximum of the next ``--runs``, each run after the counters moved on, on the
page cache as a live tree would be (sysfs files are in memory too).

    .venv/bin/python -m bench.cgroups [--groups 50,200,1000] [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import save
from collectors.cgroups.collector import CgroupsCollector

GOAL_MS = 5.0  # at 200 groups


def write_tree(root: Path, groups: int, tick: int) -> None:
    (root / "cgroup.controllers").write_text("cpu io memory pids\n")
    for i in range(groups):
        folder = root / "system.slice" / f"svc{i}.service"
        folder.mkdir(parents=True, exist_ok=True)
        files = {
            "cpu.stat": f"usage_usec {1000 * tick * (i + 1)}\nuser_usec 0\nsystem_usec 0\n",
            "memory.current": f"{2**20 * (i + 1)}\n",
            "memory.stat": "anon 1048576\nfile 0\ninactive_file 4096\n",
            "memory.max": "max\n",
            "io.stat": f"8:0 rbytes={512 * tick} wbytes={1024 * tick} rios=1 wios=1\n",
            "pids.current": "3\n",
        }
        for name, text in files.items():
            (folder / name).write_text(text)


def measure(groups: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tree(root, groups, 1)
        collector = CgroupsCollector()
        collector.setup({"root": str(root), "max_groups": 200, "docker_socket": "",
                         "podman_socket": ""})  # fmt: skip
        started = time.perf_counter()
        collector.collect()
        first = time.perf_counter() - started
        times = []
        for tick in range(2, runs + 2):
            write_tree(root, groups, tick)
            started = time.perf_counter()
            sample = collector.collect()
            times.append(time.perf_counter() - started)
        return {
            "groups": groups,
            "series": len(sample.values),
            "rows": len(sample.rows or []),
            "first_ms": round(1000 * first, 2),
            "median_ms": round(1000 * statistics.median(times), 2),
            "max_ms": round(1000 * max(times), 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default="50,200,1000")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    results = [measure(int(n), args.runs) for n in args.groups.split(",")]
    for r in results:
        print(f"{r['groups']:5d} groups: first run {r['first_ms']:.2f} ms, then median "
              f"{r['median_ms']:.2f} ms (max {r['max_ms']:.2f}) over {args.runs} runs; "
              f"{r['series']} series, {r['rows']} rows")  # fmt: skip
    saved = save("cgroups", {"runs": args.runs, "goal_ms_at_200": GOAL_MS, "results": results})
    print(f"saved {saved}")


if __name__ == "__main__":
    main()
