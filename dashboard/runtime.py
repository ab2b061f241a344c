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
from dashboard.alerts.engine import Engine, Failures, Seen, Sources
from dashboard.alerts.model import Outbox
from dashboard.alerts.rules import Rule, load_rules
from dashboard.alerts.store import AlertStore
from dashboard.history.tiers import Answer, History, Query
from dashboard.looplag import LoopLag
from dashboard.pipeline.filters import FilterCheck, describe_error
from dashboard.pipeline.hub import Emitter, Hub, Topic
from dashboard.pipeline.plugins import PluginError, Skipped
from dashboard.pipeline.registry import Loaded, Registry
from dashboard.pipeline.runner import CollectorRunner
from dashboard.pipeline.scheduler import Job, Scheduler
from dashboard.settings import Settings
from dashboard.snapshots.recorder import Recorder
from dashboard.snapshots.store import SnapshotStore
from dashboard.workers import NativeWorkers

log = logging.getLogger(__name__)
OPEN_TIMEOUT = 60.0  # opening checks the file; a huge or slow one must not hang start-up
QUERY_TIMEOUT = 15.0
FLUSH_TIMEOUT = 30.0
MAINTAIN_EVERY = 60.0
EVALUATE_EVERY = 1.0
EVALUATE_TIMEOUT = 10.0
BREATHE = 0.0005  # s the evaluation pauses every 256 instances, for the event loop's thread


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
        evaluate: bool = True,
        snapshots: bool = True,
    ) -> None:
        """``host``: the name this machine's samples carry; ``collect`` False: run none of
        the collectors (a web process under scale-out, which serves other hosts');
        ``evaluate`` False: no alert rules (an agent: the web processes evaluate its data);
        ``snapshots`` False: no process snapshots (an agent: the web processes keep them)."""
        self.settings, self.clock = settings, clock
        self.workers = NativeWorkers(settings.server.async_mode)
        self.history = History(settings.history, clock=clock)
        self.hub = Hub(emitter, self.history, host or hostname())
        self.queue: Any = None  # the fleet's Consumer or Sender, when [queue] url is set
        # Alerts: the engine evaluates every host's readings the hub publishes (this
        # machine's and, under scale-out, each agent's); the server sets the outbox.
        self.alerts: Engine | None = None
        self.outbox: Outbox | None = None
        self.heartbeat: Any = None  # notify.heartbeat.Heartbeat, when [alerts] heartbeat_url
        self._alert_error: str | None = None
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
        jobs = [
            Job(
                "history-flush",
                self._in_worker(self.history.flush),
                settings.history.flush_interval,
            ),
            Job("history-maintain", self._in_worker(self.history.maintain), MAINTAIN_EVERY),
        ]
        # Process snapshots of every host's scans, written with history's cadence.
        self.snapshots: Recorder | None = None
        if snapshots:
            self.snapshots = self._recorder()
            self.hub.watch(self.snapshots.observe)
            jobs += [
                Job("snapshots-flush", self._in_worker(self.snapshots.flush),
                    settings.history.flush_interval),
                Job("snapshots-maintain", self._in_worker(self.snapshots.maintain),
                    MAINTAIN_EVERY),
            ]  # fmt: skip
        if settings.alerts.enabled and evaluate:
            self.alerts = self._engine(load_rules(settings))
            self.hub.watch(self.alerts.observe)
            jobs.append(Job("alerts-evaluate", self.evaluate_alerts, EVALUATE_EVERY))
        self.scheduler = Scheduler(self.runners.values(), jobs)

    def _engine(self, rules: list[Rule]) -> Engine:
        """The alert engine; its tables live in the history file (or in memory)."""
        settings = self.settings
        store = AlertStore(settings.history.path, retention=settings.history.rollup_retention)
        return Engine(rules, store, self.clock, self.alert_sources,
                      repeat=settings.alerts.repeat, settle=settings.alerts.group_wait,
                      breathe=BREATHE)  # fmt: skip

    def _recorder(self) -> Recorder:
        """The snapshot recorder; its table lives in the history file (or in memory)."""
        history = self.settings.history
        store = SnapshotStore(history.path)
        return Recorder(store, history.retention, history.flush_interval, self.clock)

    def process_snapshot(
        self, host: str, ts: float, flt: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The stored process snapshot of ``host`` nearest ``ts``, its rows through the
        table filter ``flt``; None if none is kept. Read in a native thread."""
        recorder = self.snapshots
        if recorder is None:
            return None

        def find() -> dict[str, Any] | None:
            found = recorder.nearest(host, ts)
            return None if found is None else found.as_json(flt)

        return self.workers.call(find, QUERY_TIMEOUT)

    def alert_sources(self) -> Sources:
        """What stale and failing rules read: every topic's newest sample, and this
        machine's runners' failures in a row (another host's are not sent here)."""
        seen = [
            Seen(topic.host, topic.collector.name, topic.last_seen)
            for topic in self.hub.topics()
            if not (topic.host == self.hub.host and self.collects
                    and topic.collector.name not in self.runners)  # stopped by a reload
        ]  # fmt: skip
        failures = [
            Failures(self.hub.host, name, runner.health.consecutive_failures)
            for name, runner in list(self.runners.items())
        ]
        return Sources(seen, failures)

    def evaluate_alerts(self) -> None:
        """The "alerts-evaluate" job: evaluate in a native worker, then (back here, on the
        loop) push the transitions and offer the notices."""
        engine = self.alerts
        if engine is None:
            return
        try:
            transitions, notices = self.workers.call(engine.evaluate, EVALUATE_TIMEOUT)
            engine.deliver(transitions, notices, self.outbox, self.clock())
        except Exception as exc:
            self._alert_failed(engine, exc)
            return
        engine.last_error = self._alert_error = None

    def _alert_failed(self, engine: Engine, exc: Exception) -> None:
        message = describe_error(exc)
        engine.last_error = message
        if message != self._alert_error:  # once per distinct problem, not once a second
            log.error("alerts: evaluation failed: %s", message, exc_info=exc)
        self._alert_error = message

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
        path = self.settings.history.path
        self._within(self.history.open, OPEN_TIMEOUT, f"history: opening {path}")
        if self.alerts is not None:
            self._within(self.alerts.open, OPEN_TIMEOUT, "alerts: reading their state")
        if self.snapshots is not None:
            self._within(self.snapshots.open, OPEN_TIMEOUT, "snapshots: opening their table")
        self.scheduler.start()

    def stop(self) -> None:
        """Stop collecting and write what history holds (safe to call twice)."""
        self.scheduler.stop()
        if self.queue is not None:
            self.queue.stop()
        if self.alerts is not None:
            self._within(self.alerts.close, FLUSH_TIMEOUT, "alerts: saving their state")
        if self.snapshots is not None:
            self._within(self.snapshots.close, FLUSH_TIMEOUT, "snapshots: the last write")
        self._within(self.history.close, FLUSH_TIMEOUT, "history: the last write")

    def _within(self, fn: Callable[[], object], timeout: float, what: str) -> None:
        """``fn()`` in a native thread; if it takes over ``timeout`` s, say so and go on."""
        try:
            self.workers.call(fn, timeout)
        except TimeoutError:
            log.error("%s took over %.0f s", what, timeout)

    def query_history(self, query: Query) -> Answer:
        """History rows; read in a native thread when the answer needs the file or
        computes rollups (a range beyond raw's reach when history is in memory only)."""
        if self.history.needs_disk(query) or query.rollup:
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
