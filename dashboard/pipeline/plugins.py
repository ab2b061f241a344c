"""Finding plugins: the ``dashboard.collectors`` entry-point group and ``[plugins] paths``.

A plugin is a ``collectors.Collector`` subclass, the contract the built-ins use. Everything
that can go wrong while finding one — the import raises or hangs, the object is not a
Collector class, it is abstract or has no name — becomes a ``PluginError`` that names the
plugin, where it came from and what to fix; the other plugins load anyway. Plugin code
(the import itself) runs in a native thread with a timeout, so a plugin that sleeps at
import time delays the start by at most ``IMPORT_TIMEOUT``.

A plugin's name, before it is imported, is its entry point's name or its module's (the file
without ``.py``, or the package's folder). One whose name is switched off in the settings is
not imported at all (``Skipped``): ``enabled = false`` works even for a plugin whose import
hangs or crashes. Name the module or entry point like the collector for this to apply.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from collectors.base import NAME_RE, Collector
from collectors.messages import kind

GROUP = "dashboard.collectors"
IMPORT_TIMEOUT = 10.0

Call = Callable[[Callable[[], Any], float], Any]  # NativeWorkers.call


@dataclass(frozen=True)
class Candidate:
    """A Collector class found, and where: for messages, ``dashboard collectors``, /healthz."""

    cls: type[Collector]
    origin: str


@dataclass(frozen=True)
class PluginError:
    """A plugin that could not be loaded: which, from where, and what to do about it."""

    plugin: str
    origin: str
    error: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} ({self.origin}): {self.error}"

    def as_dict(self) -> dict[str, str]:
        return {"plugin": self.plugin, "origin": self.origin, "error": self.error}


@dataclass(frozen=True)
class Skipped:
    """A plugin switched off in the settings, so never imported."""

    name: str
    origin: str


@dataclass
class Found:
    """What discovery found: classes to load, plugins that failed, plugins left alone."""

    candidates: list[Candidate] = field(default_factory=list)
    errors: list[PluginError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def discover(
    paths: Iterable[Path],
    call: Call,
    eps: Iterable[EntryPoint] | None = None,
    skip: Collection[str] = (),
) -> Found:
    """Every plugin class from the entry points, then from each folder, in a stable order;
    plugins named in ``skip`` are not imported."""
    found = Found()
    for ep in sorted(entry_points(group=GROUP) if eps is None else eps, key=lambda e: e.name):
        if ep.name in skip:
            found.skipped.append(Skipped(ep.name, _ep_origin(ep)))
        else:
            _from_entry_point(ep, call, found.candidates, found.errors)
    for folder in paths:
        for path in _modules_in(folder):
            name = _module_name(path)
            if name in skip:
                found.skipped.append(Skipped(name, f"file {path}"))
            else:
                _from_file(path, call, found.candidates, found.errors)
    return found


def _ep_origin(ep: EntryPoint) -> str:
    dist = f" from {ep.dist.name} {ep.dist.version}" if ep.dist is not None else ""
    return f"entry point {ep.name} = {ep.value}{dist}"


def _module_name(path: Path) -> str:
    return path.parent.name if path.name == "__init__.py" else path.stem


def _from_entry_point(
    ep: EntryPoint, call: Call, found: list[Candidate], errors: list[PluginError]
) -> None:
    origin = _ep_origin(ep)
    try:
        obj = call(ep.load, IMPORT_TIMEOUT)
    except TimeoutError:
        errors.append(PluginError(ep.name, origin, _slow_import()))
        return
    except BaseException as exc:  # an import may raise anything, SystemExit included
        errors.append(PluginError(ep.name, origin, _failed_import(exc)))
        return
    if not (isinstance(obj, type) and issubclass(obj, Collector)):
        errors.append(
            PluginError(
                ep.name,
                origin,
                f"names {kind(obj)}, not a Collector subclass: point the entry point at "
                "a class that subclasses collectors.Collector (from collectors import Collector)",
            )
        )
        return
    problem = class_problem(obj)
    if problem:
        errors.append(PluginError(obj.name or ep.name, origin, problem))
    else:
        found.append(Candidate(obj, origin))


def _from_file(path: Path, call: Call, found: list[Candidate], errors: list[PluginError]) -> None:
    origin = f"file {path}"
    label = _module_name(path)
    try:
        module = call(lambda: _import(path), IMPORT_TIMEOUT)
    except TimeoutError:
        errors.append(PluginError(label, origin, _slow_import()))
        return
    except BaseException as exc:
        errors.append(PluginError(label, origin, _failed_import(exc)))
        return
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, Collector)
        and obj.__module__ == module.__name__
        and (obj.name or not inspect.isabstract(obj))  # a nameless abstract base is a helper
    ]
    if not classes:
        errors.append(
            PluginError(
                label,
                origin,
                "defines no Collector subclass: define a class that subclasses "
                "collectors.Collector, with a name (or move the file out of [plugins] paths)",
            )
        )
    for cls in classes:
        problem = class_problem(cls)
        if problem:
            errors.append(PluginError(cls.name or cls.__name__, origin, problem))
        else:
            found.append(Candidate(cls, origin))


def class_problem(cls: type[Collector]) -> str | None:
    """What is wrong with a Collector subclass as a plugin, or None."""
    if not cls.name:
        return f"class {cls.__name__} has no name: set name = '...' (lower case, like 'nginx')"
    if not isinstance(cls.name, str) or not NAME_RE.match(cls.name):
        return (
            f"name {cls.name!r} is not valid: expected lower-case letters, digits and '_', "
            "starting with a letter, at most 32 characters"
        )
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        return f"class {cls.__name__} does not implement {', '.join(m + '()' for m in missing)}"
    return None


def _modules_in(folder: Path) -> list[Path]:
    """The plugin modules in a folder: ``*.py`` files and packages, not ``_private`` ones."""
    modules = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_file() and entry.suffix == ".py":
            modules.append(entry)
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            modules.append(entry / "__init__.py")
    return modules


def _import(path: Path) -> ModuleType:
    """Import one file (or package) under a name no other plugin folder can collide with."""
    tag = hashlib.sha1(str(path.parent.resolve()).encode()).hexdigest()[:8]
    is_package = path.name == "__init__.py"
    stem = path.parent.name if is_package else path.stem
    name = f"dashboard_plugins.p{tag}.{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if is_package else None
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and friends look their module up while it runs
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _failed_import(exc: BaseException) -> str:
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = str(Path(__file__).parent.parent)  # our own frames (the worker thread) are no location
    plugin_frames = [
        f for f in frames if "importlib" not in f.filename and not f.filename.startswith(ours)
    ]
    if plugin_frames:
        last = plugin_frames[-1]
        where = f" at {last.filename}:{last.lineno}"
    if isinstance(exc, SystemExit):
        text = f"called sys.exit({exc.code!r})"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return f"import failed{where}: {text}; fix the plugin (or uninstall / move it away)"


def _slow_import() -> str:
    return (
        f"import took longer than {IMPORT_TIMEOUT:g} s: a plugin must not block at import "
        "time (do slow work in setup() or collect())"
    )
