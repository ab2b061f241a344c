"""One message for people, made of one or more notices: its short title, its text (the same
for a mail, a chat and a phone banner), and the webhook's JSON body."""

from __future__ import annotations

import math
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dashboard.alerts.model import Notice
from dashboard.alerts.notify import text

LocalTime = Callable[[float], time.struct_time]
TOP = 5  # processes named by CPU and by memory
WEBHOOK_VERSION = 1


@dataclass(frozen=True)
class Message:
    """What one delivery sends; ``suppressed`` is set per target (messages the hourly limit
    held back from it since its last one)."""

    notices: tuple[Notice, ...]
    created: float
    id: str
    localtime: LocalTime = time.localtime
    suppressed: int = 0

    @property
    def critical(self) -> bool:
        return any(n.critical for n in self.notices)

    @property
    def status(self) -> str:
        """``firing`` if anything fires (or repeats), ``resolved`` if all resolved, ``test``."""
        kinds = {n.kind for n in self.notices}
        if kinds <= {"test"}:
            return "test"
        return "resolved" if kinds <= {"resolved"} else "firing"

    def for_target(self, suppressed: int) -> Message:
        return replace(self, suppressed=suppressed)

    def title(self) -> str:
        if len(self.notices) == 1:
            return _one_title(self.notices[0])
        return _group_title(self.notices)

    def text(self) -> str:
        alone = len(self.notices) == 1  # the title says it already: no headline line
        blocks = [_block(n, self.localtime, headline=not alone) for n in self.notices]
        if self.suppressed:
            blocks.append(
                f"({self.suppressed} earlier message{'s' if self.suppressed > 1 else ''} to "
                "this target were held back by [alerts] max_per_hour.)"
            )
        return "\n\n".join(blocks)

    def body(self) -> dict[str, Any]:
        """The webhook's JSON (README, "Webhook"): version 1."""
        return {
            "version": WEBHOOK_VERSION,
            "id": self.id,
            "status": self.status,
            "title": self.title(),
            "text": self.text(),
            "sent": self.created,
            "suppressed": self.suppressed,
            "source": {"name": "dashboard", "host": socket.gethostname()},
            "alerts": [_alert_json(n) for n in self.notices],
        }


def compose(
    notices: Sequence[Notice], now: float, localtime: LocalTime = time.localtime
) -> Message:
    return Message(tuple(notices), now, uuid.uuid4().hex, localtime)


def _label(notice: Notice) -> str:
    if notice.kind == "test":
        return "TEST"
    if notice.kind == "resolved":
        return "RESOLVED"
    state = notice.alert.state.value.upper()
    return f"{state}, still firing" if notice.kind == "repeat" else state


def _headline(notice: Notice) -> str:
    alert = notice.alert
    if notice.kind == "test":
        return f"dashboard notification test from {alert.key.host}"
    if alert.summary:
        return alert.summary
    shown = text.quantity(alert.value, alert.unit)
    return f"{alert.key.host}: {alert.key.series} at {shown}"


def _one_title(notice: Notice) -> str:
    return f"[{_label(notice)}] {_headline(notice)}"


def _group_title(notices: Sequence[Notice]) -> str:
    firing = sum(1 for n in notices if n.kind in ("firing", "repeat"))
    resolved = sum(1 for n in notices if n.kind == "resolved")
    parts = [f"{firing} alert{'s' if firing != 1 else ''} firing"] if firing else []
    if resolved:
        parts.append(f"{resolved} resolved" if firing else f"{resolved} alerts resolved")
    hosts = sorted({n.alert.key.host for n in notices})
    shown = ", ".join(hosts[:3]) + (f" and {len(hosts) - 3} more" if len(hosts) > 3 else "")
    critical = "[CRITICAL] " if any(n.critical for n in notices) else ""
    return f"{critical}{', '.join(parts) or f'{len(notices)} notices'} on {shown}"


def _block(notice: Notice, localtime: LocalTime, headline: bool) -> str:
    alert = notice.alert
    if notice.kind == "test":
        return (
            f"A test notification from the dashboard on {alert.key.host}, sent at "
            f"{text.clock_time(notice.ts, localtime)}: this target works."
        )
    lines = [f"{_label(notice)}: {_headline(notice)}"] if headline else []
    lines.append(f"Rule {alert.key.rule} on host {alert.key.host}, series {alert.key.series}")
    value = text.quantity(alert.value, alert.unit)
    threshold = text.quantity(alert.threshold, alert.unit)
    since = text.clock_time(alert.since, localtime)
    if notice.kind == "resolved":
        lines.append(f"Resolved: now {value}; it fired for {text.duration(notice.held_for)}")
    else:
        held = text.duration(notice.held_for)
        lines.append(f"Value {value} (threshold {threshold}), for {held} (since {since})")
        lines.extend(_processes(notice))
    return "\n".join(lines)


def _processes(notice: Notice) -> list[str]:
    lines = []
    for by, name in (("cpu", "CPU"), ("memory", "memory")):
        rows = list(notice.processes.get(by, []))[:TOP]
        if rows:
            lines.append(f"Top by {name}: " + "; ".join(text.process(r, by) for r in rows))
    return lines


def _alert_json(notice: Notice) -> dict[str, Any]:
    alert = notice.alert
    return {
        **alert.key.as_dict(),
        "kind": notice.kind,
        "state": alert.state.value,
        "value": _finite(alert.value),
        "threshold": _finite(alert.threshold),
        "unit": alert.unit,
        "since": alert.since,
        "held_for": notice.held_for,
        "ts": notice.ts,
        "summary": alert.summary,
        "silenced": alert.silenced,
        "acked": alert.acked,
        "processes": {k: [dict(r) for r in v[:TOP]] for k, v in notice.processes.items()},
    }


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a value travels as null."""
    return value if value is not None and math.isfinite(value) else None
