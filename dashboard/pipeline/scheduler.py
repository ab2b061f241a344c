"""The one place background work starts: an APScheduler job per enabled collector.

Under eventlet/gevent the scheduler's threads are green (the process is monkey-patched);
each job only waits on its collector's native worker thread, so the loop stays free.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler

from dashboard.pipeline.runner import CollectorRunner

# APScheduler logs every run at INFO; one line per second per collector buries real news.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Job:
    """Housekeeping on an interval (history writes), beside the collectors."""

    name: str
    run: Callable[[], None]
    interval: float


class Scheduler:
    """Runs each runner's ``tick`` on its interval; overlapping runs coalesce into one."""

    def __init__(self, runners: Iterable[CollectorRunner], jobs: Sequence[Job] = ()) -> None:
        self.runners = list(runners)
        self.jobs = list(jobs)
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )
        self.last_tick: float | None = None  # time.monotonic() of the last job that ran
        self._scheduler.add_listener(self._ticked, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _ticked(self, _event: object) -> None:
        self.last_tick = time.monotonic()

    def alive(self, within: float) -> bool:
        """Whether a job ran in the last ``within`` seconds (the watchdog's gate)."""
        return self.last_tick is not None and time.monotonic() - self.last_tick < within

    def start(self) -> None:
        now = datetime.now(UTC)
        for index, runner in enumerate(self.runners):
            # Spread the collectors over the first second instead of firing them all on the
            # same beat: each sample's emit then has the loop to itself.
            offset = timedelta(seconds=index / max(1, len(self.runners)))
            self._scheduler.add_job(
                runner.tick,
                "interval",
                seconds=runner.interval,
                id=runner.name,
                name=runner.name,
                next_run_time=now + offset,
            )
        for job in self.jobs:
            self._scheduler.add_job(
                job.run, "interval", seconds=job.interval, id=job.name, name=job.name
            )
        self._scheduler.start()

    def add(self, runner: CollectorRunner) -> None:
        """Start running a collector that was not running (enabled by a reload)."""
        self.runners.append(runner)
        self._scheduler.add_job(
            runner.tick, "interval", seconds=runner.interval, id=runner.name, name=runner.name
        )

    def remove(self, name: str) -> None:
        self.runners = [r for r in self.runners if r.name != name]
        if self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    def reschedule(self, name: str, interval: float) -> None:
        self._scheduler.reschedule_job(name, trigger="interval", seconds=interval)

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
