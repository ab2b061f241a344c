"""Native worker threads for blocking work (collector calls), one rule for every async mode.

Under eventlet or gevent the whole server shares one OS thread, so a psutil scan or a plugin
that sleeps in C would stall every websocket. ``NativeWorkers.call`` runs the function in a
real OS thread and only *waits* cooperatively, with a timeout. A call that times out keeps
its thread until it returns by itself; callers make sure not to pile new calls onto it.
"""

from __future__ import annotations

import _thread
import importlib
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar, cast

T = TypeVar("T")


class NativeWorkers:
    """Runs blocking callables in native threads, waiting with the async mode's primitives."""

    def __init__(self, async_mode: str) -> None:
        self.async_mode = async_mode
        self._call = {
            "eventlet": _call_eventlet,
            "gevent": _call_gevent,
            "threading": _call_threading,
        }[async_mode]

    def call(self, fn: Callable[[], T], timeout: float) -> T:
        """Return ``fn()`` run in a native thread; raise ``TimeoutError`` after ``timeout`` s."""
        return self._call(fn, timeout)


def _call_eventlet(fn: Callable[[], T], timeout: float) -> T:
    import eventlet
    from eventlet import tpool

    with eventlet.Timeout(timeout, TimeoutError(f"timed out after {timeout:g} s")):
        result: T = tpool.execute(fn)
        return result


def _call_gevent(fn: Callable[[], T], timeout: float) -> T:
    import gevent

    pool = gevent.get_hub().threadpool
    if pool.maxsize < 64:
        pool.maxsize = 64  # one thread per collector, with room for calls still hung
    try:
        # get() is typed to allow None (a killed greenlet); ours returns fn's value or raises.
        return cast(T, pool.spawn(fn).get(timeout=timeout))
    except gevent.Timeout:
        raise TimeoutError(f"timed out after {timeout:g} s") from None


class _Threads:
    """Daemon threads that each run one call at a time and then wait for the next: a call
    reuses an idle thread, or starts one when all are busy (a hung call keeps its own). Daemon,
    so a hung plugin never keeps the process from exiting."""

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue[Callable[[], None] | None]] = []
        self._lock = threading.Lock()

    def run(self, work: Callable[[], None]) -> None:
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name="native-call",
                             daemon=True).start()  # fmt: skip
        inbox.put(work)

    def _serve(self, inbox: queue.SimpleQueue[Callable[[], None] | None]) -> None:
        while True:
            work = inbox.get()
            if work is None:
                return
            work()
            with self._lock:
                if len(self._idle) >= IDLE_THREADS:
                    return  # enough are waiting already
                self._idle.append(inbox)


IDLE_THREADS = 16
_THREADS = _Threads()


def _call_threading(fn: Callable[[], T], timeout: float) -> T:
    future: Future[T] = Future()

    def work() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # delivered to the waiting caller, never lost
            future.set_exception(exc)

    _THREADS.run(work)
    try:
        return future.result(timeout=timeout)
    except TimeoutError:
        raise TimeoutError(f"timed out after {timeout:g} s") from None


def native_lock() -> _thread.LockType:
    """A real OS lock, even after eventlet or gevent patched ``threading``.

    State shared between the event loop and native worker threads (history, the SQLite
    connection, the hub's rooms) needs one: a green lock must not be taken from a native
    thread.
    """
    lock: _thread.LockType = native("_thread", "allocate_lock")()
    return lock


_EVENTLET_NAMES = {"_thread": "thread"}  # eventlet's names for what it patches


def native(module: str, name: str) -> Any:
    """``module.name`` as it was before eventlet or gevent monkey-patched it."""
    if "eventlet" in sys.modules:
        from eventlet import patcher

        if patcher.is_monkey_patched(_EVENTLET_NAMES.get(module, module)):
            return getattr(patcher.original(module), name)
    if "gevent" in sys.modules:
        from gevent import monkey

        return monkey.get_original(module, name)
    return getattr(importlib.import_module(module), name)
