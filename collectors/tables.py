"""The table filter of tabular collectors (processes, cgroups): a client's ``{"match",
"sort", "limit"}`` checked into a full normalized filter, and rows cut by it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from collectors.devices import has_control_chars
from collectors.messages import did_you_mean, quoted

MAX_MATCH = 128
MAX_LIMIT = 200


@dataclass(frozen=True)
class TableFilter:
    """``sorts``: the columns a client may sort by (``highest`` of them highest first,
    unknown values last; "name" A to Z; the rest ascending); ``matched``: the columns
    ``match`` looks in (a plain, case-blind substring); ``tiebreak``: the column that
    orders equal rows."""

    collector: str
    sorts: tuple[str, ...]
    default: Mapping[str, Any]
    matched: tuple[str, ...]
    tiebreak: str
    highest: tuple[str, ...] = ()

    def parse(self, request: Any) -> dict[str, Any]:
        """Validate ``{"match", "sort", "limit"}`` (each optional) into a full filter."""
        what = f"{self.collector} filter"
        if not isinstance(request, Mapping):
            raise ValueError(f"{what}: expected an object, got {quoted(request)}")
        for key in request:
            if key not in self.default:
                raise ValueError(f"{what}: unknown key {quoted(key)}"
                                 f"{did_you_mean(str(key), self.default)}")  # fmt: skip
        flt = {**self.default, **request}
        match, sort, limit = flt["match"], flt["sort"], flt["limit"]
        if not isinstance(match, str) or len(match) > MAX_MATCH or has_control_chars(match):
            raise ValueError(
                f"{what}: 'match' must be plain text of at most {MAX_MATCH} "
                f"characters without control characters, got {quoted(match)}"
            )
        if sort not in self.sorts:
            raise ValueError(
                f"{what}: 'sort' must be one of {', '.join(self.sorts)}, got {quoted(sort)}"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValueError(
                f"{what}: 'limit' must be an integer from 1 to {MAX_LIMIT}, got {quoted(limit)}"
            )
        return {"match": match, "sort": sort, "limit": limit}

    def apply(self, flt: Mapping[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows matching ``match``, sorted, cut to ``limit``."""
        needle = flt["match"].casefold()
        matching = [row for row in rows
                    if any(needle in str(row[c]).casefold() for c in self.matched)]  # fmt: skip
        return sorted(matching, key=self.sort_key(flt["sort"]))[: flt["limit"]]

    def sort_key(self, sort: str) -> Callable[[dict[str, Any]], Any]:
        tie = self.tiebreak
        if sort == "name":
            return lambda row: (row["name"].casefold(), row[tie])
        if sort in self.highest:
            return lambda row: (row[sort] is None, -(row[sort] or 0), row[tie])
        return lambda row: (row[sort], row[tie])
