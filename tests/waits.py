"""The one way the suite waits: on a condition, with a deadline that names what it waited for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None],
    what: str,
    timeout: float = 10.0,
    every: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``condition()``'s first truthy value; AssertionError naming ``what`` after ``timeout`` s.

    ``condition`` may raise ``OSError`` while a server is still coming up: that counts as
    not yet. ``sleep`` is how to pass the time between tries (a browser page pumps its own
    events while it waits).
    """
    deadline = time.monotonic() + timeout
    last_error: OSError | None = None
    while True:
        value: T | None = None
        try:
            value = condition()
        except OSError as exc:
            last_error = exc
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise AssertionError(f"not {what} within {timeout:g} s{detail}")
        sleep(every)
