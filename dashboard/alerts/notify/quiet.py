"""``[alerts] quiet_hours``: a range of local time, e.g. 22:00-07:00 (over midnight)."""

from __future__ import annotations

import time
from collections.abc import Callable

LocalTime = Callable[[float], time.struct_time]


def is_quiet(hours: tuple[int, int] | None, now: float, localtime: LocalTime) -> bool:
    """Whether ``now`` falls in ``hours`` (start and end in minutes after local midnight;
    the start is in, the end is out)."""
    if hours is None:
        return False
    start, end = hours
    moment = localtime(now)
    minute = moment.tm_hour * 60 + moment.tm_min
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end
