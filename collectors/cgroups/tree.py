"""The cgroup hierarchies of this machine and the counters of each group in them.

cgroup v2 (one unified tree, the norm on current distributions) and v1 (one tree per
controller: cpuacct, memory, blkio, pids). A hybrid machine (v1 controllers, an empty v2
tree under ``unified``) is read as v1: that is where its counters are. Every read is of a
small kernel file; a group removed while being read is left out of that reading, and a file
a group lacks (a controller not enabled for it) is no value, never an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from collectors.cgroups.files import read_once

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("cpuacct", "memory", "blkio", "pids")
LISTED_V1 = ("cpuacct", "memory")  # the v1 trees whose groups are listed
LEAF_LINKS = 2  # a folder's link count with no subfolders: its own entry and "."
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
    """Every group's path relative to its tree ("system.slice/nginx.service"), sorted. v1's
    trees can differ, so the union of those that count CPU or memory (a group only in the
    pids or blkio tree has neither, and walking two trees of four halves the cost)."""
    roots = layout.roots
    if layout.version == 1:
        roots = {c: r for c, r in roots.items() if c in LISTED_V1} or roots
    found: set[str] = set()
    for root in roots.values():
        found.update(_walk(root))
    return sorted(found)


def procs_file(layout: Layout, path: str) -> str:
    """The file listing the group's processes (v1: in its cpuacct tree, else its first)."""
    roots = layout.roots
    root = roots.get("unified") or roots.get("cpuacct") or next(iter(roots.values()))
    return f"{root}/{path}/cgroup.procs"


def _walk(root: Path) -> Iterator[str]:
    """Every folder under ``root`` as a relative "/" path, MAX_DEPTH levels at most. scandir's
    entry types come with the listing (no stat per entry), and a folder whose link count
    says it has no subfolders (kernfs and tmpfs keep 2 + subfolders) is not listed: a group's
    folder holds dozens of files, and listing them was most of a walk. Each folder is
    listed through a descriptor, so the link counts are looked up relative to it, not from
    the root (a third cheaper on this machine's kernfs). A folder gone or unreadable
    meanwhile is left out."""
    pending = [(str(root), "", 0)]
    while pending:
        folder, rel, depth = pending.pop()
        for name, deeper in _subfolders(folder):
            path = f"{rel}/{name}" if rel else name
            yield path
            if deeper and depth + 1 < MAX_DEPTH:
                pending.append((f"{folder}/{name}", path, depth + 1))


def _subfolders(folder: str) -> list[tuple[str, bool]]:
    """(name, whether it may have subfolders) of each folder in ``folder``."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        with os.scandir(fd) as entries:
            return [(e.name, _may_have_subfolders(e)) for e in entries
                    if e.is_dir(follow_symlinks=False)]  # fmt: skip
    except OSError:
        return []
    finally:
        os.close(fd)


def _may_have_subfolders(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.stat(follow_symlinks=False).st_nlink != LEAF_LINKS
    except OSError:
        return False  # gone meanwhile


Reader = Callable[[str], bytes | None]


@dataclass(frozen=True)
class Files:
    """Where one group's counter files are (None: its tree is not on this machine). Made
    once per group (``files``), not at every reading: the paths are most of the work left."""

    version: int
    folders: tuple[str, ...]  # the group's folder in each tree
    cpu: str | None
    memory: str | None
    memory_stat: str | None
    limit: str | None
    io: str | None
    pids: str | None


def files(layout: Layout, path: str) -> Files:
    """The counter files of the group at ``path`` (which need not exist)."""
    roots = layout.roots
    if layout.version == 2:
        f = f"{roots['unified']}/{path}"
        return Files(2, (f,), f"{f}/cpu.stat", f"{f}/memory.current", f"{f}/memory.stat",
                     f"{f}/memory.max", f"{f}/io.stat", f"{f}/pids.current")  # fmt: skip

    def at(controller: str, name: str) -> str | None:
        root = roots.get(controller)
        return None if root is None else f"{root}/{path}/{name}"

    io = at("blkio", "blkio.throttle.io_service_bytes")
    return Files(1, tuple(f"{root}/{path}" for root in roots.values()),
                 at("cpuacct", "cpuacct.usage"), at("memory", "memory.usage_in_bytes"),
                 at("memory", "memory.stat"), at("memory", "memory.limit_in_bytes"), io,
                 at("pids", "pids.current"))  # fmt: skip


def read(layout: Layout, path: str, reader: Reader = read_once,
         where: Files | None = None) -> Counters | None:  # fmt: skip
    """The counters of the group at ``path``, or None if it is gone. ``reader``: how a file
    is read (files.OpenFiles.read keeps them open between readings); ``where``: its
    ``files()``, when the caller keeps them."""
    where = where or files(layout, path)

    def raw(file: str | None) -> bytes | None:
        return None if file is None else reader(file)

    # Reads are of plain string paths in bytes: at 200 groups a reading reads over a
    # thousand small files, and pathlib and text decoding were most of its cost.
    cpu_data, used = raw(where.cpu), _number(raw(where.memory))
    if cpu_data is None and used is None and not any(map(os.path.isdir, where.folders)):
        return None  # removed since the listing: it will not be in the next one
    v2 = where.version == 2
    cpu = _field(cpu_data, b"usage_usec") if v2 else _number(cpu_data)
    cache = _field(raw(where.memory_stat), b"inactive_file" if v2 else b"total_inactive_file")
    limit = _number(raw(where.limit))
    io = (_io_v2 if v2 else _io_v1)(raw(where.io))
    return Counters(
        cpu_ns=None if cpu is None else cpu * 1000 if v2 else cpu,
        memory=_minus(used, cache),
        limit=None if limit is None or limit >= NO_LIMIT_V1 else limit,
        read_bytes=io[0],
        write_bytes=io[1],
        pids=_number(raw(where.pids)),
    )


def _number(data: bytes | None) -> float | None:
    if data is None:
        return None
    word = data.strip()
    if word == b"max" or not word:
        return None
    try:
        return float(word)
    except ValueError:
        return None


def _field(data: bytes | None, key: bytes) -> float | None:
    """The value of ``key value`` line ``key`` (cpu.stat, memory.stat), or None."""
    if not data:
        return None
    at = data.find(key + b" ")
    while at > 0 and data[at - 1 : at] != b"\n":  # a longer key ending in this one
        at = data.find(key + b" ", at + 1)
    if at < 0:
        return None
    line = data[at + len(key) + 1 :].split(b"\n", 1)[0]
    try:
        return float(line)
    except ValueError:
        return None


def _io_v2(data: bytes | None) -> tuple[float | None, float | None]:
    """io.stat: ``8:0 rbytes=N wbytes=N rios=N ...`` per device, summed."""
    if data is None:
        return None, None
    read = write = 0.0
    for line in data.splitlines():
        for field in line.split()[1:]:
            key, _, value = field.partition(b"=")
            if value.isdigit():
                if key == b"rbytes":
                    read += float(value)
                elif key == b"wbytes":
                    write += float(value)
    return read, write


def _io_v1(data: bytes | None) -> tuple[float | None, float | None]:
    """blkio.throttle.io_service_bytes: ``8:0 Read N`` / ``8:0 Write N`` per device."""
    if data is None:
        return None, None
    read = write = 0.0
    for line in data.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            if parts[1] == b"Read":
                read += float(parts[2])
            elif parts[1] == b"Write":
                write += float(parts[2])
    return read, write


def _minus(value: float | None, cache: float | None) -> float | None:
    if value is None:
        return None
    return max(0.0, value - (cache or 0.0))
