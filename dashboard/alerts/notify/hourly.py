"""``[alerts] max_per_hour``: a sliding hour of messages per target. Over it, a message is
not sent to that target; it is counted, logged once an hour, and the next message that goes
says how many were held back."""

from __future__ import annotations

import logging
from collections import deque

log = logging.getLogger(__name__)
HOUR = 3600.0


class HourlyLimit:
    def __init__(self, name: str, per_hour: int) -> None:
        self.name = name
        self.per_hour = per_hour
        self._sent: deque[float] = deque()
        self._held = 0  # since the last message that went
        self._logged: float | None = None

    def admit(self, now: float) -> int | None:
        """The count of messages held back before this one (and reset it), or None: over
        the limit, this one is held back too."""
        while self._sent and self._sent[0] <= now - HOUR:
            self._sent.popleft()
        if len(self._sent) >= self.per_hour:
            self._held += 1
            self._log(now)
            return None
        self._sent.append(now)
        held, self._held = self._held, 0
        return held

    def _log(self, now: float) -> None:
        if self._logged is not None and now - self._logged < HOUR:
            return
        self._logged = now
        log.warning(
            "alerts: notifications to %s held back: %d in the last hour already "
            "([alerts] max_per_hour = %d); the next one that goes says how many were held",
            self.name, len(self._sent), self.per_hour,
        )  # fmt: skip
