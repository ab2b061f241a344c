"""Which collectors exist and how each is configured: the built-ins and the plugins.

Every ``[collectors.<name>]`` table must name a known collector; each collector's own options
are validated by its ``setup()``. A built-in's problem is a ``SettingsError`` naming file and
table; a plugin's disables that plugin with a ``PluginError`` (fatal with ``[plugins] strict``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint

from collectors.base import Collector, did_you_mean, merge_options
from collectors.builtin import BUILTIN
from collectors.probe import Probe, ProbeCollector
from dashboard.pipeline.plugins import Call, Candidate, PluginError, discover
from dashboard.settings import Settings, SettingsError

MAX_TIMEOUT = 60.0
SETUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Loaded:
    """A collector, set up with its options, and how the scheduler should run it."""

    collector: Collector
    enabled: bool
    interval: float
    timeout: float
    origin: str = "built-in"


@dataclass(frozen=True)
class Registry:
    """Every collector that loaded (built-ins first, then plugins) and every plugin that didn't."""

    loaded: list[Loaded]
    errors: list[PluginError] = field(default_factory=list)


def load_collectors(
    settings: Settings, probe: Probe | None = None, classes: Iterable[type[Collector]] = BUILTIN
) -> list[Loaded]:
    """Instantiate and set up the given collectors (no plugins); raise SettingsError if bad."""
    classes = list(classes)
    _check_tables(settings, [cls.name for cls in classes], ignore=set())
    return [_load(cls, settings, probe) for cls in classes]


def load_registry(
    settings: Settings,
    call: Call,
    probe: Probe | None = None,
    classes: Iterable[type[Collector]] = BUILTIN,
    eps: Iterable[EntryPoint] | None = None,
) -> Registry:
    """Built-ins plus plugins. A built-in's bad settings are fatal; a plugin's problems
    disable that plugin (with a ``PluginError``), unless ``[plugins] strict`` is set."""
    classes = list(classes)
    builtin = [_load(cls, settings, probe) for cls in classes]
    candidates, errors = discover(settings.plugins.paths, call, eps)
    taken = {cls.name: "the built-in collector" for cls in classes}
    plugins = []
    for found in candidates:
        name = found.cls.name
        if name in taken:
            errors.append(
                PluginError(
                    name,
                    found.origin,
                    f"name {name!r} is already taken by {taken[name]}: rename the plugin",
                )
            )
            continue
        taken[name] = found.origin
        item = _load_plugin(found, settings, call)
        if isinstance(item, PluginError):
            errors.append(item)
        else:
            plugins.append(item)
    _check_tables(settings, list(taken), ignore={e.plugin for e in errors})
    if errors and settings.plugins.strict:
        problems = "; ".join(str(e) for e in errors)
        raise SettingsError(
            f"{settings.source} [plugins] strict = true and {len(errors)} plugin(s) "
            f"failed to load: {problems}"
        )
    return Registry(builtin + plugins, errors)


def _check_tables(settings: Settings, names: list[str], ignore: set[str]) -> None:
    """Every ``[collectors.<name>]`` table names a collector (or a plugin that failed)."""
    for name in settings.collectors:
        if name not in names and name not in ignore:
            raise SettingsError(
                f"{settings.source} [collectors.{name}]: no collector named {name!r}"
                f"{did_you_mean(name, names)} (known: {', '.join(names)})"
            )


def _load(cls: type[Collector], settings: Settings, probe: Probe | None) -> Loaded:
    conf = settings.collector(cls.name)
    collector = cls(probe) if probe is not None and issubclass(cls, ProbeCollector) else cls()
    enabled = cls.enabled_by_default if conf.enabled is None else conf.enabled
    try:
        if enabled:
            collector.setup(conf.options)
        else:  # off: option names and types are still checked, nothing else runs
            collector.options = merge_options(cls.defaults, conf.options)
    except ValueError as exc:
        raise SettingsError(f"{settings.source} [collectors.{cls.name}]: {exc}") from None
    interval = conf.interval if conf.interval is not None else float(cls.interval)
    return Loaded(collector, enabled, interval, timeout=min(interval, MAX_TIMEOUT))


def _load_plugin(found: Candidate, settings: Settings, call: Call) -> Loaded | PluginError:
    """Instantiate, set up and describe a plugin in a native thread, with a timeout."""
    cls, name = found.cls, found.cls.name
    conf = settings.collector(name)
    enabled = cls.enabled_by_default if conf.enabled is None else conf.enabled
    default = cls.interval
    if (
        isinstance(default, bool)
        or not isinstance(default, (int, float))
        or not 0 < default <= 86_400
    ):
        return PluginError(
            name, found.origin, f"interval = {default!r}: expected seconds, 0 < interval <= 86400"
        )
    interval = conf.interval if conf.interval is not None else float(default)

    def build() -> Collector:
        collector = cls()
        if enabled:  # a plugin switched off is not set up: it may be off because it breaks
            collector.setup(conf.options)
            list(collector.describe())
        return collector

    table = f"[collectors.{name}] in {settings.source}"
    try:
        collector = call(build, SETUP_TIMEOUT)
    except TimeoutError:
        return PluginError(
            name,
            found.origin,
            f"setup took longer than {SETUP_TIMEOUT:g} s: setup() and describe() must not block",
        )
    except ValueError as exc:
        return PluginError(name, found.origin, f"rejects its options: {exc}; fix {table}")
    except BaseException as exc:  # plugin code: anything, SystemExit included
        what = (
            f"called sys.exit({exc.code!r})"
            if isinstance(exc, SystemExit)
            else f"{type(exc).__name__}: {exc}"
        )
        return PluginError(
            name,
            found.origin,
            f"setup failed: {what}; fix the plugin or disable it ({table}: enabled = false)",
        )
    return Loaded(collector, enabled, interval, min(interval, MAX_TIMEOUT), found.origin)
