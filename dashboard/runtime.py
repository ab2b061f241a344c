"""The running dashboard, wired: collectors and their runners, the hub, history, the scheduler.

This module puts the parts together and starts and stops them as one. What a reload changes
is in ``dashboard.service.reload``; what ``/healthz``, systemd's ``STATUS=`` and the watchdog
are told is in ``dashboard.health``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from collectors.base import Collector, Sample, Series
from collectors.probe import hostname
from dashboard.history.tiers import Answer, History, Query
from dashboard.looplag import LoopLag
from dashboard.pipeline.filters import FilterCheck, describe_error
from dashboard.pipeline.hub import Emitter, Hub, Topic
from dashboard.pipeline.plugins import PluginError, Skipped
from dashboard.pipeline.registry import Loaded, Registry
from dashboard.pipeline.runner import CollectorRunner
from dashboard.pipeline.scheduler import Job, Scheduler
from dashboard.settings import Settings
from dashboard.workers import NativeWorkers

log = logging.getLogger(__name__)
OPEN_TIMEOUT = 60.0  # opening checks the file; a huge or slow one must not hang start-up
QUERY_TIMEOUT = 15.0
FLUSH_TIMEOUT = 30.0
MAINTAIN_EVERY = 60.0


class Runtime:
    """Everything behind the HTTP and Socket.IO handlers; started and stopped as one."""

    def __init__(
        self,
        settings: Settings,
        emitter: Emitter,
        registry: Registry,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
        collect: bool = True,
    ) -> None:
        """``host``: the name this machine's samples carry; ``collect`` False: run none of
        the collectors (a web process under scale-out, which serves other hosts')."""
        self.settings, self.clock = settings, clock
        self.workers = NativeWorkers(settings.server.async_mode)
        self.history = History(settings.history, clock=clock)
        self.hub = Hub(emitter, self.history, host or hostname())
        self.queue: Any = None  # the fleet's Consumer or Sender, when [queue] url is set
        self.collects = collect
        self.classes = {item.collector.name: type(item.collector) for item in registry.loaded}
        self.loop_lag = LoopLag()  # measured by the serve loop (dashboard.looplag.watch)
        self.runners: dict[str, CollectorRunner] = {}
        self.disabled: list[Collector] = []
        self.skipped: list[Skipped] = []
        self.plugin_errors: list[PluginError] = []
        self.origins: dict[str, str] = {}
        self._checks: dict[str, FilterCheck] = {}  # for collectors only other hosts run
        self.note_registry(registry)
        for error in registry.errors:
            log.error("%s — the plugin is disabled", error)
        for item in registry.loaded:
            if item.enabled and collect:
                self.add(item)
        self.scheduler = Scheduler(
            self.runners.values(),
            [
                Job(
                    "history-flush",
                    self._in_worker(self.history.flush),
                    settings.history.flush_interval,
                ),
                Job("history-maintain", self._in_worker(self.history.maintain), MAINTAIN_EVERY),
            ],
        )

    def note_registry(self, registry: Registry) -> None:
        """Remember what did not start, and why (``why_not_running``, ``/healthz``)."""
        self.disabled = [item.collector for item in registry.loaded if not item.enabled]
        self.skipped = list(registry.skipped)
        self.plugin_errors = list(registry.errors)
        self.origins.update({item.collector.name: item.origin for item in registry.loaded})
        self.origins.update({item.name: item.origin for item in registry.skipped})

    def add(self, item: Loaded) -> None:
        """Give a loaded collector its runner, its topic in the hub and its history ring."""
        runner = CollectorRunner(
            item.collector,
            item.interval,
            item.timeout,
            self.workers,
            self.hub,
            series=item.series,
            clock=self.clock,
        )
        self.runners[item.collector.name] = runner
        new = not self.hub.knows(item.collector.name)  # else running again after a reload
        self.hub.add(item.collector, item.default_filter, item.series, item.interval)
        if new:
            self.history.register(item.collector.name, item.interval)

    def adopt(self, topic: Topic) -> tuple[float, dict[str, float]] | None:
        """History for another host's collector, first seen now (in a native thread)."""
        return self.history.adopt(topic.key, topic.interval)

    def stand_in(self, name: str) -> Collector:
        """A collector of this name that runs nothing, for its filter code: this process's
        own class where it has one (built-ins, installed plugins), else a plain one."""
        cls = self.classes.get(name)
        if cls is None:
            cls = self.classes[name] = type(f"Remote_{name}", (Elsewhere,), {"name": name})
        return cls()

    def check_filter(self, name: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """A client's filter for collector ``name``, checked off the event loop by the
        collector's code: this machine's runner, else a stand-in of another host's."""
        runner = self.runners.get(name)
        if runner is not None:
            return runner.check_filter(request)
        check = self._checks.get(name)
        if check is None:
            topics = self.hub.topics(name)
            if not topics:
                raise ValueError(f"collector {name!r} is not served here")
            check = self._checks[name] = FilterCheck(topics[0].collector, self.workers, self._fault)
        return check(request)

    def _fault(self, error: BaseException) -> None:
        log.error("a filter check failed: %s", describe_error(error), exc_info=error)

    def why_not_running(self, name: str) -> str:
        """Why a collector this run has served (or been asked for) has no runner now."""
        if any(c.name == name for c in self.disabled) or any(s.name == name for s in self.skipped):
            return "disabled in settings"
        for error in self.plugin_errors:
            if error.plugin == name:
                return f"its plugin failed to load: {error.error}"
        return "not part of the settings now"

    def start(self) -> None:
        """Open history (its newest hour goes into memory), then start collecting."""
        try:
            self.workers.call(self.history.open, OPEN_TIMEOUT)
        except TimeoutError:
            log.error(
                "history: opening %s took over %.0f s", self.settings.history.path, OPEN_TIMEOUT
            )
        self.scheduler.start()

    def stop(self) -> None:
        """Stop collecting and write what history holds (safe to call twice)."""
        self.scheduler.stop()
        if self.queue is not None:
            self.queue.stop()
        try:
            self.workers.call(self.history.close, FLUSH_TIMEOUT)
        except TimeoutError:
            log.error("history: the last write did not finish within %.0f s", FLUSH_TIMEOUT)

    def query_history(self, query: Query) -> Answer:
        """History rows; read in a native thread when the answer needs the file."""
        if self.history.needs_disk(query):
            return self.workers.call(lambda: self.history.answer(query), QUERY_TIMEOUT)
        return self.history.answer(query)

    def running_options(self) -> dict[str, Any]:
        return {name: dict(r.collector.options) for name, r in self.runners.items()}

    def with_settings(self, settings: Settings) -> None:
        """A reload's new collector and plugin tables (the rest needs a restart)."""
        self.settings = replace(
            self.settings, collectors=settings.collectors, plugins=settings.plugins
        )

    def _in_worker(self, fn: Callable[[], None]) -> Callable[[], None]:
        """A scheduled job that runs ``fn`` in a native thread and logs what goes wrong."""

        def job() -> None:
            try:
                self.workers.call(fn, FLUSH_TIMEOUT)
            except TimeoutError:
                log.warning("history: %s still running after %.0f s", fn.__name__, FLUSH_TIMEOUT)
            except Exception:
                log.exception("history: %s failed", fn.__name__)

        return job


class Elsewhere(Collector):
    """Another host's collector this process has no code for: served, never run, no filter."""

    def describe(self) -> list[Series]:
        return []

    def collect(self) -> Sample:
        raise RuntimeError(f"{self.name} runs on its own host, not here")
