"""Exit codes and the one-line messages that go with them (no tracebacks for known problems)."""

from __future__ import annotations

import sys

from dashboard.settings import SettingsError

EX_OK = 0
EX_SOFTWARE = 1
EX_USAGE = 2
EX_CONFIG = 78  # sysexits.h EX_CONFIG; systemd's RestartPreventExitStatus keys on it


class InstallProblem(RuntimeError):
    """Something the dashboard needs is not installed; the message says how to fix it."""


KNOWN = (SettingsError, InstallProblem)


def report(problem: SettingsError | InstallProblem) -> int:
    """Print a known start-up problem as one line on stderr; return its exit code."""
    if isinstance(problem, SettingsError):
        print(f"dashboard: configuration error: {problem}", file=sys.stderr)
        return EX_CONFIG
    print(f"dashboard: installation problem: {problem}", file=sys.stderr)
    return EX_SOFTWARE
