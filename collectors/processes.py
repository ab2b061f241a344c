"""The process table: counts as series, one row per process for the client's table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from collectors.base import Sample, Series
from collectors.probe import Probe, ProbeCollector
from collectors.rates import Rates
from collectors.tables import TableFilter

SORTS = ("cpu", "memory", "pid", "name")
# What a client that never sent a filter gets.
DEFAULT_FILTER: dict[str, Any] = {"match": "", "sort": "cpu", "limit": 25}


class ProcessesCollector(ProbeCollector):
    """Process counts, plus one row per process for the client's table.

    A row's ``cpu`` is % of one core since the previous reading (None for a process not seen
    before), ``memory`` its rss in bytes. Client filter: ``match``, ``sort``, ``limit``.
    """

    name = "processes"
    interval = 2.0

    def __init__(self, probe: Probe | None = None) -> None:
        super().__init__(probe)
        self._cpu = Rates()  # cpu seconds per (pid, create_time): pids get reused

    def describe(self) -> list[Series]:
        return [
            Series("processes.count", "procs", "Processes"),
            Series("processes.running", "procs", "Running processes"),
        ]

    def collect(self) -> Sample:
        procs = self.probe.processes()
        total_memory = self.probe.virtual_memory()["total"]
        now = self.probe.monotonic()
        rows = [self._row(proc, total_memory, now) for proc in procs]
        self._cpu.forget_missing({(p["pid"], p["create_time"]) for p in procs})
        running = sum(1 for row in rows if row["status"] == "running")
        return Sample(
            values={"processes.count": len(rows), "processes.running": running}, rows=rows
        )

    def _row(self, proc: Mapping[str, Any], total_memory: float, now: float) -> dict[str, Any]:
        cpu = None
        if proc["cpu_seconds"] is not None:
            key = (proc["pid"], proc["create_time"])
            per_second = self._cpu.rate(key, proc["cpu_seconds"], now)
            cpu = None if per_second is None else 100 * per_second
        rss = proc["rss"]
        share = 100 * rss / total_memory if rss is not None and total_memory > 0 else None
        return {
            "pid": proc["pid"],
            "name": proc["name"],
            "user": proc["username"],
            "cpu": cpu,
            "memory": rss,
            "memory_percent": share,
            "status": proc["status"],
        }

    def parse_filter(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        return parse_filter(request)

    def apply_filter(
        self, flt: Mapping[str, Any], values: Mapping[str, Any], rows: list[dict[str, Any]] | None
    ) -> tuple[Mapping[str, Any], list[dict[str, Any]] | None]:
        return values, apply_filter(flt, rows or [])


TABLE = TableFilter("processes", SORTS, DEFAULT_FILTER, ("name", "user", "pid"), "pid",
                    highest=("cpu", "memory"))  # fmt: skip


def parse_filter(request: Any) -> dict[str, Any]:
    """Validate ``{"match", "sort", "limit"}`` (each optional) into a full normalized filter."""
    return TABLE.parse(request)


def apply_filter(flt: Mapping[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows matching ``match`` (a plain substring of name, user or pid), sorted, cut."""
    return TABLE.apply(flt, rows)


def sort_key(sort: str) -> Callable[[dict[str, Any]], Any]:
    """cpu and memory: highest first, unknown (None) last; pid ascending; name A to Z."""
    return TABLE.sort_key(sort)
