"""Which collectors exist and how each is configured: built-ins now, plugins beside them.

Every ``[collectors.<name>]`` table must name a known collector; each collector's own options
are validated by its ``setup()``; any problem is a ``SettingsError`` naming file and table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from collectors.base import Collector, did_you_mean
from collectors.builtin import BUILTIN
from collectors.probe import Probe, ProbeCollector
from dashboard.settings import Settings, SettingsError

MAX_TIMEOUT = 60.0


@dataclass(frozen=True)
class Loaded:
    """A collector, set up with its options, and how the scheduler should run it."""

    collector: Collector
    enabled: bool
    interval: float
    timeout: float


def load_collectors(
    settings: Settings, probe: Probe | None = None, classes: Iterable[type[Collector]] = BUILTIN
) -> list[Loaded]:
    """Instantiate and set up every known collector; raise SettingsError on any problem."""
    classes = list(classes)
    names = [cls.name for cls in classes]
    for name in settings.collectors:
        if name not in names:
            raise SettingsError(
                f"{settings.source} [collectors.{name}]: no collector named {name!r}"
                f"{did_you_mean(name, names)} (known: {', '.join(names)})"
            )
    return [_load(cls, settings, probe) for cls in classes]


def _load(cls: type[Collector], settings: Settings, probe: Probe | None) -> Loaded:
    conf = settings.collector(cls.name)
    collector = cls(probe) if probe is not None and issubclass(cls, ProbeCollector) else cls()
    try:
        collector.setup(conf.options)
    except ValueError as exc:
        raise SettingsError(f"{settings.source} [collectors.{cls.name}]: {exc}") from None
    interval = conf.interval if conf.interval is not None else float(cls.interval)
    enabled = cls.enabled_by_default if conf.enabled is None else conf.enabled
    return Loaded(collector, enabled, interval, timeout=min(interval, MAX_TIMEOUT))
