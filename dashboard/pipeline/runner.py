"""One error boundary per collector: time each call, count failures, back off, never spread.

The scheduler calls ``CollectorRunner.tick`` on the collector's interval. The collector's own
code (``collect`` then ``describe``) runs in a native thread with a timeout; whatever it does
(raise, hang, ``sys.exit()``, return garbage) ends up as a failure counted here and shown in
``/healthz``, while the other collectors keep their cadence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collectors.base import SERIES_RE, Collector, Series
from dashboard.pipeline.validate import BadOutput, Reading, validate
from dashboard.workers import NativeWorkers

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0

Publish = Callable[[str, Reading, "list[Series] | None"], None]


@dataclass
class Health:
    """What ``/healthz`` and the page show for one collector."""

    last_run: float | None = None
    last_error: str | None = None
    last_duration: float | None = None
    runs: int = 0
    failures: int = 0
    skipped: int = 0
    consecutive_failures: int = 0
    state: str = "starting"

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "last_run": self.last_run,
            "last_error": self.last_error,
            "last_duration": self.last_duration,
            "runs": self.runs,
            "failures": self.failures,
            "skipped": self.skipped,
        }


@dataclass(frozen=True)
class _Failed:
    """An exception raised by collector code, carried back from its native thread."""

    error: BaseException


class CollectorRunner:
    """Runs one collector on its schedule behind an error boundary."""

    def __init__(
        self,
        collector: Collector,
        interval: float,
        timeout: float,
        workers: NativeWorkers,
        publish: Publish,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.collector, self.name = collector, collector.name
        self.interval, self.timeout = interval, timeout
        self.workers, self.publish = workers, publish
        self.clock, self.monotonic = clock, monotonic
        self.health = Health()
        self.series: list[Series] = list(collector.describe())
        self._inflight = False
        self._retry_at = 0.0

    def tick(self) -> None:
        """One scheduled run: skip while backing off or while the last call still runs."""
        if self.monotonic() < self._retry_at:
            return
        if self._inflight:
            self.health.skipped += 1
            self._fail("still running from an earlier call (hung?)", state="hung")
            return
        self._inflight = True
        started = self.monotonic()
        try:
            outcome = self.workers.call(self._guarded, self.timeout)
        except TimeoutError as exc:
            outcome = _Failed(exc)
        self.health.last_duration = round(self.monotonic() - started, 6)
        self._finish(outcome)

    def _guarded(self) -> tuple[Any, list[Series]] | _Failed:
        """Runs in the native thread: the only place the collector's own code executes."""
        try:
            return self.collector.collect(), list(self.collector.describe())
        except BaseException as exc:  # SystemExit and friends must not escape a plugin
            return _Failed(exc)
        finally:
            self._inflight = False

    def _finish(self, outcome: tuple[Any, list[Series]] | _Failed) -> None:
        self.health.runs += 1
        self.health.last_run = self.clock()
        if isinstance(outcome, _Failed):
            self._fail(_describe_error(outcome.error), error=outcome.error)
            return
        result, series = outcome
        try:
            changed = self._check_series(series)
            reading = validate(result, {s.name for s in self.series}, self.health.last_run)
        except BadOutput as exc:
            self._fail(f"bad output: {exc}")
            return
        self._succeed()
        if reading.values or reading.rows is not None:
            self.publish(self.name, reading, self.series if changed else None)

    def _check_series(self, series: list[Series]) -> bool:
        for item in series:
            if not isinstance(item, Series) or not SERIES_RE.match(str(item.name)):
                raise BadOutput(f"describe() returned {item!r}; expected Series with valid names")
            if not item.name.startswith(self.name + "."):
                # Names are global (/metrics gauges, exports): each collector keeps its prefix.
                raise BadOutput(f"series {item.name!r} must start with {self.name + '.'!r}")
        if len(series) > 2_000:
            raise BadOutput(f"describe() returned {len(series)} series; at most 2000")
        changed = series != self.series
        self.series = series
        return changed

    def _succeed(self) -> None:
        if self.health.consecutive_failures:
            log.info(
                "collector %s recovered after %d failures",
                self.name,
                self.health.consecutive_failures,
            )
        self.health.consecutive_failures = 0
        self.health.state = "ok"
        self.health.last_error = None
        self._retry_at = 0.0

    def _fail(
        self, message: str, error: BaseException | None = None, state: str = "failing"
    ) -> None:
        health = self.health
        health.failures += 1
        health.consecutive_failures += 1
        health.state = "timeout" if isinstance(error, TimeoutError) else state
        health.last_error = message
        backoff = min(self.interval * 2 ** (health.consecutive_failures - 1), MAX_BACKOFF)
        self._retry_at = self.monotonic() + backoff - self.interval
        if (
            health.consecutive_failures == 1
            and error is not None
            and not isinstance(error, TimeoutError)
        ):
            log.error("collector %s failed: %s", self.name, message, exc_info=error)
        else:
            log.warning(
                "collector %s failed (%d in a row; retry in %.0f s): %s",
                self.name,
                health.consecutive_failures,
                backoff,
                message,
            )


def _describe_error(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return str(error)
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    return f"{type(error).__name__}: {error}"
