"""The built-in collectors, in the order the dashboard shows them."""

from __future__ import annotations

from collectors.base import Collector
from collectors.cgroups.collector import CgroupsCollector
from collectors.cpu import CpuCollector
from collectors.disk import DiskCollector
from collectors.filesystem import FilesystemCollector
from collectors.load import LoadCollector
from collectors.memory import MemoryCollector
from collectors.network import NetworkCollector
from collectors.processes import ProcessesCollector
from collectors.sensors import SensorsCollector
from collectors.textfile import TextfileCollector

BUILTIN: tuple[type[Collector], ...] = (
    CpuCollector,
    MemoryCollector,
    LoadCollector,
    DiskCollector,
    FilesystemCollector,
    NetworkCollector,
    ProcessesCollector,
    CgroupsCollector,
    SensorsCollector,
    TextfileCollector,
)
