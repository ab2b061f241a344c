"""Signals, handed off: the work a signal asks for runs in its own (green) thread.

A signal handler runs in whatever (green) thread happens to be current, so it must not do
the work itself — under eventlet an exception raised there can land in a collector's job
instead of the server loop, and the stop is lost. One hand-off per async mode, for SIGHUP
(reload) and SIGTERM/SIGINT (stop) alike.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

Work = Callable[[int], None]


def hand_off(
    async_mode: str, signals: Iterable[int], work: Work, first: Work | None = None
) -> None:
    """On each of ``signals``, run ``work(signum)`` outside the handler.

    ``first`` runs in the handler itself, before the hand-off (not under gevent): the one
    place that may raise into the main thread, as ending a Werkzeug server needs.
    """
    if async_mode == "gevent":
        import gevent

        for sig in signals:  # gevent runs the callback in a greenlet of its own
            gevent.signal_handler(sig, work, sig)
        return

    def on_signal(signum: int, _frame: Any) -> None:
        if first is not None:
            first(signum)
        spawn(async_mode, work, signum)

    for sig in signals:
        signal.signal(sig, on_signal)


def spawn(async_mode: str, fn: Work, signum: int) -> None:
    """``fn(signum)`` in a new green thread (eventlet) or a daemon thread (threading)."""
    if async_mode == "eventlet":
        import eventlet

        eventlet.spawn_n(fn, signum)
    else:
        threading.Thread(target=fn, args=(signum,), name="signal", daemon=True).start()
