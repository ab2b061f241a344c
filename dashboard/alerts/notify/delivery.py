"""One message to one target: attempts with a hard timeout each, exponential backoff
between them, and an outcome that says what the far end answered last."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.alerts.notify import deadline
from dashboard.alerts.notify.message import Message
from dashboard.alerts.notify.target import Answer, Target


@dataclass(frozen=True)
class Policy:
    """``timeout`` bounds each attempt; ``delays`` are the waits before each retry, so
    ``len(delays) + 1`` attempts in all. ``sleep`` runs in the delivery task, never on
    the event loop's path (monkey-patched, ``time.sleep`` yields to the hub)."""

    timeout: float = 10.0
    delays: tuple[float, ...] = (1.0, 4.0, 16.0)
    sleep: Callable[[float], None] = time.sleep

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1


DEFAULT = Policy()
SELFTEST = Policy(timeout=10.0, delays=(1.0,))  # `dashboard alerts test`: someone waits


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    attempts: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.answer.ok


def deliver(target: Target, message: Message, policy: Policy = DEFAULT) -> Outcome:
    """Try until one attempt succeeds, a final answer comes, or the attempts run out."""
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        answer = _attempt(target, message, policy.timeout)
        if answer.ok or not answer.retry or attempt == policy.attempts:
            return Outcome(answer, attempt, time.monotonic() - started)
        policy.sleep(policy.delays[attempt - 1])
    raise AssertionError("unreachable")  # the last attempt returns


def _attempt(target: Target, message: Message, timeout: float) -> Answer:
    try:
        return deadline.within(lambda: target.send(message, timeout), timeout)
    except TimeoutError:  # ours, or the socket's
        return Answer(False, f"no answer within {timeout:g} s")
    except Exception as exc:  # a library's error is an answer too; the task must not die
        return Answer(False, target.redact(f"{type(exc).__name__}: {exc}"))
