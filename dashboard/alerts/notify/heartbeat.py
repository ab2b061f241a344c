"""``[alerts] heartbeat_url``: a GET every ``heartbeat_interval`` while the engine evaluates,
so an outside watcher (healthchecks.io, an Uptime Kuma push monitor, cronitor) raises the
alarm when the dashboard itself dies or stops evaluating. While ``healthy()`` is false no
ping goes: the watcher's own grace time does the rest. A failed ping is logged once per
outage (and its end once), never fatal."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from dashboard.alerts.notify import deadline
from dashboard.alerts.notify.target import Redactor

log = logging.getLogger(__name__)
TIMEOUT = 10.0


class Heartbeat:
    def __init__(
        self,
        url: str,
        interval: float,
        healthy: Callable[[], bool],
        spawn: Callable[..., Any],
        sleep: Callable[[float], None],
        clock: Callable[[], float] = time.time,
        timeout: float = TIMEOUT,
    ) -> None:
        self.url, self.interval, self.timeout = url, interval, timeout
        self._healthy, self._spawn, self._sleep, self._clock = healthy, spawn, sleep, clock
        self._redact = Redactor(url)
        self._stopped = False
        self._paused = False
        self.sent = 0  # pings the watcher accepted
        self.failures = 0  # pings that failed
        self.last_ok: float | None = None
        self.last_error: str | None = None  # set while failing, None once a ping goes through

    def start(self) -> None:
        self._spawn(self._run)

    def stop(self) -> None:
        """The loop ends at its next wake-up; no ping goes after this."""
        self._stopped = True

    def status(self) -> dict[str, Any]:
        """For /healthz: ``ok``, ``paused`` (evaluation not healthy), ``failing``."""
        state = "failing" if self.last_error else "paused" if self._paused else "ok"
        return {
            "state": state,
            "interval": self.interval,
            "sent": self.sent,
            "failures": self.failures,
            "last_ok": self.last_ok,
            "last_error": self.last_error,
        }

    def beat(self) -> None:
        """One round: a ping if healthy, its outcome recorded (the loop's body; tests call it)."""
        if not self._healthy():
            if not self._paused:
                log.warning("alerts: heartbeat paused: the engine has not evaluated lately")
            self._paused = True
            return
        if self._paused:
            log.info("alerts: heartbeat resumed: the engine evaluates again")
        self._paused = False
        error = self._ping()
        if error is None:
            if self.last_error:
                log.info("alerts: heartbeat reaches its URL again")
            self.sent, self.last_ok, self.last_error = self.sent + 1, self._clock(), None
            return
        if not self.last_error:
            log.error("alerts: heartbeat to [alerts] heartbeat_url failed: %s", error)
        self.failures, self.last_error = self.failures + 1, error

    def _run(self) -> None:
        while not self._stopped:
            try:
                self.beat()
            except Exception:  # healthy() raised: a bug to see, never the loop's end
                log.exception("alerts: heartbeat round failed")
            self._sleep(self.interval)

    def _ping(self) -> str | None:
        try:
            deadline.within(self._get, self.timeout)
            return None
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the answer's socket
            return f"HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            return self._redact(f"cannot reach it: {exc.reason}")
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:  # never fatal: the next round tries again
            return self._redact(f"{type(exc).__name__}: {exc}")

    def _get(self) -> None:
        request = urllib.request.Request(self.url, headers={"User-Agent": "dashboard-heartbeat"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read(1024)
