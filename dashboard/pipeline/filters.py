"""A client's filter, checked by the collector's own ``parse_filter`` off the event loop.

The check runs in a native thread with a timeout, and its result is normalized (a small
JSON object). ``ValueError`` means the request is bad and goes back to the client; anything
else the collector does — raise, hang, return garbage — is its fault: ``on_fault`` hears of
it and the client gets a ``CollectorFault`` saying so. Checks run side by side; while one
that timed out has not returned, new ones are refused, so a hung ``parse_filter`` cannot take
every worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from collectors.base import Collector
from dashboard.pipeline.payloads import normalized_filter
from dashboard.pipeline.validate import BadOutput
from dashboard.workers import NativeWorkers, native_lock

FILTER_TIMEOUT = 2.0  # parse_filter is a pure function of the request: anything slower is a fault

Fault = Callable[[BaseException], None]


class CollectorFault(Exception):
    """The collector's own code failed while serving a client's request; the message says so
    in words fit for the client (the details are in the log and ``/healthz``)."""


@dataclass
class _Check:
    """One parse_filter call: whether it returned, whether its caller gave up waiting."""

    returned: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class FilterCheck:
    """Checks filters for one collector; ``on_fault`` counts its faults (a runner's health)."""

    def __init__(self, collector: Collector, workers: NativeWorkers, on_fault: Fault) -> None:
        self.collector, self.workers, self.on_fault = collector, workers, on_fault
        self._stuck = 0  # calls that timed out and have not returned
        self._lock = native_lock()

    @property
    def stuck(self) -> int:
        return self._stuck

    def __call__(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = self.collector.name
        if self._stuck:
            raise CollectorFault(f"collector {name!r} is still checking an earlier filter (hung?)")
        check = _Check()
        try:
            result = self.workers.call(lambda: self._parse(request, check), timeout())
        except TimeoutError:
            with self._lock:
                if not check.returned:
                    check.timed_out = True
                    self._stuck += 1
            result = _Failed(TimeoutError(f"parse_filter() took longer than {timeout():g} s"))
        if isinstance(result, _Failed):
            self.on_fault(result.error)
            raise CollectorFault(
                f"collector {name!r} failed to check the filter: {describe_error(result.error)}"
            )
        return result

    def _parse(self, request: Mapping[str, Any], check: _Check) -> dict[str, Any] | _Failed:
        """In the native thread: the collector's code, then our check of what it returned."""
        try:
            try:
                value = self.collector.parse_filter(request)
            except ValueError:
                raise  # the request is bad: the client is told why
            except BaseException as exc:  # SystemExit and friends must not escape a plugin
                return _Failed(exc)
            try:
                return normalized_filter(value)
            except (TypeError, ValueError, RecursionError) as exc:  # garbage: its fault
                return _Failed(BadOutput(str(exc)))
        finally:
            with self._lock:
                check.returned = True
                if check.timed_out:
                    self._stuck -= 1


def timeout() -> float:
    """Read at each call, so a test may shorten it."""
    return FILTER_TIMEOUT


def describe_error(error: BaseException) -> str:
    """A collector's exception in one line (the traceback goes to the log once)."""
    if isinstance(error, TimeoutError):
        return str(error)
    if isinstance(error, BadOutput):
        return f"bad output: {error}"
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    return f"{type(error).__name__}: {error}"
