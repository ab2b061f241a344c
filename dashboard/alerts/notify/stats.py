"""Per-target counters and last outcomes: ``Notifier.status()`` for /healthz and
``Notifier.counters()`` for /metrics. Delivery tasks write, the event loop reads: one
native lock, held for a few assignments only (never across I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from dashboard.workers import native_lock


@dataclass
class TargetStats:
    kind: str
    delivered: int = 0  # messages the target accepted
    failed: int = 0  # messages that ended in the final failure, after their retries
    suppressed: int = 0  # messages max_per_hour held back
    retries: int = 0  # attempts after a message's first
    in_flight: int = 0  # delivery tasks running now
    last_ok: float | None = None  # unix time of the last accepted message
    last_error: str | None = None  # the last failure's final answer (never a secret)
    last_error_at: float | None = None


class Stats:
    def __init__(self, kinds: dict[str, str]) -> None:
        self._lock = native_lock()
        self._targets = {name: TargetStats(kind) for name, kind in kinds.items()}

    def started(self, name: str) -> None:
        with self._lock:
            self._targets[name].in_flight += 1

    def finished(self, name: str, ok: bool, attempts: int, detail: str, now: float) -> None:
        with self._lock:
            stats = self._targets[name]
            stats.in_flight -= 1
            stats.retries += attempts - 1
            if ok:
                stats.delivered += 1
                stats.last_ok = now
            else:
                stats.failed += 1
                stats.last_error, stats.last_error_at = detail, now

    def suppressed(self, name: str) -> None:
        with self._lock:
            self._targets[name].suppressed += 1

    def status(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: asdict(stats) for name, stats in self._targets.items()}

    def counters(self) -> dict[str, dict[str, int]]:
        """``{target: {"delivered", "failed", "suppressed"}}``: monotonic, for /metrics."""
        with self._lock:
            return {
                name: {"delivered": s.delivered, "failed": s.failed, "suppressed": s.suppressed}
                for name, s in self._targets.items()
            }
