"""Grouping, leading-edge: the first notice after a quiet period goes at once; notices that
come within ``group_wait`` after it go together, in one message, when that wait ends. If
more came, the next wait starts then; a wait with nothing in it ends the group.
``group_wait = 0`` sends every notice on its own."""

from __future__ import annotations

from dashboard.alerts.model import Notice


class Grouper:
    def __init__(self, group_wait: float) -> None:
        self.group_wait = group_wait
        self._until: float | None = None  # end of the current wait; None: quiet
        self._held: list[Notice] = []

    def offer(self, notice: Notice, now: float) -> list[list[Notice]]:
        """The groups to send now: this notice alone if quiet, else nothing (it waits)
        — plus a group whose wait ended, when no ``tick`` came between."""
        due = self.tick(now)
        if self._until is None:
            self._until = now + self.group_wait
            return [*due, [notice]]
        self._held.append(notice)
        return due

    def tick(self, now: float) -> list[list[Notice]]:
        if self._until is None or now < self._until:
            return []
        if not self._held:
            self._until = None
            return []
        group, self._held = self._held, []
        self._until = now + self.group_wait
        return [group]

    @property
    def waiting(self) -> int:
        return len(self._held)
