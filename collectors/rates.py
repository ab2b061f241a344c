"""Per-second rates from cumulative counters, kept by the collector itself."""

from __future__ import annotations

from collections.abc import Hashable


class Rates:
    """Turns cumulative counters into per-second rates.

    The first reading of a key gives no rate (``None``); a counter that goes backwards is a
    reset (reboot, driver reload, wrap): it gives no rate either and becomes the new baseline.
    Keys not seen in a reading are forgotten by ``forget_missing`` so that a vanished device
    does not keep stale baselines forever.
    """

    def __init__(self) -> None:
        self._last: dict[Hashable, tuple[float, float]] = {}

    def rate(self, key: Hashable, value: float, now: float) -> float | None:
        previous = self._last.get(key)
        self._last[key] = (now, value)
        if previous is None:
            return None
        then, before = previous
        elapsed = now - then
        if elapsed <= 0 or value < before:
            return None
        return (value - before) / elapsed

    def forget_missing(self, seen: set[Hashable]) -> None:
        for key in [k for k in self._last if k not in seen]:
            del self._last[key]
