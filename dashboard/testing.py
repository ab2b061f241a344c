"""Helpers for testing a collector (a plugin or a built-in) the way the dashboard runs it.

    from dashboard.testing import collect_once

    reading = collect_once(MyCollector, {"path": str(tmp_path / "data")})
    assert reading.values["mine.value"] == 42.0

``collect_once`` sets the collector up with the options, calls ``collect()`` once and checks
the result exactly as the dashboard does, so a test fails with the dashboard's own message
(``BadOutput``) where the dashboard would count a failure.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from collectors.base import Collector
from dashboard.pipeline.validate import BadOutput, Reading, validate

__all__ = ["BadOutput", "Reading", "collect_once"]


def collect_once(
    collector: Collector | type[Collector], options: Mapping[str, Any] | None = None
) -> Reading:
    """Set up (a class is instantiated first), collect once, validate; return the reading.

    ``setup()`` raising ``ValueError`` (a bad option) and ``collect()`` raising anything
    propagate as they are; output outside the contract raises ``BadOutput``.
    """
    if isinstance(collector, type):
        collector = collector()
    collector.setup(options or {})
    series = list(collector.describe())
    result = collector.collect()
    known = {s.name for s in series} | {s.name for s in collector.describe()}
    return validate(result, known, time.time())
