"""Block device throughput and operations per second."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from collectors.counters import CounterCollector, Metric


class DiskCollector(CounterCollector):
    """Read/write bytes and operations per second of each block device.

    Series ``disk.<dev>.read_bytes_per_s``, ``write_bytes_per_s``, ``read_iops``, ``write_iops``.
    Client filter: ``{"devices": [names]}`` (empty means all).
    """

    name = "disk"
    interval = 1.0
    # Loop, RAM and optical devices are rarely what an operator watches.
    defaults: ClassVar[Mapping[str, Any]] = {"exclude": ["loop", "ram", "zram", "fd", "sr"]}
    filter_key = "devices"
    metrics = (
        Metric("read_bytes_per_s", "bytes/s", "read", ("read_bytes",)),
        Metric("write_bytes_per_s", "bytes/s", "write", ("write_bytes",)),
        Metric("read_iops", "ops/s", "reads", ("read_count",)),
        Metric("write_iops", "ops/s", "writes", ("write_count",)),
    )

    def read_counters(self) -> dict[str, dict[str, float]]:
        return self.probe.disk_io()
