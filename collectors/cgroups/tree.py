"""The cgroup hierarchies of this machine and the counters of each group in them.

cgroup v2 (one unified tree, the norm on current distributions) and v1 (one tree per
controller: cpuacct, memory, blkio, pids). A hybrid machine (v1 controllers, an empty v2
tree under ``unified``) is read as v1: that is where its counters are. Every read is of a
small kernel file; a group removed while being read is left out of that reading, and a file
a group lacks (a controller not enabled for it) is no value, never an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("cpuacct", "memory", "blkio", "pids")
# v1 writes "no limit" as the largest page-aligned signed 64-bit number (or close to it).
NO_LIMIT_V1 = 2**62
MAX_DEPTH = 12  # deeper than any runtime nests (kubepods/<qos>/<pod>/<container> is 4)


@dataclass(frozen=True)
class Layout:
    """Where the counters are: v2's one tree, or v1's tree per controller."""

    version: int
    roots: dict[str, Path]  # v2: {"unified": root}; v1: {controller: its tree}


@dataclass
class Counters:
    """One group's counters at one moment; None where the group has no such file."""

    cpu_ns: float | None = None
    memory: float | None = None  # bytes in use, page cache that can be dropped left out
    limit: float | None = None  # bytes; None: no limit
    read_bytes: float | None = None
    write_bytes: float | None = None
    pids: float | None = None


def detect(base: Path = ROOT) -> Layout | None:
    """This machine's layout under ``base``, or None where no cgroup tree is readable."""
    if (base / "cgroup.controllers").is_file():
        return Layout(2, {"unified": base})
    roots = {c: _v1_root(base, c) for c in V1_CONTROLLERS}
    found = {c: p for c, p in roots.items() if p is not None}
    if "cpuacct" in found or "memory" in found:
        return Layout(1, found)
    return None


def _v1_root(base: Path, controller: str) -> Path | None:
    """A v1 controller's tree: its own mount, or a co-mounted one ("cpu,cpuacct")."""
    for entry in sorted(base.iterdir()) if base.is_dir() else []:
        if controller in entry.name.split(",") and (entry / "tasks").is_file():
            return entry
    return None


def groups(layout: Layout) -> list[str]:
    """Every group's path relative to its tree ("system.slice/nginx.service"), sorted; v1's
    trees can differ, so the union of them."""
    found: set[str] = set()
    for root in layout.roots.values():
        found.update(_walk(root))
    return sorted(found)


def _walk(root: Path) -> Iterator[str]:
    for folder, subfolders, _files in os.walk(root, onerror=lambda _e: None):
        rel = os.path.relpath(folder, root)
        depth = 0 if rel == "." else rel.count(os.sep) + 1
        if depth >= MAX_DEPTH:
            subfolders[:] = []
        if depth:
            yield rel.replace(os.sep, "/")


def read(layout: Layout, path: str) -> Counters | None:
    """The counters of the group at ``path``, or None if it is gone."""
    try:
        return _read_v2(layout.roots["unified"] / path) if layout.version == 2 \
            else _read_v1(layout.roots, path)  # fmt: skip
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None  # removed while being read: it will not be in the next listing


def _read_v2(folder: Path) -> Counters:
    if not folder.is_dir():
        raise FileNotFoundError(folder)
    cpu = _keyed(folder / "cpu.stat").get("usage_usec")
    stat = _keyed(folder / "memory.stat")
    io = _io_v2(folder / "io.stat")
    return Counters(
        cpu_ns=None if cpu is None else cpu * 1000,
        memory=_minus(_number(folder / "memory.current"), stat.get("inactive_file")),
        limit=_number(folder / "memory.max"),
        read_bytes=io[0],
        write_bytes=io[1],
        pids=_number(folder / "pids.current"),
    )


def _read_v1(roots: dict[str, Path], path: str) -> Counters:
    folders = {c: root / path for c, root in roots.items()}
    if not any(f.is_dir() for f in folders.values()):
        raise FileNotFoundError(path)
    memory = folders.get("memory")
    limit = None if memory is None else _number(memory / "memory.limit_in_bytes")
    stat = {} if memory is None else _keyed(memory / "memory.stat")
    used = None if memory is None else _number(memory / "memory.usage_in_bytes")
    blkio = folders.get("blkio")
    io = (None, None) if blkio is None else _io_v1(blkio / "blkio.throttle.io_service_bytes")
    cpuacct, pids = folders.get("cpuacct"), folders.get("pids")
    return Counters(
        cpu_ns=None if cpuacct is None else _number(cpuacct / "cpuacct.usage"),
        memory=_minus(used, stat.get("total_inactive_file")),
        limit=None if limit is None or limit >= NO_LIMIT_V1 else limit,
        read_bytes=io[0],
        write_bytes=io[1],
        pids=None if pids is None else _number(pids / "pids.current"),
    )


def _text(path: Path) -> str | None:
    """A counter file's text; None where the group has no such file (or may not read it).
    A group that is gone raises FileNotFoundError from its folder check, not here."""
    try:
        return path.read_text()
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        return None
    except OSError:
        return None  # ENODEV and kin: a controller detached while reading


def _number(path: Path) -> float | None:
    text = _text(path)
    if text is None:
        return None
    word = text.strip()
    if word == "max" or not word:
        return None
    try:
        return float(word)
    except ValueError:
        return None


def _keyed(path: Path) -> dict[str, float]:
    """``key value`` lines (cpu.stat, memory.stat) as numbers."""
    out: dict[str, float] = {}
    for line in (_text(path) or "").splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            continue
    return out


def _io_v2(path: Path) -> tuple[float | None, float | None]:
    """io.stat: ``8:0 rbytes=N wbytes=N rios=N ...`` per device, summed."""
    text = _text(path)
    if text is None:
        return None, None
    read = write = 0.0
    for line in text.splitlines():
        for field in line.split()[1:]:
            key, _, value = field.partition("=")
            if key in ("rbytes", "wbytes") and value.isdigit():
                if key == "rbytes":
                    read += float(value)
                else:
                    write += float(value)
    return read, write


def _io_v1(path: Path) -> tuple[float | None, float | None]:
    """blkio.throttle.io_service_bytes: ``8:0 Read N`` / ``8:0 Write N`` per device."""
    text = _text(path)
    if text is None:
        return None, None
    read = write = 0.0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            if parts[1] == "Read":
                read += float(parts[2])
            elif parts[1] == "Write":
                write += float(parts[2])
    return read, write


def _minus(value: float | None, cache: float | None) -> float | None:
    if value is None:
        return None
    return max(0.0, value - (cache or 0.0))
