"""Counter files kept open between readings and read again with ``pread`` at offset 0.

Opening a kernfs file costs a path walk and an allocation on every reading; reading an open
one again from offset 0 makes the kernel write it afresh (seq_file restarts at 0). Measured on
this machine's cgroup v1 tree: 6.9 µs to open, read and close ``cpuacct.usage``, 1.0 µs to
``pread`` it open. With six files a group and 200 groups that is most of a reading, so the
files stay open, up to a budget of descriptors (a share of the process's limit, so that
clients' sockets never run short); past it files are opened per read as before.

A file whose group was removed reads as an error (ENODEV): its descriptor is closed and the
file opened afresh once, in case a group of the same name was made again.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import weakref
from collections.abc import Iterable

READ_AT_MOST = 65536  # bytes of one counter file (memory.stat is about 1.5 KiB)
MOST_OPEN = 4096  # descriptors at most, whatever the limit
SHARE_OF_LIMIT = 4  # at most a quarter of the process's open-files limit


def budget() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MOST_OPEN
    return max(0, min(MOST_OPEN, soft // SHARE_OF_LIMIT))


class OpenFiles:
    """``read(path)``: the file's bytes, or None where it is missing or unreadable."""

    def __init__(self, most: int | None = None) -> None:
        self.most = budget() if most is None else most
        self._open: dict[str, int] = {}
        # A reading that outlived its timeout may still run while the next one starts:
        # a descriptor is never closed while another thread reads it (its number could be
        # reused by a socket meanwhile).
        self._lock = threading.Lock()
        # A collector replaced on reload is dropped, not told: its files close with it.
        weakref.finalize(self, _close_all, self._open)

    def read(self, path: str) -> bytes | None:
        with self._lock:
            fd = self._open.get(path)
            if fd is not None:
                try:
                    return os.pread(fd, READ_AT_MOST, 0)
                except OSError:  # the group is gone (ENODEV): perhaps made again
                    self._close(path)
            return self._first_read(path)

    def _first_read(self, path: str) -> bytes | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # ENOENT, EACCES, EISDIR, ENODEV (a controller detached) and kin
            return None
        try:
            data = os.read(fd, READ_AT_MOST)
        except OSError:
            os.close(fd)
            return None
        if len(self._open) < self.most:
            self._open[path] = fd
        else:
            os.close(fd)
        return data

    def keep_only(self, folders: Iterable[str]) -> None:
        """Close the files of every folder not listed (groups gone or no longer read)."""
        wanted = {f.rstrip("/") + "/" for f in folders}
        with self._lock:
            for path in [p for p in self._open if p[: p.rfind("/") + 1] not in wanted]:
                self._close(path)

    def close(self) -> None:
        with self._lock:
            _close_all(self._open)

    def __len__(self) -> int:
        return len(self._open)

    def _close(self, path: str) -> None:
        _close_fd(self._open.pop(path))


def read_once(path: str) -> bytes | None:
    """A file's bytes, opened for this read only; None where it is missing or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, READ_AT_MOST)
    except OSError:
        return None
    finally:
        os.close(fd)


def _close_all(open_files: dict[str, int]) -> None:
    while open_files:
        _close_fd(open_files.popitem()[1])


def _close_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
