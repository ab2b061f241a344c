"""The running dashboard: collectors, their runners, the hub, history and the scheduler."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from collectors.probe import hostname
from dashboard.auth import Auth
from dashboard.history import MemoryHistory
from dashboard.hub import Emitter, Hub
from dashboard.registry import Loaded
from dashboard.runner import CollectorRunner
from dashboard.scheduler import Scheduler
from dashboard.settings import Settings
from dashboard.workers import NativeWorkers

MEMORY_WINDOW = 3_600.0


class Runtime:
    """Everything behind the HTTP and Socket.IO handlers; started and stopped as one."""

    def __init__(
        self,
        settings: Settings,
        emitter: Emitter,
        loaded: list[Loaded],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.clock = settings, clock
        self.auth = Auth(settings.auth.token)
        self.workers = NativeWorkers(settings.server.async_mode)
        self.history = MemoryHistory(window=min(settings.history.retention, MEMORY_WINDOW))
        self.hub = Hub(emitter, self.history, hostname())
        self.runners: dict[str, CollectorRunner] = {}
        self.disabled = [item.collector for item in loaded if not item.enabled]
        for item in loaded:
            if item.enabled:
                self._add(item)
        self.scheduler = Scheduler(self.runners.values())

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
        self.hub.add(item.collector)
        self.history.register(item.collector.name, item.interval)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()

    def healthz(self) -> dict[str, Any]:
        collectors = {name: r.health.as_dict() for name, r in self.runners.items()}
        bad = any(h["state"] not in ("ok", "starting") for h in collectors.values())
        return {
            "status": "degraded" if bad else "ok",
            "host": self.hub.host,
            "clients": self.hub.clients(),
            "collectors": collectors,
        }

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "namespace": "/" + name,
                "interval": r.interval,
                "series": [s.as_dict() for s in r.series],
                "health": r.health.as_dict(),
            }
            for name, r in self.runners.items()
        ]
