"""A clock the test moves by hand: ``clock.now += 1`` instead of sleeping."""

from __future__ import annotations

T0 = 1_800_000_000.0  # a multiple of 600 (one history block), so blocks line up with it


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
