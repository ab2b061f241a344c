"""Physical memory and swap use."""

from __future__ import annotations

from collectors.base import Series
from collectors.probe import ProbeCollector


class MemoryCollector(ProbeCollector):
    """Used memory (total minus available, so caches count as free) and used swap."""

    name = "memory"
    interval = 1.0

    def describe(self) -> list[Series]:
        return [
            Series("memory.used_percent", "%", "Memory used"),
            Series("memory.used", "bytes", "Memory used"),
            Series("memory.available", "bytes", "Memory available"),
            Series("memory.swap_used_percent", "%", "Swap used"),
            Series("memory.swap_used", "bytes", "Swap used"),
        ]

    def collect(self) -> dict[str, float]:
        memory = self.probe.virtual_memory()
        swap = self.probe.swap_memory()
        total, available = memory["total"], memory["available"]
        swap_total, swap_used = swap["total"], swap["used"]
        values = {
            "memory.used": total - available,
            "memory.available": available,
            "memory.swap_used": swap_used,
            # A host without swap uses none of it.
            "memory.swap_used_percent": 100 * swap_used / swap_total if swap_total else 0.0,
        }
        if total > 0:
            values["memory.used_percent"] = 100 * (total - available) / total
        return values
