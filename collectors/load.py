"""System load averages over 1, 5 and 15 minutes."""

from __future__ import annotations

from collectors.base import Series
from collectors.probe import ProbeCollector


class LoadCollector(ProbeCollector):
    """``load.1m``, ``load.5m``, ``load.15m``: runnable (and, on Linux, D-state) tasks."""

    name = "load"
    interval = 1.0

    def describe(self) -> list[Series]:
        return [
            Series("load.1m", "load", "Load average, 1 minute"),
            Series("load.5m", "load", "Load average, 5 minutes"),
            Series("load.15m", "load", "Load average, 15 minutes"),
        ]

    def collect(self) -> dict[str, float]:
        one, five, fifteen = self.probe.load_average()
        return {"load.1m": one, "load.5m": five, "load.15m": fifteen}
