"""Which collectors exist and how each is configured: the built-ins and the plugins.

Every ``[collectors.<name>]`` table must name a known collector; each collector's own options
are validated by its ``setup()``. A built-in's problem is a ``SettingsError`` naming file and
table; a plugin's disables that plugin with a ``PluginError`` (fatal with ``[plugins] strict``).
A plugin switched off (``enabled = false``) whose file, package or entry point has its name is
not even imported: an import that hangs or crashes cannot be in the way.

Setting a collector up runs its code (``setup``, ``describe``, ``parse_filter({})`` for the
filter of clients that send none), so it happens in a native thread with a timeout, for the
built-ins too; the results travel in ``Loaded``, and nothing calls them again on the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from typing import Any

from collectors.base import Collector, Series, merge_options
from collectors.builtin import BUILTIN
from collectors.messages import did_you_mean
from collectors.probe import Probe, ProbeCollector
from dashboard.pipeline.filters import describe_error
from dashboard.pipeline.payloads import normalized_filter
from dashboard.pipeline.plugins import Call, Candidate, PluginError, Skipped, discover
from dashboard.pipeline.validate import BadOutput, check_series
from dashboard.settings import CollectorSettings, Settings, SettingsError

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
    series: tuple[Series, ...] = ()  # what describe() said at set-up
    default_filter: Mapping[str, Any] | None = None  # None: the collector takes no filter


@dataclass(frozen=True)
class Registry:
    """Every collector that loaded (built-ins first, then plugins), every plugin that didn't,
    and every plugin that was switched off before it was imported."""

    loaded: list[Loaded]
    errors: list[PluginError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _direct(fn: Callable[[], Any], _timeout: float) -> Any:
    return fn()


def load_collectors(
    settings: Settings, probe: Probe | None = None, classes: Iterable[type[Collector]] = BUILTIN
) -> list[Loaded]:
    """Instantiate and set up the given collectors (no plugins), in this thread; raise
    SettingsError if one is configured badly."""
    classes = list(classes)
    _check_tables(settings, [cls.name for cls in classes], ignore=set())
    return [_load_builtin(cls, settings, probe, _direct) for cls in classes]


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
    builtin = [_load_builtin(cls, settings, probe, call) for cls in classes]
    switched_off = {n for n, conf in settings.collectors.items() if conf.enabled is False}
    found = discover(settings.plugins.paths, call, eps, skip=switched_off)
    errors = list(found.errors)
    taken = {cls.name: "the built-in collector" for cls in classes}
    plugins = []
    for candidate in found.candidates:
        name = candidate.cls.name
        if name in taken:
            errors.append(
                PluginError(
                    name,
                    candidate.origin,
                    f"name {name!r} is already taken by {taken[name]}: rename the plugin",
                )
            )
            continue
        taken[name] = candidate.origin
        item = _load_plugin(candidate, settings, call)
        if isinstance(item, PluginError):
            errors.append(item)
        else:
            plugins.append(item)
    ignore = {e.plugin for e in errors} | {s.name for s in found.skipped}
    _check_tables(settings, list(taken), ignore=ignore)
    if errors and settings.plugins.strict:
        problems = "; ".join(str(e) for e in errors)
        raise SettingsError(
            f"{settings.source} [plugins] strict = true and {len(errors)} plugin(s) "
            f"failed to load: {problems}"
        )
    return Registry(builtin + plugins, errors, found.skipped)


def _check_tables(settings: Settings, names: list[str], ignore: set[str]) -> None:
    """Every ``[collectors.<name>]`` table names a collector (or a plugin that failed)."""
    for name in settings.collectors:
        if name not in names and name not in ignore:
            raise SettingsError(
                f"{settings.source} [collectors.{name}]: no collector named {name!r}"
                f"{did_you_mean(name, names)} (known: {', '.join(names)})"
            )


@dataclass(frozen=True)
class _Built:
    collector: Collector
    series: tuple[Series, ...]
    default_filter: Mapping[str, Any] | None


def _builder(
    cls: type[Collector],
    conf: CollectorSettings,
    enabled: bool,
    probe: Probe | None,
    builtin: bool = True,
) -> Callable[[], _Built]:
    """What sets one collector up: run it through ``call`` (a native thread, a timeout)."""

    def build() -> _Built:
        collector = cls(probe) if probe is not None and issubclass(cls, ProbeCollector) else cls()
        if not enabled and not builtin:  # a plugin may be off because it breaks: not set up
            return _Built(collector, (), None)
        if not enabled:  # off: option names and types are still checked, nothing else runs
            collector.options = merge_options(cls.defaults, conf.options)
            # A built-in (our own code) still says what it would show: `dashboard collectors`.
            return _Built(collector, tuple(collector.describe()), None)
        collector.setup(conf.options)
        series = list(collector.describe())
        check_series(cls.name, series)
        return _Built(collector, tuple(series), _default_filter(collector))

    return build


def _default_filter(collector: Collector) -> dict[str, Any] | None:
    """The filter of a client that never sent one (None when the collector takes none)."""
    try:
        return normalized_filter(collector.parse_filter({}))
    except ValueError:
        return None


def _load_builtin(
    cls: type[Collector], settings: Settings, probe: Probe | None, call: Call
) -> Loaded:
    conf = settings.collector(cls.name)
    enabled = cls.enabled_by_default if conf.enabled is None else conf.enabled
    table = f"{settings.source} [collectors.{cls.name}]"
    try:
        built: _Built = call(_builder(cls, conf, enabled, probe), SETUP_TIMEOUT)
    except TimeoutError:
        raise SettingsError(f"{table}: setting up took longer than {SETUP_TIMEOUT:g} s") from None
    except BadOutput as exc:
        raise SettingsError(f"{table}: {exc}") from None
    except ValueError as exc:
        raise SettingsError(f"{table}: {exc}") from None
    interval = conf.interval if conf.interval is not None else float(cls.interval)
    return Loaded(
        built.collector,
        enabled,
        interval,
        min(interval, MAX_TIMEOUT),
        series=built.series,
        default_filter=built.default_filter,
    )


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
    table = f"[collectors.{name}] in {settings.source}"
    try:
        built: _Built = call(_builder(cls, conf, enabled, None, builtin=False), SETUP_TIMEOUT)
    except TimeoutError:
        return PluginError(
            name,
            found.origin,
            f"setup took longer than {SETUP_TIMEOUT:g} s: setup() and describe() must not block",
        )
    except BadOutput as exc:
        return PluginError(name, found.origin, f"{exc}; fix the plugin")
    except ValueError as exc:
        return PluginError(name, found.origin, f"rejects its options: {exc}; fix {table}")
    except BaseException as exc:  # plugin code: anything, SystemExit included
        return PluginError(
            name,
            found.origin,
            f"setup failed: {describe_error(exc)}; fix the plugin or disable it "
            f"({table}: enabled = false)",
        )
    return Loaded(
        built.collector,
        enabled,
        interval,
        min(interval, MAX_TIMEOUT),
        found.origin,
        built.series,
        built.default_filter,
    )
