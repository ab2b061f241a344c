"""``dashboard agent``: collect this host's metrics, keep their history, send them to Redis.

The same collectors and plugins as ``run``, under the same settings, in the same error
boundaries; no web page, no event loop (plain threads: every wait is real I/O). Each sample
goes to the history file first, then ``fleet.sender`` appends it to the host's stream, and
after an outage re-sends what Redis missed from that file. It speaks sd_notify like ``run``
(``Type=notify``, watchdog) and stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import replace
from typing import Any

from collectors.base import Series
from collectors.probe import hostname
from dashboard import exits, health
from dashboard.fleet.sender import Sender
from dashboard.pipeline.registry import load_registry
from dashboard.runtime import Runtime
from dashboard.service import gc_tuning, logs
from dashboard.service.sdnotify import Notifier
from dashboard.service.signals import hand_off
from dashboard.settings import RESERVED_HOSTS, Settings, SettingsError
from dashboard.workers import NativeWorkers

log = logging.getLogger("dashboard")


class _Silent:
    """The hub's emitter: an agent serves no browser."""

    def emit(self, event: str, data: Any, namespace: str, to: Any = None) -> None:
        pass

    def enter_room(self, sid: str, room: str, namespace: str) -> None:
        pass

    def leave_room(self, sid: str, room: str, namespace: str) -> None:
        pass


def run_agent(settings: Settings) -> int:
    """Run until a signal: 0 on a clean stop, 78 on a configuration problem (a host name
    another agent reports as included)."""
    logs.configure(settings.server.log_level)
    settings = replace(settings, server=replace(settings.server, async_mode="threading"))
    try:
        agent = Agent(settings)
    except exits.KNOWN as exc:
        return exits.report(exc)
    return agent.serve()


class Agent:
    def __init__(self, settings: Settings) -> None:
        if not settings.queue.enabled:
            raise SettingsError(
                f"{settings.source} [queue] url: the agent sends its samples to Redis; set "
                'url, e.g. url = "redis://agent:PASSWORD@redis.example:6379/0"'
            )
        self.host = settings.agent.host or hostname()
        if self.host in RESERVED_HOSTS:  # a machine named so: its keys are the web's own
            raise SettingsError(
                f"{settings.source} [agent] host: this machine is named {self.host!r}, "
                f"which is {RESERVED_HOSTS[self.host]}; set [agent] host to another name"
            )
        registry = load_registry(settings, NativeWorkers("threading").call)
        self.runtime = Runtime(
            settings, _Silent(), registry, host=self.host, evaluate=False, snapshots=False
        )
        self.sender = Sender(self.host, settings.queue, self.runtime.history, self._describe)
        self.runtime.queue = self.sender
        self.runtime.hub.watch(lambda topic, reading: self.sender.note(topic.key, reading))
        self.notifier = Notifier()
        self.stopping = threading.Event()

    def serve(self) -> int:
        hand_off("threading", (signal.SIGTERM, signal.SIGINT), self._on_stop)
        hand_off("threading", (signal.SIGHUP,), self._on_hup)
        self.runtime.start()
        threading.Thread(target=self.sender.run, name="queue-sender", daemon=True).start()
        log.info(
            "agent for host %r: %d collectors, sending to the queue", self.host,
            len(self.runtime.runners),
        )  # fmt: skip
        gc_tuning.settle()
        self.notifier.send(READY=1, STATUS=self._status(), MAINPID=os.getpid())
        code = self._watch()
        self.notifier.send(STOPPING=1, STATUS="stopping")
        self.runtime.stop()
        log.info("stopped")
        return code

    def _watch(self) -> int:
        """Until stopped: the watchdog ping (while the scheduler runs) and STATUS= lines."""
        period = (self.notifier.watchdog or 10.0) / 2
        last = None
        while not self.stopping.wait(min(period, 1.0)):
            if self.sender.fatal is not None:
                return exits.report(SettingsError(self.sender.fatal))
            if self.notifier.watchdog is not None and health.alive(self.runtime):
                self.notifier.send(WATCHDOG=1)
            line = self._status()
            if line != last:
                self.notifier.send(STATUS=line)
                last = line
        return exits.EX_OK

    def _status(self) -> str:
        return f"host {self.host}; " + health.status_line(self.runtime)

    def _describe(self, name: str) -> tuple[list[Series], float] | None:
        runner = self.runtime.runners.get(name)
        return None if runner is None else (runner.series, runner.interval)

    def _on_stop(self, signum: int) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        self.stopping.set()

    def _on_hup(self, _signum: int) -> None:
        log.warning("SIGHUP: the agent does not reload its settings; restart it to apply them")
