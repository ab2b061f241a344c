"""Telling systemd how the service is (``Type=notify``): READY, STATUS, WATCHDOG, STOPPING.

The protocol (sd_notify(3)) is one datagram of ``KEY=VALUE`` lines to the unix socket named by
``$NOTIFY_SOCKET``; it is a handful of lines, so it is spoken here rather than through a C
binding. Without ``NOTIFY_SOCKET`` every call is a silent no-op.

The watchdog ping is sent from the event loop, and only while the scheduler has run a job
recently: a stalled loop or a dead scheduler stops the pings (systemd then restarts the
service), while one hung plugin does not — its job still returns after its timeout.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    """The ``$NOTIFY_SOCKET`` connection, and the watchdog period systemd asked for."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        # "@name" is an abstract socket: the kernel spells it with a leading NUL byte.
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog: float | None = None
        usec, pid = environ.get("WATCHDOG_USEC", ""), environ.get("WATCHDOG_PID", "")
        ours = not pid or (pid.isdigit() and int(pid) == os.getpid())
        if self.address and usec.isdigit() and int(usec) > 0 and ours:
            self.watchdog = int(usec) / 1e6
        self._sock: socket.socket | None = None
        self._failed = False

    @property
    def enabled(self) -> bool:
        return bool(self.address) and not self._failed

    def send(self, **fields: object) -> bool:
        """Send ``KEY=value`` lines in one datagram; False (logged once) if it can't be sent."""
        if not self.enabled:
            return False
        text = "\n".join(f"{key}={value}" for key, value in fields.items())
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.sendto(text.encode(), self.address)
        except OSError as exc:
            self._failed = True
            log.warning("cannot notify systemd at %s: %s", self.address.lstrip("\0"), exc)
            return False
        return True


def watch(
    notifier: Notifier,
    alive: Callable[[], bool],
    status: Callable[[], str],
    sleep: Callable[[float], None],
) -> None:
    """Forever: every half watchdog period, ping if ``alive()`` and report ``status()``.

    Runs as a background task of the event loop, so a blocked loop cannot ping.
    """
    period = (notifier.watchdog or 10.0) / 2
    last_status = None
    while notifier.enabled:
        sleep(period)
        if notifier.watchdog is not None and alive():
            notifier.send(WATCHDOG=1)
        line = status()
        if line != last_status:
            notifier.send(STATUS=line)
            last_status = line


def wait_listening(host: str, port: int, sleep: Callable[[float], None], timeout: float) -> bool:
    """Whether ``host:port`` accepts connections within ``timeout`` s (the server is up)."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((target, port), timeout=1):
                return True
        except OSError:
            sleep(0.05)
    return False
