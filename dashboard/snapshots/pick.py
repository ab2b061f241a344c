"""Which rows of a process scan a snapshot keeps: the top by CPU and the top by memory."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from collectors.processes import sort_key

TOP = 20  # processes kept by CPU, and by memory (the union: at most 2 x TOP rows)
FIELDS = ("pid", "name", "user", "cpu", "memory", "memory_percent", "status")


def pick(rows: Sequence[Mapping[str, Any]], top: int = TOP) -> list[dict[str, Any]]:
    """The ``top`` rows by CPU and the ``top`` by memory, once each, by pid; only the live
    table's fields. A process at 0.0 % (as stored: tenths of a percent) is not "top by CPU":
    on a quiet machine that keeps the set steady from scan to scan instead of swapping idle
    processes in and out by pid. Rows of the wrong shape (another host's) are left out."""
    clean = [row for row in map(_clean, rows) if row is not None]
    busy = [row for row in clean if (row["cpu"] or 0.0) >= 0.05]
    by_cpu = sorted(busy, key=sort_key("cpu"))[:top]
    by_memory = sorted(clean, key=sort_key("memory"))[:top]
    chosen = {row["pid"]: row for row in (*by_cpu, *by_memory)}
    return [chosen[pid] for pid in sorted(chosen)]


def _clean(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The row with the live table's fields, or None if its pid, name or user are not what
    the collector sends (an int, text, text); a number that is not one becomes None."""
    pid, name, user = row.get("pid"), row.get("name"), row.get("user")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid < 0:
        return None
    if not isinstance(name, str) or not isinstance(user, str):
        return None
    status = row.get("status")
    return {"pid": pid, "name": name, "user": user, "cpu": _number(row.get("cpu")),
            "memory": _number(row.get("memory")),
            "memory_percent": _number(row.get("memory_percent")),
            "status": status if isinstance(status, str) else ""}  # fmt: skip


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)
