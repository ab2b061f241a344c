"""The cgroups collector's cost per run with 50, 200 and 1,000 groups, beside the other
built-in collectors' cost per run, measured in the same run.

Two trees:

- ``written``: a cgroup v2 tree of N services, each with the counter files the kernel gives
  (cpu.stat, memory.current, memory.stat, memory.max, io.stat, pids.current), written to a
  temporary folder; its counters move on before every run.
- ``kernel``: N empty groups made in this machine's real cgroup tree (v2's one, or each of
  v1's cpuacct, memory, blkio and pids), where the kernel writes every file as it is read;
  needs root, and is left out (with the reason) where groups cannot be made. The groups are
  removed after.

For each: the first run (listing, naming and opening included), then the median and
maximum of the next ``--runs``. The other built-ins run on this machine's real readings.

    .venv/bin/python -m bench.cgroups [--groups 50,200,1000] [--runs 30]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import save
from collectors.base import Sample
from collectors.builtin import BUILTIN
from collectors.cgroups import tree
from collectors.cgroups.collector import CgroupsCollector

GOAL_MS = 5.0  # at 200 groups
OPTIONS = {"max_groups": 200, "docker_socket": "", "podman_socket": ""}


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


def timed(collect: Callable[[], Any], runs: int, between: Callable[[int], None]) -> dict:
    started = time.perf_counter()
    sample = collect()
    first = time.perf_counter() - started
    times = []
    for tick in range(2, runs + 2):
        between(tick)
        started = time.perf_counter()
        sample = collect()
        times.append(time.perf_counter() - started)
    values = sample.values if isinstance(sample, Sample) else sample
    return {
        "series": len(values),
        "rows": len(getattr(sample, "rows", None) or []),
        "first_ms": round(1000 * first, 2),
        "median_ms": round(1000 * statistics.median(times), 2),
        "max_ms": round(1000 * max(times), 2),
    }


def written(groups: int, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tree(root, groups, 1)
        collector = CgroupsCollector()
        collector.setup({"root": str(root), **OPTIONS})
        result = timed(collector.collect, runs, lambda tick: write_tree(root, groups, tick))
        return {"groups": groups, **result}


@contextlib.contextmanager
def kernel_groups(groups: int) -> Iterator[str | None]:
    """N groups in this machine's cgroup tree; yields why not (or None when made)."""
    layout = tree.detect()
    if layout is None or os.geteuid() != 0:
        yield "no cgroup tree here" if layout is None else "making groups needs root"
        return
    made: list[Path] = []
    try:
        try:
            for i in range(groups):
                for root in layout.roots.values():
                    (root / f"bench-cgroups-{i}.service").mkdir()
                    made.append(root / f"bench-cgroups-{i}.service")
        except OSError as exc:
            yield f"this tree takes no new group: {exc}"
            return
        yield None
    finally:
        for folder in reversed(made):
            folder.rmdir()


def kernel(groups: int, runs: int) -> dict:
    with kernel_groups(groups) as why_not:
        if why_not:
            return {"groups": groups, "skipped": why_not}
        collector = CgroupsCollector()
        collector.setup({"include": ["bench-cgroups-*"], **OPTIONS})
        layout = collector.layout
        assert layout is not None
        result = timed(collector.collect, runs, lambda _tick: None)
        return {"groups": groups, "version": layout.version,
                "trees": sorted(layout.roots), **result}  # fmt: skip


def others(runs: int) -> list[dict]:
    """Every other built-in on this machine's real readings (textfile needs a folder)."""
    out = []
    for cls in BUILTIN:
        if cls is CgroupsCollector or not cls.enabled_by_default:
            continue
        collector = cls()
        collector.setup({})
        out.append({"collector": cls.name, "interval": cls.interval,
                    **timed(collector.collect, runs, lambda _tick: time.sleep(0.05))})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default="50,200,1000")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    counts = [int(n) for n in args.groups.split(",")]
    results = {"written": [written(n, args.runs) for n in counts],
               "kernel": [kernel(n, args.runs) for n in counts],
               "others": others(args.runs)}  # fmt: skip
    for tree_kind in ("written", "kernel"):
        for r in results[tree_kind]:
            if "skipped" in r:
                print(f"{tree_kind} {r['groups']:5d} groups: skipped ({r['skipped']})")
                continue
            print(f"{tree_kind} {r['groups']:5d} groups: first run {r['first_ms']:.2f} ms, "
                  f"then median {r['median_ms']:.2f} ms (max {r['max_ms']:.2f}); "
                  f"{r['series']} series, {r['rows']} rows")  # fmt: skip
    for r in results["others"]:
        print(f"{r['collector']:>10}: median {r['median_ms']:.2f} ms (max {r['max_ms']:.2f})")
    saved = save("cgroups", {"runs": args.runs, "goal_ms_at_200": GOAL_MS, **results})
    print(f"saved {saved}")


if __name__ == "__main__":
    main()
