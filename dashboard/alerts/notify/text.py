"""Numbers, durations and process rows as people read them in a mail or a phone banner."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def number(value: float | None) -> str:
    """``96``, ``96.4``, ``0.35``, ``1,234``: few digits, no trailing zeros."""
    if value is None:
        return "no value"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity(value: float | None, unit: str) -> str:
    """A value with its unit: ``96 %``, ``1.5 GiB``, ``3.2 load``."""
    if value is None:
        return "no value"
    if unit in ("B", "B/s", "bytes"):
        return size(value) + ("/s" if unit == "B/s" else "")
    return f"{number(value)} {unit}" if unit else number(value)


def size(value: float) -> str:
    for index, name in enumerate(_BINARY):
        if abs(value) < 1024 or index == len(_BINARY) - 1:
            return f"{number(value)} {name}"
        value /= 1024
    raise AssertionError("unreachable")  # the loop returns at its last unit


def duration(seconds: float) -> str:
    """``45 s``, ``2 min 10 s``, ``3 h 5 min``, ``2 d 4 h``: the two largest units."""
    left = max(0, round(seconds))
    for index, (name, unit) in enumerate(_UNITS):
        if left >= unit or unit == 1:
            big, rest = divmod(left, unit)
            if index + 1 < len(_UNITS):
                small_name, small_unit = _UNITS[index + 1]
                if rest // small_unit:
                    return f"{big} {name} {rest // small_unit} {small_name}"
            return f"{big} {name}"
    raise AssertionError("unreachable")  # the last unit (1 s) always matches


_UNITS = (("d", 86_400), ("h", 3600), ("min", 60), ("s", 1))


def clock_time(ts: float, localtime: Any = time.localtime) -> str:
    """A moment in the server's local time: ``2026-05-01 14:03:12 CEST``."""
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", localtime(ts)).rstrip()


def process(row: Mapping[str, Any], by: str) -> str:
    """``postgres (pid 812) 85 %`` by CPU, ``postgres (pid 812) 1.2 GiB, 15 %`` by memory."""
    who = f"{row.get('name') or '?'} (pid {row.get('pid', '?')})"
    if by == "cpu":
        cpu = row.get("cpu")
        return f"{who} {number(cpu)} %" if isinstance(cpu, int | float) else who
    rss, share = row.get("memory"), row.get("memory_percent")
    shown = [size(rss)] if isinstance(rss, int | float) else []
    if isinstance(share, int | float):
        shown.append(f"{number(share)} %")
    return f"{who} {', '.join(shown)}" if shown else who
