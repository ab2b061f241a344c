"""The running dashboard: collectors, their runners, the hub, history and the scheduler."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from collectors.probe import hostname
from dashboard.history.tiers import Answer, History, Query
from dashboard.pipeline.hub import Emitter, Hub
from dashboard.pipeline.registry import Loaded, Registry
from dashboard.pipeline.runner import CollectorRunner
from dashboard.pipeline.scheduler import Job, Scheduler
from dashboard.settings import Settings
from dashboard.web.auth import Auth
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
    ) -> None:
        self.settings, self.clock = settings, clock
        self.auth = Auth(settings.auth.token)
        self.workers = NativeWorkers(settings.server.async_mode)
        self.history = History(settings.history, clock=clock)
        self.hub = Hub(emitter, self.history, hostname())
        self.runners: dict[str, CollectorRunner] = {}
        self.disabled = [item.collector for item in registry.loaded if not item.enabled]
        self.plugin_errors = registry.errors
        for error in registry.errors:
            log.error("%s — the plugin is disabled", error)
        self.origins = {item.collector.name: item.origin for item in registry.loaded}
        for item in registry.loaded:
            if item.enabled:
                self._add(item)
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

    def apply(
        self, settings: Settings, registry: Registry, on_collector: Callable[[str], None]
    ) -> list[str]:
        """Apply a reloaded registry: stop, start and reschedule collectors (see reload.py).

        A collector that keeps running keeps its instance (its counters, its options);
        ``on_collector`` registers the namespace of one that was never part of this run.
        """
        wanted = {item.collector.name: item for item in registry.loaded if item.enabled}
        changes = []
        for name in [n for n in self.runners if n not in wanted]:
            self.scheduler.remove(name)
            del self.runners[name]
            changes.append(f"{name} stopped")
        for name, item in wanted.items():
            runner = self.runners.get(name)
            if runner is None:
                new_to_run = not self.hub.knows(name)
                self._add(item)
                if new_to_run:
                    on_collector(name)
                self.scheduler.add(self.runners[name])
                where = "" if item.origin == "built-in" else f" ({item.origin})"
                changes.append(f"{name} started{where}")
            elif runner.interval != item.interval:
                changes.append(f"{name} every {runner.interval:g} s -> {item.interval:g} s")
                runner.interval, runner.timeout = item.interval, item.timeout
                self.scheduler.reschedule(name, item.interval)
        fresh = [e for e in registry.errors if str(e) not in {str(o) for o in self.plugin_errors}]
        for error in fresh:
            log.error("%s — the plugin is disabled", error)
        self.plugin_errors = registry.errors
        self.disabled = [item.collector for item in registry.loaded if not item.enabled]
        self.origins.update({item.collector.name: item.origin for item in registry.loaded})
        self.settings = replace(
            self.settings, collectors=settings.collectors, plugins=settings.plugins
        )
        return changes

    def running_options(self) -> dict[str, Any]:
        return {name: dict(r.collector.options) for name, r in self.runners.items()}

    def _add(self, item: Loaded) -> None:
        runner = CollectorRunner(
            item.collector,
            item.interval,
            item.timeout,
            self.workers,
            self.hub.publish,
            clock=self.clock,
        )
        self.runners[item.collector.name] = runner
        if self.hub.knows(item.collector.name):  # running again after a reload: same room
            self.hub.replace(item.collector)
        else:
            self.hub.add(item.collector)
            self.history.register(item.collector.name, item.interval)

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
        try:
            self.workers.call(self.history.close, FLUSH_TIMEOUT)
        except TimeoutError:
            log.error("history: the last write did not finish within %.0f s", FLUSH_TIMEOUT)

    def query_history(self, query: Query) -> Answer:
        """History rows; read in a native thread when the answer needs the file."""
        if self.history.needs_disk(query):
            return self.workers.call(lambda: self.history.answer(query), QUERY_TIMEOUT)
        return self.history.answer(query)

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

    def alive(self) -> bool:
        """The watchdog's gate: the scheduler ran something lately (a hung plugin still does:
        its job returns after the timeout)."""
        shortest = min((r.interval for r in self.runners.values()), default=5.0)
        return self.scheduler.alive(within=max(10.0, 3 * shortest))

    def status_line(self) -> str:
        """One line for systemd's STATUS=: clients, collectors ok/failing, history."""
        failing = [n for n, r in self.runners.items() if r.health.state not in ("ok", "starting")]
        ok = len(self.runners) - len(failing)
        parts = [f"{self.hub.clients()} clients", f"{ok}/{len(self.runners)} collectors ok"]
        if failing:
            parts.append("failing: " + ", ".join(sorted(failing)))
        if self.plugin_errors:
            parts.append(f"{len(self.plugin_errors)} plugin(s) not loaded")
        parts.append(f"history {self.history.status()['state']}")
        return "; ".join(parts)

    def healthz(self) -> dict[str, Any]:
        collectors = {name: r.health.as_dict() for name, r in self.runners.items()}
        history = self.history.status()
        bad = any(h["state"] not in ("ok", "starting") for h in collectors.values())
        return {
            "status": "degraded"
            if bad or history["state"] == "degraded" or self.plugin_errors
            else "ok",
            "host": self.hub.host,
            "clients": self.hub.clients(),
            "collectors": collectors,
            "history": history,
            "plugins": {"errors": [e.as_dict() for e in self.plugin_errors]},
        }

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "namespace": "/" + name,
                "interval": r.interval,
                "origin": self.origins.get(name, "built-in"),
                "series": [s.as_dict() for s in r.series],
                "health": r.health.as_dict(),
            }
            for name, r in self.runners.items()
        ]
