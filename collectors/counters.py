"""Per-device rates from cumulative counters: the shared base of disk and network."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from collectors.base import Series
from collectors.devices import check_names_option, keep_devices, parse_names_filter, unique_keys
from collectors.probe import Probe, ProbeCollector
from collectors.rates import Rates


@dataclass(frozen=True)
class Metric:
    """One per-device rate series: its suffix, unit, label and the counters it sums."""

    suffix: str
    unit: str
    label: str
    counters: tuple[str, ...]


class CounterCollector(ProbeCollector):
    """Per-device rates from cumulative counters; devices are excluded by name prefix."""

    metrics: ClassVar[tuple[Metric, ...]] = ()
    filter_key: ClassVar[str] = ""

    def __init__(self, probe: Probe | None = None) -> None:
        super().__init__(probe)
        self._rates = Rates()
        self._series: list[Series] = []

    @abc.abstractmethod
    def read_counters(self) -> dict[str, dict[str, float]]:
        """Cumulative counters per device, from the probe."""

    def setup(self, options: Mapping[str, Any]) -> None:
        super().setup(options)
        check_names_option("exclude", self.options["exclude"], "['loop', 'ram']")
        self._discover(self.read_counters())

    def describe(self) -> list[Series]:
        return list(self._series)

    def collect(self) -> dict[str, float]:
        counters = self.read_counters()
        keys = self._discover(counters)
        now = self.probe.monotonic()
        values: dict[str, float] = {}
        for device, key in keys.items():
            for metric in self.metrics:
                # Summing before the rate: a reset of any part shows as the sum going back.
                total = sum(counters[device].get(name) or 0 for name in metric.counters)
                rate = self._rates.rate((device, metric.suffix), total, now)
                if rate is not None:
                    values[f"{self.name}.{key}.{metric.suffix}"] = rate
        self._rates.forget_missing({(d, m.suffix) for d in keys for m in self.metrics})
        return values

    def parse_filter(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        return parse_names_filter(self.name, self.filter_key, request)

    def apply_filter(
        self, flt: Mapping[str, Any], values: Mapping[str, Any], rows: list[dict[str, Any]] | None
    ) -> tuple[Mapping[str, Any], list[dict[str, Any]] | None]:
        return keep_devices(self.name, flt.get(self.filter_key, []), values), rows

    def _discover(self, counters: Mapping[str, Any]) -> dict[str, str]:
        """Device -> series key of the devices not excluded; the series list follows them."""
        exclude = tuple(self.options["exclude"])
        devices = sorted(d for d in counters if not d.startswith(exclude))
        keys = dict(zip(devices, unique_keys(devices), strict=True))
        # Replaced whole, not mutated: describe() may run on another thread meanwhile.
        self._series = [
            Series(f"{self.name}.{key}.{m.suffix}", m.unit, f"{device} {m.label}")
            for device, key in keys.items()
            for m in self.metrics
        ]
        return keys
