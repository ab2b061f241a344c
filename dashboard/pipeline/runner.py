"""One error boundary per collector: time each call, count failures, back off, never spread.

The scheduler calls ``CollectorRunner.tick`` on the collector's interval. Everything that runs
collector code happens in a native thread with a timeout — ``collect`` then ``describe``, our
own checks of what they returned, and each room's ``apply_filter`` (``Outlet.prepare``) — so
whatever the collector does (raise, hang, ``sys.exit()``, return garbage) ends up as a failure
counted here and shown in ``/healthz``, while the other collectors keep their cadence. Back
on the event loop, ``Outlet.publish`` only writes prepared text. A client's filter request is
checked the same way (``check_filter``, see ``filters``): in a native thread, with a timeout.

A NaN or an infinity is not a failure: ``validate`` publishes that one value as a gap, and it
is counted here (``non_finite``) and warned about once a minute at the most.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from collectors.base import Collector, Series
from dashboard.pipeline.filters import FilterCheck, describe_error
from dashboard.pipeline.payloads import FilterFault, Prepared
from dashboard.pipeline.validate import BadOutput, Reading, check_series, validate
from dashboard.workers import NativeWorkers

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0
WARN_EVERY = 60.0  # seconds between warnings about non-finite values, per collector


class Outlet(Protocol):
    """Where a run's reading goes (the hub): prepared in the worker, published on the loop."""

    def prepare(self, name: str, reading: Reading, series: list[Series] | None) -> Prepared: ...
    def publish(self, name: str, prepared: Prepared) -> None: ...


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
    non_finite: int = 0  # values published as no value because they were NaN or infinite
    last_non_finite: str | None = None  # the series (or "rows[i].field") of the latest one

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "last_run": self.last_run,
            "last_error": self.last_error,
            "last_duration": self.last_duration,
            "runs": self.runs,
            "failures": self.failures,
            "skipped": self.skipped,
            "non_finite": self.non_finite,
            "last_non_finite": self.last_non_finite,
        }


@dataclass(frozen=True)
class _Failed:
    """An exception raised by collector code, carried back from its native thread."""

    error: BaseException


_Outcome = Prepared | _Failed


class CollectorRunner:
    """Runs one collector on its schedule behind an error boundary."""

    def __init__(
        self,
        collector: Collector,
        interval: float,
        timeout: float,
        workers: NativeWorkers,
        outlet: Outlet,
        series: Sequence[Series] = (),
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.collector, self.name = collector, collector.name
        self.interval, self.timeout = interval, timeout
        self.workers, self.outlet = workers, outlet
        self.clock, self.monotonic = clock, monotonic
        self.health = Health()
        self.series: list[Series] = list(series)  # described at load, in a native thread
        self._inflight = False
        self._filters = FilterCheck(collector, workers, self._filter_fault)
        self._retry_at = 0.0
        self._warned_at: float | None = None

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
            outcome: _Outcome = self.workers.call(self._guarded, self.timeout)
        except TimeoutError as exc:
            outcome = _Failed(exc)
        self.health.last_duration = round(self.monotonic() - started, 6)
        self._finish(outcome)

    def check_filter(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """A client's filter, checked by the collector off the event loop (``filters``)."""
        return self._filters(request)

    def _filter_fault(self, error: BaseException) -> None:
        self._fail(describe_error(error), error=error, backoff=False)

    def _guarded(self) -> _Outcome:
        """Runs in the native thread: the only place the collector's own code executes."""
        try:
            try:
                result, series = self.collector.collect(), list(self.collector.describe())
            except BaseException as exc:  # SystemExit and friends must not escape a plugin
                return _Failed(exc)
            try:
                check_series(self.name, series)
                reading = validate(result, {s.name for s in series}, self.clock())
            except BadOutput as exc:
                return _Failed(exc)
            changed = series if series != self.series else None
            return self.outlet.prepare(self.name, reading, changed)
        finally:
            self._inflight = False

    def _finish(self, outcome: _Outcome) -> None:
        self.health.runs += 1
        self.health.last_run = self.clock()
        if isinstance(outcome, _Failed):
            self._fail(describe_error(outcome.error), error=outcome.error)
            return
        if outcome.series is not None:
            self.series = outcome.series
        self._count_non_finite(outcome.reading)
        if outcome.faults:
            # The other rooms got their sample: count the fault, keep the cadence.
            self._fail(_faults_message(outcome.faults), outcome.faults[0].error, backoff=False)
        else:
            self._succeed()
        reading = outcome.reading
        if reading.values or reading.rows is not None:
            self.outlet.publish(self.name, outcome)

    def _count_non_finite(self, reading: Reading) -> None:
        """A NaN or an infinity costs its one value (a gap), not the run: counted, and warned
        about once a minute at the most (a flaky sensor would fill the log otherwise)."""
        if not reading.non_finite:
            return
        self.health.non_finite += reading.non_finite
        self.health.last_non_finite = reading.non_finite_series
        now = self.monotonic()
        if self._warned_at is not None and now - self._warned_at < WARN_EVERY:
            return
        self._warned_at = now
        log.warning(
            "collector %s: %r was NaN or infinite, published as no value (%d such value(s) in "
            "this reading, %d since start; this warning comes once a minute at the most)",
            self.name,
            reading.non_finite_series,
            reading.non_finite,
            self.health.non_finite,
        )

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
        self,
        message: str,
        error: BaseException | None = None,
        state: str = "failing",
        backoff: bool = True,
    ) -> None:
        health = self.health
        health.failures += 1
        health.consecutive_failures += 1
        health.state = "timeout" if isinstance(error, TimeoutError) else state
        health.last_error = message
        delay = min(self.interval * 2 ** (health.consecutive_failures - 1), MAX_BACKOFF)
        if backoff:
            self._retry_at = self.monotonic() + delay - self.interval
        # A traceback helps with the collector's own exceptions, not with timeouts or output
        # our checks refused (their message says it all).
        traceback = error is not None and not isinstance(error, (TimeoutError, BadOutput))
        if health.consecutive_failures == 1 and traceback:
            log.error("collector %s failed: %s", self.name, message, exc_info=error)
        else:
            log.warning(
                "collector %s failed (%d in a row%s): %s",
                self.name,
                health.consecutive_failures,
                f"; retry in {delay:.0f} s" if backoff else "",
                message,
            )


def _faults_message(faults: list[FilterFault]) -> str:
    first = faults[0].message
    return first if len(faults) == 1 else f"{first} (and in {len(faults) - 1} more rooms)"
