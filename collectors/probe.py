"""The system boundary: the only module that imports psutil.

Collectors read the machine through a ``Probe``. Every method returns plain JSON-able data
(dicts, lists, numbers, strings), so a test can record real readings to a JSON file and
replay them with ``tests.fakes.FakeProbe``. A probe call may block (a dead NFS mount, a
busy /proc): it only ever runs in a collector's worker thread.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Protocol

import psutil

from collectors.base import Collector

PROCESS_ATTRS = ["pid", "name", "cpu_times", "memory_info", "status", "create_time"]


class Probe(Protocol):
    """What collectors may ask of the machine."""

    def cpu_times(self) -> list[dict[str, float]]: ...
    def virtual_memory(self) -> dict[str, float]: ...
    def swap_memory(self) -> dict[str, float]: ...
    def load_average(self) -> list[float]: ...
    def cpu_count(self) -> int: ...
    def disk_io(self) -> dict[str, dict[str, float]]: ...
    def partitions(self) -> list[dict[str, str]]: ...
    def disk_usage(self, mountpoint: str) -> dict[str, float]: ...
    def net_io(self) -> dict[str, dict[str, float]]: ...
    def processes(self) -> list[dict[str, Any]]: ...
    def temperatures(self) -> dict[str, list[dict[str, Any]]]: ...
    def monotonic(self) -> float: ...


class SystemProbe:
    """The real machine, read through psutil."""

    def __init__(self) -> None:
        self._users: dict[tuple[int, float], str] = {}

    def cpu_times(self) -> list[dict[str, float]]:
        """Cumulative CPU seconds per logical core (user, system, idle, iowait, ...)."""
        return [t._asdict() for t in psutil.cpu_times(percpu=True)]

    def virtual_memory(self) -> dict[str, float]:
        return psutil.virtual_memory()._asdict()

    def swap_memory(self) -> dict[str, float]:
        return psutil.swap_memory()._asdict()

    def load_average(self) -> list[float]:
        return list(psutil.getloadavg())

    def cpu_count(self) -> int:
        return psutil.cpu_count() or 1

    def disk_io(self) -> dict[str, dict[str, float]]:
        """Cumulative counters per block device (read/write bytes and counts)."""
        counters = psutil.disk_io_counters(perdisk=True) or {}
        disks = _whole_disks()
        return {dev: c._asdict() for dev, c in counters.items() if disks is None or dev in disks}

    def partitions(self) -> list[dict[str, str]]:
        """Mounted filesystems backed by devices (psutil already drops most pseudo ones)."""
        return [
            {"device": p.device, "mountpoint": p.mountpoint, "fstype": p.fstype}
            for p in psutil.disk_partitions(all=False)
        ]

    def disk_usage(self, mountpoint: str) -> dict[str, float]:
        return psutil.disk_usage(mountpoint)._asdict()

    def net_io(self) -> dict[str, dict[str, float]]:
        """Cumulative counters per network interface."""
        counters = psutil.net_io_counters(pernic=True) or {}
        return {nic: c._asdict() for nic, c in counters.items()}

    def processes(self) -> list[dict[str, Any]]:
        """One dict per live process: pid, name, username, cpu seconds, rss, status, start."""
        found, seen = [], set()
        for proc in psutil.process_iter(PROCESS_ATTRS, ad_value=None):
            info = proc.info
            key = (info["pid"], info["create_time"])
            seen.add(key)
            found.append(_process_row(info, self._username(proc, key)))
        self._users = {key: user for key, user in self._users.items() if key in seen}
        return found

    def _username(self, proc: psutil.Process, key: tuple[int, float]) -> str:
        """A process's user, looked up once per process lifetime.

        Reading it costs a /proc/<pid>/status read plus a passwd lookup per process: about a
        third of a whole scan, for a value that practically never changes."""
        if key not in self._users:
            try:
                self._users[key] = proc.username()
            except psutil.Error:
                return ""
        return self._users[key]

    def temperatures(self) -> dict[str, list[dict[str, Any]]]:
        """Temperature sensors by chip; empty where the host exposes none."""
        read = getattr(psutil, "sensors_temperatures", None)
        if read is None:
            return {}
        return {chip: [e._asdict() for e in entries] for chip, entries in read().items()}

    def monotonic(self) -> float:
        return time.monotonic()


def _process_row(info: dict[str, Any], username: str) -> dict[str, Any]:
    times, mem = info["cpu_times"], info["memory_info"]
    return {
        "pid": info["pid"],
        "name": info["name"] or "",
        "username": username,
        "cpu_seconds": (times.user + times.system) if times else None,
        "rss": mem.rss if mem else None,
        "status": info["status"] or "",
        "create_time": info["create_time"] or 0.0,
    }


def _whole_disks() -> set[str] | None:
    """Names of whole block devices; psutil also lists their partitions, which would count
    the same I/O twice. None where /sys/block does not exist (not Linux)."""
    try:
        return set(os.listdir("/sys/block"))
    except OSError:
        return None


def hostname() -> str:
    return socket.gethostname()


class ProbeCollector(Collector):
    """A built-in collector: reads the machine through an injected probe (tests pass a fake)."""

    def __init__(self, probe: Probe | None = None) -> None:
        super().__init__()
        self.probe: Probe = probe if probe is not None else SystemProbe()
