"""The ``model.Outbox``: takes notices on the event loop, applies quiet hours, groups them,
applies each target's hourly limit, and hands every message to every target as its own
background task. ``offer`` and ``tick`` never wait on the network."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from dashboard.alerts.model import Key, Notice
from dashboard.alerts.notify.delivery import DEFAULT, Policy, deliver
from dashboard.alerts.notify.grouping import Grouper
from dashboard.alerts.notify.hourly import HourlyLimit
from dashboard.alerts.notify.message import LocalTime, Message, compose
from dashboard.alerts.notify.quiet import is_quiet
from dashboard.alerts.notify.stats import Stats
from dashboard.alerts.notify.target import Target
from dashboard.settings import AlertSettings

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        settings: AlertSettings,
        targets: Sequence[Target],
        spawn: Callable[..., Any],
        clock: Callable[[], float],
        policy: Policy = DEFAULT,
        localtime: LocalTime = time.localtime,
    ) -> None:
        self.targets = list(targets)
        self.settings = settings
        self._spawn, self._clock, self._policy, self._localtime = spawn, clock, policy, localtime
        self._grouper = Grouper(settings.group_wait)
        self._limits = {t.name: HourlyLimit(t.name, settings.max_per_hour) for t in targets}
        self._stats = Stats({t.name: t.kind for t in targets})
        # Instances whose firing went out as critical: their resolve is critical news too,
        # delivered in quiet hours (the notice's snapshot says only "ok").
        self._critical: set[Key] = set()

    def offer(self, notice: Notice, now: float) -> bool:
        critical = notice.critical or (
            notice.kind == "resolved" and notice.alert.key in self._critical
        )
        if not critical and self.quiet(now):
            return False
        if notice.kind in ("firing", "repeat"):
            (self._critical.add if critical else self._critical.discard)(notice.alert.key)
        elif notice.kind == "resolved":
            self._critical.discard(notice.alert.key)
        for group in self._grouper.offer(notice, now):
            self._send(group, now)
        return True

    def tick(self, now: float) -> None:
        for group in self._grouper.tick(now):
            self._send(group, now)

    def quiet(self, now: float) -> bool:
        return is_quiet(self.settings.quiet_hours, now, self._localtime)

    def status(self) -> dict[str, Any]:
        """For /healthz: each target's counters and last outcomes, and what waits."""
        targets = self._stats.status()
        failing = [n for n, s in targets.items() if _failing(s)]
        return {
            "state": "failing" if failing else "ok",
            "failing": failing,
            "targets": targets,
            "waiting": self._grouper.waiting,
            "quiet_now": self.quiet(self._clock()),
        }

    def counters(self) -> dict[str, dict[str, int]]:
        """``{target: {"delivered": n, "failed": n, "suppressed": n}}`` for /metrics."""
        return self._stats.counters()

    def _send(self, notices: list[Notice], now: float) -> None:
        message = compose(notices, now, self._localtime)
        for target in self.targets:
            held = self._limits[target.name].admit(now)
            if held is None:
                self._stats.suppressed(target.name)
                continue
            self._stats.started(target.name)
            self._spawn(self._deliver, target, message.for_target(held))

    def _deliver(self, target: Target, message: Message) -> None:
        """The background task: the network I/O, its retries, and their outcome."""
        try:
            outcome = deliver(target, message, self._policy)
        except BaseException as exc:  # the task was killed (shutdown): still counted
            self._stats.finished(target.name, False, 1, f"stopped: {exc!r}", self._clock())
            raise
        answer = outcome.answer
        self._stats.finished(target.name, answer.ok, outcome.attempts, answer.detail, self._clock())
        if answer.ok:
            log.info("alerts: %s: delivered %r (%s)", target.name, message.title(), answer.detail)
            return
        log.error(
            "alerts: notification to %s failed after %d attempt%s in %.1f s: %s (%r not delivered)",
            target.name, outcome.attempts, "s" if outcome.attempts > 1 else "",
            outcome.seconds, answer.detail, message.title(),
        )  # fmt: skip


def _failing(stats: dict[str, Any]) -> bool:
    """The target's last message failed (a later success clears it)."""
    error_at = stats["last_error_at"]
    return error_at is not None and (stats["last_ok"] is None or stats["last_ok"] < error_at)
