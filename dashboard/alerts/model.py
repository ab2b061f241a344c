"""What the parts of alerting hand each other: an alert instance's labels and state, a
transition, a silence, a notice to deliver, and the two interfaces between the parts.

The engine (``engine``) evaluates rules and owns the state; the web (``/alerts``,
``/api/alerts``, ``/api/silences``, ``/metrics``) reads it through ``AlertsView``; the
notifier (``notify``) takes ``Notice``s through ``Outbox``. Nothing here does I/O.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol


class State(StrEnum):
    """``ok -> pending -> warning | critical -> ok``; pending fires after the rule's ``for``."""

    OK = "ok"
    PENDING = "pending"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def firing(self) -> bool:
        return self in (State.WARNING, State.CRITICAL)


@dataclass(frozen=True, order=True)
class Key:
    """One alert instance: a rule on one host's series (or collector, for stale and failing)."""

    rule: str
    host: str
    series: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "host": self.host, "series": self.series}


@dataclass
class Alert:
    """One instance as the API, the page and a notice show it."""

    key: Key
    state: State
    value: float | None  # the rule's aggregate when last evaluated
    threshold: float | None  # the one crossed (or the one it would fire at, while ok)
    since: float  # when it entered this state (unix seconds, data time)
    summary: str = ""  # the rule's template, filled in
    unit: str = ""
    silenced: str | None = None  # the id of a silence that matches it now
    acked: bool = False  # repeats stop until the state changes

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.key.as_dict(),
            "state": self.state.value,
            "value": self.value,
            "threshold": self.threshold,
            "since": self.since,
            "summary": self.summary,
            "unit": self.unit,
            "silenced": self.silenced,
            "acked": self.acked,
        }


@dataclass(frozen=True)
class Transition:
    """A state change, as stored and as pushed (``alert`` event: ``state`` is the new one)."""

    key: Key
    previous: State
    state: State
    value: float | None
    threshold: float | None
    ts: float  # when it happened (data time); also the new state's ``since``

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.key.as_dict(),
            "from": self.previous.value,
            "state": self.state.value,
            "value": self.value,
            "threshold": self.threshold,
            "since": self.ts,
            "ts": self.ts,
        }


MATCHER_KEYS = ("rule", "host", "series")
MAX_SILENCE = 30 * 86_400.0
MAX_SILENCES = 1_000  # active at once: every subscribe's ack carries them all


@dataclass(frozen=True)
class Silence:
    """Matchers (globs on rule, host, series; a missing one matches all) until ``ends``."""

    id: str
    matchers: Mapping[str, str]
    ends: float
    comment: str
    created: float
    by: str = ""

    def matches(self, key: Key) -> bool:
        return all(
            fnmatch.fnmatchcase(getattr(key, label), glob) for label, glob in self.matchers.items()
        )

    def active(self, now: float) -> bool:
        return now < self.ends

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "matchers": dict(self.matchers),
            "ends": self.ends,
            "comment": self.comment,
            "created": self.created,
            "by": self.by,
        }


NoticeKind = Literal["firing", "repeat", "resolved", "test"]


@dataclass(frozen=True)
class Notice:
    """One alert's news for people: it fired, it still fires (``repeat``), it resolved."""

    kind: NoticeKind
    alert: Alert  # a snapshot at the moment of the notice
    held_for: float  # seconds the condition has held (firing, repeat) or fired (resolved)
    ts: float
    # The host's top processes at that moment: {"cpu": [row, ...], "memory": [row, ...]}, up
    # to 5 each, rows as the processes collector sends them (pid, name, cpu, memory, ...).
    processes: Mapping[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    @property
    def critical(self) -> bool:
        return self.alert.state is State.CRITICAL


class Outbox(Protocol):
    """Where the engine hands notices (``notify.Notifier``); called on the event loop."""

    def offer(self, notice: Notice, now: float) -> bool:
        """Take ``notice`` for delivery (True), or not now (False: quiet hours and not
        critical): the engine offers it again at its next evaluation."""
        ...

    def tick(self, now: float) -> None:
        """Send groups whose ``group_wait`` is over; called after every evaluation."""
        ...


class AlertsView(Protocol):
    """What the web reads and changes. Methods that touch the SQLite file block: call them
    through the runtime's native workers, never on the event loop."""

    def alerts(self) -> list[Alert]: ...
    def transitions(self, limit: int = 100) -> list[Transition]: ...
    def silences(self) -> list[Silence]: ...
    def restarts(self) -> list[float]:
        """When the dashboard process started (unix seconds; this run's start included),
        oldest first, within the transitions' retention, at most 100."""
        ...

    def add_silence(
        self, matchers: Mapping[str, str], ends: float, comment: str, by: str
    ) -> Silence:
        """Raises ``ValueError`` with a message fit for the client on a bad request."""
        ...

    def remove_silence(self, silence_id: str) -> bool: ...
    def ack(self, key: Key, by: str, comment: str = "") -> Alert:
        """Raises ``KeyError`` for an unknown instance, ``ValueError`` for one not firing."""
        ...

    def rule_lines(self) -> list[dict[str, Any]]:
        """Each rule's thresholds for the page: name, kind, series and host globs, warn,
        crit, clear, below."""
        ...

    def on_transition(self, callback: Callable[[Transition, Alert], None]) -> None:
        """Call ``callback`` on the event loop for every transition (the ``alert`` push)."""
        ...

    def on_silences_changed(self, callback: Callable[[list[Silence]], None]) -> None:
        """Call ``callback`` on the event loop with the active silences after some expired
        or came or ended in another web process (the ``silences`` push). Changes made
        through ``add_silence`` and ``remove_silence`` here are not told: their caller
        knows of them."""
        ...

    def on_acked(self, callback: Callable[[Key, str], None]) -> None:
        """Call ``callback(key, by)`` on the event loop for an ack made in another web
        process (the ``acked`` push); an ``ack`` here is its caller's to tell."""
        ...

    def on_rules_changed(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call ``callback(rule_lines)`` on the event loop after a reload changed the rules
        (the ``rules`` push: pages redraw their threshold lines)."""
        ...
