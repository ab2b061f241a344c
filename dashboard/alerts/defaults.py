"""The shipped rules: the few an operator would keep on, tuned to stay quiet on a healthy
machine (an idle server or a CI runner never fires them).

Each is a rule table as a settings file writes it, checked like any other. To turn one off,
write a rule of the same name with ``enabled = false`` (in settings.toml or a rules file):

    [[alerts.rule]]
    name = "swap-used"
    enabled = false

To change one, write a rule of the same name with the keys you want: it replaces the
shipped one as a whole (keys you leave out take the rule defaults, not the shipped values).
"""

from __future__ import annotations

from typing import Any

from dashboard.settings import RawRule

SOURCE = "<shipped defaults>"

_RULES: list[dict[str, Any]] = [
    # A full filesystem stops databases, logs and package upgrades: the classic outage that
    # is easy to see coming. 88 to clear, so a volume hovering at 90 % does not flap.
    {
        "name": "filesystem-full",
        "series": "filesystem.*.used_percent",
        "aggregate": "last",
        "window": "1m",
        "warn": 90, "crit": 95, "clear": 88,
        "for": "2m", "recover": "1m",
        "summary": "{host}: {series} at {value}{unit} (threshold {threshold}{unit})",
    },
    # Memory used excludes caches (the collector counts available memory as free), so 90 %
    # for 5 minutes means the OOM killer is near, not that the page cache is warm.
    {
        "name": "memory-used",
        "series": "memory.used_percent",
        "aggregate": "avg",
        "window": "5m",
        "warn": 90, "crit": 97, "clear": 85,
        "for": "5m", "recover": "2m",
        "summary": "{host}: memory {value}{unit} used (threshold {threshold}{unit})",
    },
    # Some swap in use is normal (idle pages swapped out); swap that stays mostly full is
    # not. A host without swap reports 0 % and never fires.
    {
        "name": "swap-used",
        "series": "memory.swap_used_percent",
        "aggregate": "avg",
        "window": "5m",
        "warn": 80, "crit": 95, "clear": 70,
        "for": "10m", "recover": "5m",
        "summary": "{host}: swap {value}{unit} used (threshold {threshold}{unit})",
    },
    # There is no per-core load series: the 15-minute load average divided by the host's
    # core count (counted from its cpu.coreN series) is the honest closest. Above 2 per core
    # for 15 minutes, work queues up for the CPUs; a short build or backup spike does not.
    {
        "name": "load-per-core",
        "series": "load.15m",
        "per_core": True,
        "aggregate": "last",
        "window": "1m",
        "warn": 2, "crit": 4, "clear": 1.5,
        "for": "15m", "recover": "5m",
        "summary": "{host}: 15-minute load {value} per core (threshold {threshold})",
    },
    # A collector whose error boundary reports 5 failures in a row for a minute: its charts
    # are frozen and its other rules blind. Resolves after a minute without failures.
    {
        "name": "collector-failing",
        "kind": "failing",
        "collector": "*",
        "warn": 5, "clear": 1,
        "for": "1m", "recover": "1m",
    },
    # A host (every one of its collectors) silent for 2 minutes: an agent died, its network
    # went, or the machine is down. The most important alert is the one that says the
    # others cannot fire.
    {
        "name": "host-stale",
        "kind": "stale",
        "collector": "*",
        "for": "2m",
        "severity": "critical",
    },
]  # fmt: skip

DEFAULTS = tuple(RawRule(SOURCE, index, table) for index, table in enumerate(_RULES, 1))
