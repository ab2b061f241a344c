"""SIGHUP: read the settings again and apply what can change without a restart.

Applied at once: each collector's interval, which collectors are enabled, and plugins
(new ones are loaded, failed ones retried, removed ones stopped). Everything else — the
server's address, auth, history, the queue, a collector's own options, a plugin's changed
code — is named in the log as needing a restart. Settings that do not validate are refused
as a whole: the dashboard keeps running as it was, and says why.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dashboard.pipeline.registry import Registry, load_registry
from dashboard.settings import Settings, SettingsError

if TYPE_CHECKING:
    from dashboard.runtime import Runtime

log = logging.getLogger("dashboard")


def install(async_mode: str, reload: Callable[[], None]) -> None:
    """Run ``reload`` on SIGHUP, off the signal handler (as the stop is, per async mode)."""
    if async_mode == "gevent":
        import gevent

        gevent.signal_handler(signal.SIGHUP, reload)
        return

    def on_signal(_signum: int, _frame: Any) -> None:
        if async_mode == "eventlet":
            import eventlet

            eventlet.spawn_n(reload)
        else:
            threading.Thread(target=reload, name="reload", daemon=True).start()

    signal.signal(signal.SIGHUP, on_signal)


class Reloader:
    """Re-reads the settings with ``load`` and applies them to the running ``runtime``."""

    def __init__(
        self, runtime: Runtime, load: Callable[[], Settings], on_collector: Callable[[str], None]
    ) -> None:
        self.runtime, self.load = runtime, load
        self.on_collector = on_collector  # registers the namespace of a collector new to the run
        self._lock = threading.Lock()

    def __call__(self) -> None:
        if not self._lock.acquire(blocking=False):
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
        except SettingsError as exc:
            log.error("SIGHUP: reload refused: %s; still running with the previous settings", exc)
            return
        changes = self.runtime.apply(new, registry, self.on_collector)
        restart = restart_needed(old, new, self.runtime.running_options(), registry)
        log.info(
            "SIGHUP: reloaded %s: %s", new.source, "; ".join(changes) if changes else "no changes"
        )
        if restart:
            log.warning("SIGHUP: these need a restart to take effect: %s", "; ".join(restart))


def restart_needed(
    old: Settings, new: Settings, running: dict[str, Any], registry: Registry
) -> list[str]:
    """What changed in the file but cannot change while running."""
    needed = [
        f"[{table}]"
        for table in ("server", "auth", "history", "queue")
        if getattr(old, table) != getattr(new, table)
    ]
    for item in registry.loaded:
        name = item.collector.name
        if name in running and running[name] != item.collector.options:
            needed.append(f"[collectors.{name}] options")
    return needed
