"""Temperature sensors; hosts (and most VMs and containers) without any give no series."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from collectors.base import Series
from collectors.devices import unique_keys
from collectors.probe import Probe, ProbeCollector

Reading = tuple[Series, Any]


def readings(temperatures: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Reading]:
    """One (series, current value) per sensor; an unlabelled sensor is named by its index."""
    found = [
        (chip, entry.get("label") or str(index), entry.get("current"))
        for chip in sorted(temperatures)
        for index, entry in enumerate(temperatures[chip])
    ]
    keys = unique_keys([f"{chip}_{label}" for chip, label, _ in found])
    return [
        (Series(f"sensors.{key}", "°C", f"{chip} {label}"), current)
        for key, (chip, label, current) in zip(keys, found, strict=True)
    ]


class SensorsCollector(ProbeCollector):
    """``sensors.<chip>_<label>`` in °C, one per temperature sensor the host exposes."""

    name = "sensors"
    interval = 5.0

    def __init__(self, probe: Probe | None = None) -> None:
        super().__init__(probe)
        self._series: list[Series] = []

    def setup(self, options: Mapping[str, Any]) -> None:
        super().setup(options)
        self._series = [series for series, _ in readings(self.probe.temperatures())]

    def describe(self) -> list[Series]:
        return list(self._series)

    def collect(self) -> dict[str, float]:
        found = readings(self.probe.temperatures())
        self._series = [series for series, _ in found]
        # A sensor that cannot be read right now (None) stays described but has no value.
        return {
            series.name: float(current)
            for series, current in found
            if isinstance(current, (int, float)) and math.isfinite(current)
        }
