"""Stopping on SIGTERM/SIGINT: stop collecting, close every client, end the server, exit 0.

A signal handler runs in whatever (green) thread happens to be current, so it must not do
the work itself — under eventlet an exception raised there can land in a collector's job
instead of the server loop, and the stop is lost. Each async mode gets a safe hand-off.
If open connections still hold the server after ``GRACE`` seconds, the process exits anyway
(the cleanup has already run by then).
"""

from __future__ import annotations

import _thread
import logging
import os
import signal
import threading
import time
from typing import Any

log = logging.getLogger("dashboard")
GRACE = 10.0


class Shutdown:
    """Installs the signal handlers and performs the stop once, whichever signal comes."""

    def __init__(self, socketio: Any, runtime: Any, async_mode: str, notifier: Any = None) -> None:
        self.socketio, self.runtime, self.async_mode = socketio, runtime, async_mode
        self.notifier = notifier
        self.requested = False
        self._interrupt_main = False

    def install(self) -> None:
        if self.async_mode == "gevent":
            import gevent

            for sig in (signal.SIGTERM, signal.SIGINT):
                gevent.signal_handler(sig, self._stop_gevent, sig)
            return
        if self.async_mode == "eventlet":
            import greenlet

            self._main = greenlet.getcurrent()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def finish(self) -> None:
        """After the server loop has ended: make sure nothing is still collecting."""
        self.runtime.stop()

    def _close_clients(self) -> None:
        """Stop collecting, then close every client while the server can still say goodbye."""
        self.runtime.stop()
        eio = self.socketio.server.eio
        # engineio's own disconnect() waits for each client's send queue to drain, which can
        # hang forever on a connection whose writer is gone; close without waiting instead.
        for client in list(eio.sockets.values()):
            try:
                client.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
            except Exception:
                log.exception("closing a client connection failed")

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self._interrupt_main:
            raise KeyboardInterrupt("stop")
        if not self._first(signum):
            return
        if self.async_mode == "eventlet":
            import eventlet

            eventlet.spawn_n(self._stop_eventlet)
        else:
            threading.Thread(target=self._stop_threading, daemon=True).start()

    def _first(self, signum: int) -> bool:
        if self.requested:
            return False
        self.requested = True
        log.info("%s received: stopping", signal.Signals(signum).name)
        if self.notifier is not None:
            self.notifier.send(STOPPING=1, STATUS="stopping")
        _exit_after(GRACE, self.async_mode)
        return True

    def _stop_eventlet(self) -> None:
        from eventlet import greenthread

        self._close_clients()
        greenthread.kill(self._main, KeyboardInterrupt)

    def _stop_gevent(self, signum: int) -> None:
        if self._first(signum):
            self._close_clients()
            self.socketio.stop()

    def _stop_threading(self) -> None:
        self._close_clients()
        # Werkzeug's serve_forever ends on KeyboardInterrupt; interrupt_main() calls our own
        # SIGINT handler in the main thread, which now raises it.
        self._interrupt_main = True
        _thread.interrupt_main()


def _exit_after(seconds: float, async_mode: str) -> None:
    """A native (unpatched) timer: ends the process if the server loop never returns."""
    start_thread, sleep = _native_primitives(async_mode)

    def expire() -> None:
        sleep(seconds)
        log.warning("connections still open %.0f s after the stop request: exiting", seconds)
        os._exit(0)

    start_thread(expire, ())


def _native_primitives(async_mode: str) -> tuple[Any, Any]:
    """``_thread.start_new_thread`` and ``time.sleep`` as they were before monkey-patching."""
    if async_mode == "eventlet":
        from eventlet.patcher import original

        return original("_thread").start_new_thread, original("time").sleep
    if async_mode == "gevent":
        from gevent.monkey import get_original

        return get_original("_thread", "start_new_thread"), get_original("time", "sleep")
    import _thread

    return _thread.start_new_thread, time.sleep
