"""Golden cases: each recorded probe (``tests/data/probe/<case>.json``) beside what every
built-in collector reads from it, call by call (``<case>.expected.json``).

A bug report becomes a pair of files: record the machine (``tests/fakes.py`` says how), or
write the readings that broke by hand; then write what the collectors make of them with

    .venv/bin/python -m tests.golden tests/data/probe/<case>.json

read that file as a reviewer would (it is the expected behaviour from then on), fix what is
wrong, and commit both. ``test_collectors.py`` replays every case against its expected file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from collectors.base import Collector, Sample
from collectors.builtin import BUILTIN
from collectors.probe import ProbeCollector
from tests.fakes import FakeProbe

DATA = Path(__file__).parent / "data" / "probe"
SUFFIX = ".expected.json"
ABOUT = (
    "What each built-in collector reads from {case}.json, call by call (a collector that "
    "needs a reading the recording lacks is left out). Written by `python -m tests.golden "
    "{path}`; review a change to it like code."
)


def cases() -> list[Path]:
    """Every recording in the folder (not the expected files beside them)."""
    return sorted(p for p in DATA.glob("*.json") if not p.name.endswith(SUFFIX))


def expected_path(recording: Path) -> Path:
    return recording.with_name(recording.stem + SUFFIX)


def replay(recording: Path) -> dict[str, Any]:
    """Run every built-in that reads the probe over the recording: one call per ``monotonic``
    reading (a collector's clock ticks once per call), else per reading of its longest list."""
    data = json.loads(recording.read_text(encoding="utf-8"))
    lists = {k: len(v) for k, v in data.items() if isinstance(v, list) and not k.startswith("_")}
    calls = lists.get("monotonic") or max(lists.values())
    readings = {}
    for cls in BUILTIN:
        if not issubclass(cls, ProbeCollector):
            continue
        try:
            collector = cls(FakeProbe(data))
            collector.setup({})
            readings[cls.name] = [_reading(collector) for _ in range(calls)]
        except LookupError:  # the recording has nothing this collector reads
            continue
    return {"calls": calls, "collectors": readings}


def _reading(collector: Collector) -> dict[str, Any]:
    result = collector.collect()
    values = result.values if isinstance(result, Sample) else result
    reading: dict[str, Any] = {
        "values": dict(values),
        "series": [s.as_dict() for s in collector.describe()],
    }
    if isinstance(result, Sample) and result.rows is not None:
        reading["rows"] = [dict(row) for row in result.rows]
    return reading


def write_expected(recording: Path) -> Path:
    path = expected_path(recording)
    body = {"_about": ABOUT.format(case=recording.stem, path=recording), **replay(recording)}
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    for name in sys.argv[1:] or [str(p) for p in cases()]:
        print(f"wrote {write_expected(Path(name))}")
