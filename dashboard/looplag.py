"""How late the event loop runs: its stalls, measured from inside it.

A task on the loop sleeps ``TICK`` seconds over and over; whatever it wakes up late by is
time something else held the loop — work that should have run in a native thread. The
largest stall of the last minute and since start go to ``/metrics``; one over
``WARN_AFTER`` is logged, because every client waited that long.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)
TICK = 0.05
WINDOW = 60.0
WARN_AFTER = 1.0


class LoopLag:
    """Stalls seen by ``watch``: the worst since start and those of the last ``WINDOW``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.worst = 0.0
        self.samples = 0
        self._recent: deque[tuple[float, float]] = deque()  # (when, stall), stalls only

    def note(self, stall: float) -> None:
        now = self.clock()
        self.samples += 1
        self.worst = max(self.worst, stall)
        while self._recent and self._recent[0][0] < now - WINDOW:
            self._recent.popleft()
        # Keep only what could be a window's maximum: a smaller stall before a larger one
        # never is, so the deque stays short and falls from left to right.
        while self._recent and self._recent[-1][1] <= stall:
            self._recent.pop()
        self._recent.append((now, stall))
        if stall >= WARN_AFTER:
            log.warning(
                "the event loop was blocked for %.1f s: every client waited; something ran on "
                "it that belongs in a native thread",
                stall,
            )

    def recent(self) -> float:
        """The largest stall of the last ``WINDOW`` seconds."""
        now = self.clock()
        return max((s for when, s in self._recent if when >= now - WINDOW), default=0.0)


def watch(lag: LoopLag, sleep: Callable[[float], None], running: Callable[[], bool]) -> None:
    """While ``running()``: sleep a tick on the event loop and note how late it woke up."""
    while running():
        started = time.monotonic()
        sleep(TICK)
        lag.note(max(0.0, time.monotonic() - started - TICK))
