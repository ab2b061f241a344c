"""A stand-in for the alerts engine that implements ``model.AlertsView`` in memory: a test
sets instances and makes transitions happen by hand (``move``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from dashboard.alerts.model import MATCHER_KEYS, MAX_SILENCE, Alert, Key, Silence, State, Transition

RULES = [
    {"name": "disk-full", "kind": "threshold", "series": "toy.*", "host": "*", "warn": 90.0,
     "crit": 95.0, "clear": 88.0, "below": False},
]  # fmt: skip


class FakeAlerts:
    """``model.AlertsView`` over dictionaries; ``move`` is a transition, as the engine's
    evaluation would make it (callbacks run at once, on the caller's thread)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.instances: dict[Key, Alert] = {}
        self.history: list[Transition] = []
        self.active: dict[str, Silence] = {}
        self.callbacks: list[Callable[[Transition, Alert], None]] = []
        self.silence_callbacks: list[Callable[[list[Silence]], None]] = []
        self.ack_callbacks: list[Callable[[Key, str], None]] = []
        self.rule_callbacks: list[Callable[[list[dict[str, Any]]], None]] = []
        self.acks: list[tuple[Key, str, str]] = []
        self.starts: list[float] = [clock()]  # this "process" started when the fake was made
        self._ids = itertools.count(1)

    def move(self, key: Key, state: State, value: float, threshold: float | None = 95.0) -> None:
        before = self.instances.get(key)
        previous = before.state if before is not None else State.OK
        now = self.clock()
        alert = Alert(key, state, value, threshold, now, summary=f"{key.series} at {value}")
        alert.silenced = next((s.id for s in self.active.values() if s.matches(key)), None)
        self.instances[key] = alert
        transition = Transition(key, previous, state, value, threshold, now)
        self.history.append(transition)
        for callback in self.callbacks:
            callback(transition, alert)

    def expire(self) -> None:
        """Silences past their end go, and the callbacks hear of it (as the engine's
        evaluation and ``deliver`` do)."""
        now = self.clock()
        self.active = {sid: s for sid, s in self.active.items() if s.active(now)}
        for callback in self.silence_callbacks:
            callback(self.silences())

    def alerts(self) -> list[Alert]:
        return sorted(self.instances.values(), key=lambda a: a.key)

    def transitions(self, limit: int = 100) -> list[Transition]:
        return self.history[-limit:]

    def silences(self) -> list[Silence]:
        now = self.clock()
        return [s for s in self.active.values() if s.active(now)]

    def restarts(self) -> list[float]:
        return list(self.starts)

    def add_silence(
        self, matchers: Mapping[str, str], ends: float, comment: str, by: str
    ) -> Silence:
        if set(matchers) - set(MATCHER_KEYS) or ends > self.clock() + MAX_SILENCE + 60:
            raise ValueError("bad silence")
        silence = Silence(f"s{next(self._ids)}", dict(matchers), ends, comment, self.clock(), by)
        self.active[silence.id] = silence
        for key, alert in self.instances.items():
            if silence.matches(key):
                self.instances[key] = replace(alert, silenced=silence.id)
        return silence

    def remove_silence(self, silence_id: str) -> bool:
        return self.active.pop(silence_id, None) is not None

    def ack(self, key: Key, by: str, comment: str = "") -> Alert:
        alert = self.instances[key]
        if not alert.state.firing:
            raise ValueError(f"{key.rule} on {key.host} is {alert.state.value}, not firing")
        self.instances[key] = alert = replace(alert, acked=True)
        self.acks.append((key, by, comment))
        return alert

    def rule_lines(self) -> list[dict[str, Any]]:
        return [dict(r) for r in RULES]

    def on_transition(self, callback: Callable[[Transition, Alert], None]) -> None:
        self.callbacks.append(callback)

    def on_silences_changed(self, callback: Callable[[list[Silence]], None]) -> None:
        self.silence_callbacks.append(callback)

    def on_acked(self, callback: Callable[[Key, str], None]) -> None:
        self.ack_callbacks.append(callback)

    def on_rules_changed(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        self.rule_callbacks.append(callback)

    def status(self) -> dict[str, Any]:
        firing = sum(a.state.firing for a in self.instances.values())
        return {"rules": len(RULES), "instances": len(self.instances), "firing": firing,
                "last_evaluation": self.clock(), "last_error": None}  # fmt: skip
