"""What the page needs to know from the server, served in its config JSON.

The time windows of the picker, the bucket widths history is rolled up into (live buckets
line up with them), the span answered from memory, the process table's sort keys and the
points a zoom's ``range`` may ask for: each
defined once on this side, never copied by hand into ``static/js/``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from collectors.cgroups.collector import TABLE as CGROUP_TABLE
from collectors.processes import SORTS
from collectors.tables import MAX_LIMIT
from dashboard.history.rollup import NICE_STEPS
from dashboard.history.tiers import DEFAULT_MAX_POINTS
from dashboard.history.window import MEMORY_WINDOW
from dashboard.web.protocol import RANGE_POINTS


@dataclass(frozen=True)
class TimeWindow:
    """One choice of the window picker: ``?window=<key>`` shows the last ``seconds``."""

    key: str
    seconds: int
    label: str  # the button's text
    title: str  # "Show <title>" is the button's tooltip


WINDOWS = (
    TimeWindow("5m", 300, "5 min", "the last 5 minutes"),
    TimeWindow("1h", 3_600, "1 h", "the last hour"),
    TimeWindow("24h", 86_400, "24 h", "the last 24 hours"),
    TimeWindow("7d", 604_800, "7 d", "the last 7 days"),
)
DEFAULT_WINDOW = "5m"


def page_config() -> dict[str, Any]:
    """The constants main.js hands to the page's modules, as plain JSON values."""
    return {
        "windows": [asdict(window) for window in WINDOWS],
        "default_window": DEFAULT_WINDOW,
        "bucket_steps": list(NICE_STEPS),
        "max_points": DEFAULT_MAX_POINTS,  # what a window's history holds; live buckets match
        "memory_window": MEMORY_WINDOW,
        "process_sorts": list(SORTS),
        "process_max_limit": MAX_LIMIT,
        "cgroup_sorts": list(CGROUP_TABLE.sorts),
        "range_points": list(RANGE_POINTS),  # the fewest and most points `range` may ask for
    }
