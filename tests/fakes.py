"""A probe that replays recorded readings, and a helper to record real ones.

A recording is a JSON object: ``{method_name: [reading0, reading1, ...]}`` for each Probe
method, ``"disk_usage": {mountpoint: reading or [readings] or {"oserror": message}}`` and
``"monotonic": [seconds, ...]``. Keys starting with "_" are notes for the reader.

To record this machine (it pauses between rounds, so never from a test)::

    .venv/bin/python -c "import json; from collectors.probe import SystemProbe; \
from tests.fakes import record; \
print(json.dumps(record(SystemProbe()), indent=1))" > tests/data/probe/this_machine.json
"""

from __future__ import annotations

import copy
import errno
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors.probe import Probe

REPLAYED = (
    "cpu_times", "virtual_memory", "swap_memory", "load_average", "cpu_count", "disk_io",
    "partitions", "net_io", "processes", "temperatures",
)  # fmt: skip


class FakeProbe:
    """Each method returns its next recorded reading; the last one repeats when exhausted.

    ``monotonic()`` replays ``"monotonic"`` unless ``now`` is set, which then wins.
    ``calls`` counts the calls per method.
    """

    def __init__(self, readings: Mapping[str, Any]) -> None:
        self.readings = {k: v for k, v in readings.items() if not k.startswith("_")}
        self.calls: dict[str, int] = {}
        self.now: float | None = None

    @classmethod
    def from_json(cls, path: str | Path) -> FakeProbe:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def _next(self, method: str, sequence: list[Any] | None = None) -> Any:
        if sequence is None:
            if method not in self.readings:
                raise LookupError(f"FakeProbe: no recorded readings for {method}()")
            sequence = self.readings[method]
        index = self.calls.get(method, 0)
        self.calls[method] = index + 1
        # A copy, so a collector that keeps or edits a reading cannot change the recording.
        return copy.deepcopy(sequence[min(index, len(sequence) - 1)])

    def cpu_times(self) -> list[dict[str, float]]:
        return self._next("cpu_times")

    def virtual_memory(self) -> dict[str, float]:
        return self._next("virtual_memory")

    def swap_memory(self) -> dict[str, float]:
        return self._next("swap_memory")

    def load_average(self) -> list[float]:
        return self._next("load_average")

    def cpu_count(self) -> int:
        return self._next("cpu_count")

    def disk_io(self) -> dict[str, dict[str, float]]:
        return self._next("disk_io")

    def partitions(self) -> list[dict[str, str]]:
        return self._next("partitions")

    def disk_usage(self, mountpoint: str) -> dict[str, float]:
        """The usage recorded for ``mountpoint``; none recorded acts like a missing path."""
        recorded = self.readings.get("disk_usage", {}).get(mountpoint)
        if recorded is None:
            raise FileNotFoundError(errno.ENOENT, "no such mountpoint", mountpoint)
        if isinstance(recorded, list):
            recorded = self._next(f"disk_usage:{mountpoint}", recorded)
        if "oserror" in recorded:
            raise OSError(errno.EIO, recorded["oserror"], mountpoint)
        return dict(recorded)

    def net_io(self) -> dict[str, dict[str, float]]:
        return self._next("net_io")

    def processes(self) -> list[dict[str, Any]]:
        return self._next("processes")

    def temperatures(self) -> dict[str, list[dict[str, Any]]]:
        return self._next("temperatures")

    def monotonic(self) -> float:
        return self.now if self.now is not None else self._next("monotonic")


def record(probe: Probe, calls: int = 3, pause: float = 1.0, max_processes: int = 20) -> dict:
    """Read every probe method ``calls`` times, ``pause`` seconds apart, as a recording.

    Only the ``max_processes`` busiest processes of the first reading are kept (in every
    reading, so their cpu deltas survive); a whole process table is mostly idle noise.
    """
    data: dict[str, Any] = {name: [] for name in (*REPLAYED, "monotonic")}
    data["disk_usage"] = {}
    for round_ in range(calls):
        if round_ and pause > 0:
            time.sleep(pause)
        data["monotonic"].append(probe.monotonic())
        for name in REPLAYED:
            data[name].append(getattr(probe, name)())
        for part in data["partitions"][-1]:
            data["disk_usage"].setdefault(part["mountpoint"], []).append(_usage(probe, part))
    busiest = sorted(data["processes"][0], key=lambda p: -(p["cpu_seconds"] or 0))
    keep = {p["pid"] for p in busiest[:max_processes]}
    data["processes"] = [[p for p in ps if p["pid"] in keep] for ps in data["processes"]]
    return data


def _usage(probe: Probe, part: Mapping[str, str]) -> dict[str, Any]:
    try:
        return probe.disk_usage(part["mountpoint"])
    except OSError as exc:
        return {"oserror": str(exc)}
