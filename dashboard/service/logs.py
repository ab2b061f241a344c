"""Logging to stderr, one line per event.

Under systemd (``$JOURNAL_STREAM`` set) lines carry no timestamp (journald adds its own) but a
``<N>`` syslog priority prefix, which journald turns into the entry's priority: so
``journalctl -u dashboard -p warning`` shows exactly the warnings and errors.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys

# sd-daemon(3) priorities: <3> error, <4> warning, <6> info, <7> debug.
PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3}


class JournalFormatter(logging.Formatter):
    """Prefix every line (a traceback's too) with its syslog priority."""

    def format(self, record: logging.LogRecord) -> str:
        level = max((lvl for lvl in PRIORITIES if lvl <= record.levelno), default=logging.DEBUG)
        prefix = f"<{2 if record.levelno >= logging.CRITICAL else PRIORITIES[level]}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def configure(level: str) -> None:
    fmt = "%(levelname)s %(name)s: %(message)s"
    if os.environ.get("JOURNAL_STREAM"):
        formatter: logging.Formatter = JournalFormatter(fmt)
    else:
        formatter = logging.Formatter("%(asctime)s " + fmt)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # systemd's watchdog ends a stalled service with SIGABRT: print every thread's stack first.
    faulthandler.enable()
