"""Small collectors whose output a test controls, for exercising the server machinery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from collectors import Collector, Sample, Series


class Toy(Collector):
    """Returns whatever the test put in ``next`` (a dict, a Sample, or garbage)."""

    name = "toy"
    interval = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.series = [Series("toy.a", "%", "A"), Series("toy.b", "bytes", "B")]
        self.next: Any = {"toy.a": 1.0, "toy.b": 2.0}

    def describe(self) -> list[Series]:
        return list(self.series)

    def collect(self) -> Any:
        if isinstance(self.next, BaseException):
            raise self.next
        return self.next


class Rows(Collector):
    """A tabular collector with a ``match`` filter, like processes but deterministic."""

    name = "rows"
    interval = 1.0
    ROWS: ClassVar[list[dict[str, Any]]] = [
        {"pid": 1, "name": "alpha"},
        {"pid": 2, "name": "beta"},
        {"pid": 3, "name": "alpine"},
    ]

    def describe(self) -> list[Series]:
        return [Series("rows.count", "procs", "Rows")]

    def collect(self) -> Sample:
        return Sample(values={"rows.count": len(self.ROWS)}, rows=[dict(r) for r in self.ROWS])

    def parse_filter(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        extra = set(request) - {"match"}
        if extra:
            raise ValueError(f"unknown filter key {sorted(extra)[0]!r}")
        match = request.get("match", "")
        if not isinstance(match, str):
            raise ValueError("match: expected a string")
        return {"match": match}

    def apply_filter(self, flt, values, rows):
        return values, [r for r in rows or [] if flt["match"] in r["name"]]
