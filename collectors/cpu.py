"""CPU busy percentages, overall and per core, from deltas of cumulative CPU times."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from collectors.base import Series
from collectors.probe import Probe, ProbeCollector

# Linux already counts guest time inside user and guest_nice inside nice (as psutil does).
_COUNTED_TWICE = frozenset({"guest", "guest_nice"})


class Busy(NamedTuple):
    """CPU seconds spent between two readings of one core."""

    total: float
    busy: float
    user: float
    system: float
    iowait: float


def core_delta(before: Mapping[str, float], after: Mapping[str, float]) -> Busy | None:
    """What one core did between two readings; None if a counter went back or no time passed."""
    fields = before.keys() | after.keys()
    delta = {k: (after.get(k) or 0.0) - (before.get(k) or 0.0) for k in fields}
    if any(v < 0 for v in delta.values()):
        return None
    total = sum(v for k, v in delta.items() if k not in _COUNTED_TWICE)
    if total <= 0:
        return None
    idle, iowait = delta.get("idle", 0.0), delta.get("iowait", 0.0)
    return Busy(
        total, total - idle - iowait, delta.get("user", 0.0), delta.get("system", 0.0), iowait
    )


class CpuCollector(ProbeCollector):
    """``cpu.total``/``user``/``system``/``iowait`` across all cores and ``cpu.coreN`` busy %."""

    name = "cpu"
    interval = 1.0

    def __init__(self, probe: Probe | None = None) -> None:
        super().__init__(probe)
        self._previous: list[dict[str, float]] = []
        self._cores = 0

    def setup(self, options: Mapping[str, Any]) -> None:
        super().setup(options)
        self._cores = self.probe.cpu_count()

    def describe(self) -> list[Series]:
        series = [
            Series("cpu.total", "%", "CPU busy, all cores"),
            Series("cpu.user", "%", "CPU user, all cores"),
            Series("cpu.system", "%", "CPU system, all cores"),
            Series("cpu.iowait", "%", "CPU iowait, all cores"),
        ]
        series += [Series(f"cpu.core{i}", "%", f"CPU core {i} busy") for i in range(self._cores)]
        return series

    def collect(self) -> dict[str, float]:
        current = self.probe.cpu_times()
        previous, self._previous = self._previous, current
        self._cores = len(current)
        # Not strict: a core that just came online has no previous reading, hence no value.
        pairs = zip(previous, current, strict=False)
        deltas = [core_delta(before, after) for before, after in pairs]
        values = {
            f"cpu.core{i}": percent(d.busy, d.total) for i, d in enumerate(deltas) if d is not None
        }
        valid = [d for d in deltas if d is not None]
        if valid:
            total = sum(d.total for d in valid)
            values["cpu.total"] = percent(sum(d.busy for d in valid), total)
            values["cpu.user"] = percent(sum(d.user for d in valid), total)
            values["cpu.system"] = percent(sum(d.system for d in valid), total)
            values["cpu.iowait"] = percent(sum(d.iowait for d in valid), total)
        return values


def percent(part: float, whole: float) -> float:
    """part/whole as %, clamped, to 3 decimals.

    CPU times count in jiffies (1/100 s), so a 1 s reading of even 1,000 cores has a
    resolution of 0.001 %; the digits past that are float noise (0.9999999999993179 for 1 %),
    which would show in exports and cost history bytes.
    """
    return round(min(100.0, max(0.0, 100 * part / whole)), 3)
