"""A benchmark's collector: ``count`` series whose values a file sets (bench/alerts.py).

``value_file`` holds lines ``<index> <value>``; every series not named there reads
``base``. The file is read at each collect, so the benchmark moves a series across a
threshold by writing one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from collectors import Collector, Series


class Many(Collector):
    name = "many"
    interval = 1.0
    defaults: ClassVar[dict[str, Any]] = {"count": 1000, "value_file": "", "base": 10.0}

    def describe(self) -> list[Series]:
        return [Series(f"many.s{i:04d}", "%", f"series {i}") for i in range(self._count())]

    def collect(self) -> dict[str, float]:
        base = float(self.options["base"])
        values = {f"many.s{i:04d}": base for i in range(self._count())}
        for index, value in self._overrides().items():
            values[f"many.s{index:04d}"] = value
        return values

    def _count(self) -> int:
        return int(self.options["count"])

    def _overrides(self) -> dict[int, float]:
        path = self.options["value_file"]
        if not path or not Path(path).exists():
            return {}
        found = {}
        for line in Path(path).read_text().splitlines():
            index, value = line.split()
            found[int(index)] = float(value)
        return found
