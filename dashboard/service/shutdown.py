"""Stopping on SIGTERM/SIGINT: stop collecting, close every client, end the server, exit 0.

The stop runs outside the signal handler (``signals.hand_off``) and ends the server loop the
way its async mode allows. If open connections still hold the server after ``GRACE``
seconds, the process exits anyway (the cleanup has already run by then).
"""

from __future__ import annotations

import _thread
import logging
import os
import signal
from typing import Any

from dashboard.service.signals import hand_off
from dashboard.workers import native, native_lock

log = logging.getLogger("dashboard")
GRACE = 10.0


class Shutdown:
    """Installs the signal handlers and performs the stop once, whichever signal comes."""

    def __init__(self, socketio: Any, runtime: Any, async_mode: str, notifier: Any = None) -> None:
        self.socketio, self.runtime, self.async_mode = socketio, runtime, async_mode
        self.notifier = notifier
        self.requested = False
        self._interrupt = False  # threading: the next SIGINT ends the server loop
        self._lock = native_lock()

    def install(self) -> None:
        if self.async_mode == "eventlet":
            import greenlet

            self._main = greenlet.getcurrent()  # the greenlet that runs the server loop
        hand_off(self.async_mode, (signal.SIGTERM, signal.SIGINT), self._stop, self._in_handler)

    def _in_handler(self, _signum: int) -> None:
        if self._interrupt:
            raise KeyboardInterrupt("stop")

    def finish(self) -> None:
        """After the server loop has ended: make sure nothing is still collecting."""
        self.runtime.stop()

    def _stop(self, signum: int) -> None:
        if not self._first(signum):
            return
        self._close_clients()
        if self.async_mode == "eventlet":
            from eventlet import greenthread

            greenthread.kill(self._main, KeyboardInterrupt)
        elif self.async_mode == "gevent":
            self.socketio.stop()
        else:
            # Werkzeug's serve_forever ends on KeyboardInterrupt: interrupt_main() runs our
            # SIGINT handler in the main thread, which now raises it.
            self._interrupt = True
            _thread.interrupt_main()

    def _first(self, signum: int) -> bool:
        with self._lock:
            if self.requested:
                return False
            self.requested = True
        log.info("%s received: stopping", signal.Signals(signum).name)
        if self.notifier is not None:
            self.notifier.send(STOPPING=1, STATUS="stopping")
        _exit_after(GRACE)
        return True

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


def _exit_after(seconds: float) -> None:
    """A native (unpatched) timer: ends the process if the server loop never returns."""
    sleep = native("time", "sleep")

    def expire() -> None:
        sleep(seconds)
        log.warning("connections still open %.0f s after the stop request: exiting", seconds)
        os._exit(0)

    native("_thread", "start_new_thread")(expire, ())
