"""SIGHUP: read the settings again and apply what can change without a restart.

Applied at once: each collector's interval, which collectors are enabled, plugins
(new ones are loaded, failed ones retried, removed ones stopped), and the alert rules (the
settings file's and ``[alerts] rules_path``'s; instances of rules that still exist keep
their state) with ``[alerts] repeat``. Everything else — the server's address, auth,
history, the queue, a collector's own options, a plugin's changed code, the other
``[alerts]`` keys (delivery: targets, secrets, grouping, limits, quiet hours, heartbeat) —
is named in the log as needing a restart. Settings that do not validate are refused
as a whole: the dashboard keeps running as it was, and says why.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dashboard.alerts.rules import Rule, load_rules
from dashboard.pipeline.registry import Registry, load_registry
from dashboard.service.signals import hand_off
from dashboard.settings import Settings, SettingsError
from dashboard.workers import native_lock

if TYPE_CHECKING:
    from dashboard.runtime import Runtime

log = logging.getLogger("dashboard")


def install(async_mode: str, reload: Callable[[], None]) -> None:
    """Run ``reload`` on SIGHUP, outside the signal handler."""
    hand_off(async_mode, (signal.SIGHUP,), lambda _signum: reload())


class Reloader:
    """Re-reads the settings with ``load`` and applies them to the running ``runtime``."""

    def __init__(
        self, runtime: Runtime, load: Callable[[], Settings], on_collector: Callable[[str], None]
    ) -> None:
        self.runtime, self.load = runtime, load
        self.on_collector = on_collector  # registers the namespace of a collector new to the run
        self._lock = native_lock()

    def __call__(self) -> None:
        if not self._lock.acquire(False):
            log.warning("SIGHUP: a reload is already running; ignored")
            return
        try:
            self._reload()
        except Exception:
            log.exception("SIGHUP: reload failed; still running with the previous settings")
        finally:
            self._lock.release()

    def _reload(self) -> None:
        old = self.runtime.settings
        try:
            new = self.load()
            registry = load_registry(new, self.runtime.workers.call)
            rules = load_rules(new) if new.alerts.enabled else []
        except SettingsError as exc:
            log.error("SIGHUP: reload refused: %s; still running with the previous settings", exc)
            return
        changes = apply(self.runtime, new, registry, self.on_collector)
        changes += apply_alerts(self.runtime, new, rules)
        restart = restart_needed(old, new, self.runtime.running_options(), registry)
        log.info(
            "SIGHUP: reloaded %s: %s", new.source, "; ".join(changes) if changes else "no changes"
        )
        if restart:
            log.warning("SIGHUP: these need a restart to take effect: %s", "; ".join(restart))


def apply(
    runtime: Runtime, settings: Settings, registry: Registry, on_collector: Callable[[str], None]
) -> list[str]:
    """Stop, start and reschedule collectors as the reloaded registry says; what changed.

    A collector that keeps running keeps its instance (its counters, its options);
    ``on_collector`` registers the namespace of one that was never part of this run.
    """
    wanted = {item.collector.name: item for item in registry.loaded if item.enabled}
    changes = []
    for name in [n for n in runtime.runners if n not in wanted]:
        runtime.scheduler.remove(name)
        del runtime.runners[name]
        changes.append(f"{name} stopped")
    for name, item in wanted.items():
        runner = runtime.runners.get(name)
        if runner is None:
            new_to_run = not runtime.hub.knows(name)
            runtime.add(item)
            if new_to_run:
                on_collector(name)
            runtime.scheduler.add(runtime.runners[name])
            where = "" if item.origin == "built-in" else f" ({item.origin})"
            changes.append(f"{name} started{where}")
        elif runner.interval != item.interval:
            changes.append(f"{name} every {runner.interval:g} s -> {item.interval:g} s")
            runner.interval, runner.timeout = item.interval, item.timeout
            runtime.scheduler.reschedule(name, item.interval)
            topic = runtime.hub.topic(name)
            if topic is not None:
                topic.interval = item.interval
    known = {str(e) for e in runtime.plugin_errors}
    for error in registry.errors:
        if str(error) not in known:
            log.error("%s — the plugin is disabled", error)
    runtime.note_registry(registry)
    runtime.with_settings(settings)
    return changes


def apply_alerts(runtime: Runtime, settings: Settings, rules: list[Rule]) -> list[str]:
    """New rules for the running engine (their instances keep their state); what changed."""
    engine = runtime.alerts
    if engine is None:
        return []
    changes = engine.set_rules(rules)
    if settings.alerts.repeat != engine.repeat:
        changes.append(f"[alerts] repeat {engine.repeat:g} s -> {settings.alerts.repeat:g} s")
        engine.repeat = settings.alerts.repeat
    return changes


# What a reload applies of [alerts]; the other keys need a restart.
ALERTS_RELOADED = ("rules", "rules_path", "repeat")


def restart_needed(
    old: Settings, new: Settings, running: dict[str, Any], registry: Registry
) -> list[str]:
    """What changed in the file but cannot change while running."""
    needed = [
        f"[{table}]"
        for table in ("server", "auth", "history", "queue")
        if getattr(old, table) != getattr(new, table)
    ]
    old_alerts, new_alerts = vars(old.alerts), vars(new.alerts)
    changed = [
        "webhook_secret_file" if key == "webhook_secret" else key  # the secret itself unnamed
        for key in old_alerts
        if key not in ALERTS_RELOADED and old_alerts[key] != new_alerts[key]
    ]
    needed += [f"[alerts] {key}" for key in dict.fromkeys(changed)]
    for item in registry.loaded:
        name = item.collector.name
        if name in running and running[name] != item.collector.options:
            needed.append(f"[collectors.{name}] options")
    return needed
