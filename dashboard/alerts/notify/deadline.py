"""A hard bound on one blocking attempt, whatever the async mode.

Under eventlet or gevent (sockets monkey-patched) the attempt runs in the calling green
thread and the hub's own timeout interrupts it at its next socket wait. Under threading
nothing can interrupt a thread: the attempt runs in a native worker and the caller stops
waiting after ``timeout``; the socket timeout ends the abandoned call soon after.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from dashboard.workers import NativeWorkers

T = TypeVar("T")
_THREADS = NativeWorkers("threading")


def within(fn: Callable[[], T], timeout: float) -> T:
    """``fn()``, or ``TimeoutError`` once ``timeout`` seconds have passed."""
    error = TimeoutError(f"no answer within {timeout:g} s")
    mode = green_mode()
    if mode == "eventlet":
        import eventlet

        with eventlet.Timeout(timeout, error):
            return fn()
    if mode == "gevent":
        import gevent

        with gevent.Timeout(timeout, error):
            return fn()
    return _THREADS.call(fn, timeout)


def green_mode() -> str:
    """``eventlet`` or ``gevent`` when that library patched ``socket``, else ``threading``."""
    if "eventlet" in sys.modules:
        from eventlet import patcher

        if patcher.is_monkey_patched("socket"):
            return "eventlet"
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("socket"):
            return "gevent"
    return "threading"
