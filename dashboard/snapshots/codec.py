"""The stored form of process snapshots: many consecutive snapshots of one host in one blob.

Consecutive scans of one machine are nearly the same table, so a blob keeps what changed:

- each snapshot names the rows that left (by their place in the one before) and the rows
  that came (pid, name, user); a process that stays costs nothing but its numbers;
- numbers are quantised and stored as the change from the same process's last value:
  CPU in tenths of a percent, memory in KiB (Linux counts it in 4 KiB pages, so nothing is
  lost), status as an index; ``memory_percent`` is not stored, but recomputed from memory
  and the host's total memory (one number per snapshot, derived from the rows);
- names, users and statuses are stored once per blob, as a string table;
- every kind of number goes to a stream of its own (varints: small changes, small bytes),
  and the streams are compressed together with zlib, so a run of "no change" is nearly free.

Decoding gives back the rows as encoded, up to that quantisation.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

VERSION = 1
LEVEL = 9
STREAMS = ("head", "gone", "came", "cpu", "memory", "status")


class Snapshot(NamedTuple):
    """One scan's kept rows (``pick``), with the live table's fields, sorted by pid."""

    ts: float
    rows: list[dict[str, Any]]


class SnapshotError(ValueError):
    """A blob that is not snapshots this code can read (corrupt, truncated, newer)."""


class _Last(NamedTuple):
    """What the snapshot before said of one process: its strings and quantised numbers."""

    name: int
    user: int
    cpu: int
    memory: int
    status: int


def encode(snapshots: Sequence[Snapshot]) -> bytes:
    """Many snapshots of one host, oldest first, as one blob."""
    writer = _Writer()
    for snapshot in snapshots:
        writer.add(snapshot)
    return writer.blob()


def decode(blob: bytes) -> list[Snapshot]:
    """The snapshots a blob was made from; ``SnapshotError`` if it is not one."""
    if not blob or blob[0] != VERSION:
        found = blob[0] if blob else "none"
        raise SnapshotError(f"snapshot format {found}; this version reads {VERSION}")
    try:
        return _Reader(zlib.decompress(blob[1:])).snapshots()
    except (zlib.error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise SnapshotError(f"unreadable snapshots ({type(exc).__name__}: {exc})") from None


class _Writer:
    def __init__(self) -> None:
        self.strings: dict[str, int] = {}
        self.streams: dict[str, bytearray] = {name: bytearray() for name in STREAMS}
        self.last: dict[int, _Last] = {}
        self.count = 0
        self._ms = 0
        self._total = 0

    def add(self, snapshot: Snapshot) -> None:
        ms = round(snapshot.ts * 1000)
        rows = sorted(snapshot.rows, key=lambda row: int(row["pid"]))
        now = {int(row["pid"]): self._quantised(row) for row in rows}
        gone = [i for i, pid in enumerate(self.last) if _moved(self.last[pid], now.get(pid))]
        came = [pid for pid, q in now.items() if _moved(self.last.get(pid), q)]
        new = set(came)
        total = _total_kib(rows)
        _put(self.streams["head"], ms - self._ms, total - self._total, len(gone), len(came))
        _put(self.streams["gone"], *_steps(gone))
        for step, pid in zip(_steps(came), came, strict=True):
            _put(self.streams["came"], step, now[pid].name, now[pid].user)
        for pid, q in now.items():
            before = _NOTHING if pid in new else self.last[pid]
            _put(self.streams["cpu"], q.cpu - before.cpu)
            _put(self.streams["memory"], q.memory - before.memory)
            _put(self.streams["status"], q.status - before.status)
        self.last, self._ms, self._total = now, ms, total
        self.count += 1

    def _quantised(self, row: Mapping[str, Any]) -> _Last:
        cpu, memory = row.get("cpu"), row.get("memory")
        return _Last(
            self._string(str(row["name"])),
            self._string(str(row["user"])),
            0 if cpu is None else round(cpu * 10) + 1,  # 0 is "unknown"
            0 if memory is None else round(memory / 1024) + 1,
            self._string(str(row.get("status") or "")),
        )

    def _string(self, text: str) -> int:
        return self.strings.setdefault(text, len(self.strings))

    def blob(self) -> bytes:
        sizes = [len(self.streams[name]) for name in STREAMS]
        header = json.dumps({"n": self.count, "strings": list(self.strings), "sizes": sizes},
                            separators=(",", ":"), ensure_ascii=False)  # fmt: skip
        encoded = header.encode("utf-8", "surrogatepass")
        body = b"".join([_varint(len(encoded)), encoded, *self.streams.values()])
        return bytes([VERSION]) + zlib.compress(body, LEVEL)


class _Reader:
    def __init__(self, body: bytes) -> None:
        size, start = _read_varint(body, 0)
        header = json.loads(body[start : start + size].decode("utf-8", "surrogatepass"))
        self.count = int(header["n"])
        self.strings = [str(text) for text in header["strings"]]
        offset = start + size
        self.streams: dict[str, Iterator[int]] = {}
        for name, length in zip(STREAMS, header["sizes"], strict=True):
            self.streams[name] = _values(body[offset : offset + int(length)])
            offset += int(length)

    def snapshots(self) -> list[Snapshot]:
        out: list[Snapshot] = []
        last: dict[int, _Last] = {}
        ms = total = 0
        for _ in range(self.count):
            ms, total = ms + self._next("head"), total + self._next("head")
            gone, came = self._next("head"), self._next("head")
            pids = list(last)
            for index in _unsteps([self._next("gone") for _ in range(gone)]):
                del last[pids[index]]
            pid = 0
            for _ in range(came):  # new rows start from nothing: their numbers are whole
                pid += self._next("came")
                last[pid] = _Last(self._next("came"), self._next("came"), 0, 0, 0)
            now: dict[int, _Last] = {}
            for pid in sorted(last):
                before = last[pid]
                now[pid] = _Last(before.name, before.user, before.cpu + self._next("cpu"),
                                 before.memory + self._next("memory"),
                                 before.status + self._next("status"))  # fmt: skip
            last = now
            out.append(Snapshot(ms / 1000, [self._row(pid, q, total) for pid, q in now.items()]))
        return out

    def _next(self, stream: str) -> int:
        return _unzigzag(next(self.streams[stream]))

    def _row(self, pid: int, q: _Last, total_kib: int) -> dict[str, Any]:
        memory = None if q.memory == 0 else (q.memory - 1) * 1024
        share = None
        if memory is not None and total_kib > 0:
            share = round(100 * memory / (total_kib * 1024), 3)
        return {"pid": pid, "name": self.strings[q.name], "user": self.strings[q.user],
                "cpu": None if q.cpu == 0 else (q.cpu - 1) / 10, "memory": memory,
                "memory_percent": share, "status": self.strings[q.status]}  # fmt: skip


_NOTHING = _Last(0, 0, 0, 0, 0)


def _moved(before: _Last | None, after: _Last | None) -> bool:
    """Whether a pid's row left (or came): gone, new, or another process with its pid."""
    if before is None or after is None:
        return True
    return (before.name, before.user) != (after.name, after.user)


def _total_kib(rows: Sequence[Mapping[str, Any]]) -> int:
    """The host's total memory, from a row that has both its bytes and its share."""
    for row in rows:
        memory, share = row.get("memory"), row.get("memory_percent")
        if memory and share:
            total = memory * 100 / share / 1024
            return round(total) if math.isfinite(total) else 0
    return 0


def _steps(ascending: Sequence[int]) -> list[int]:
    """Each value as the step from the one before (the first from 0)."""
    return [b - a for a, b in zip([0, *ascending], ascending, strict=False)]


def _unsteps(steps: Iterable[int]) -> list[int]:
    values, value = [], 0
    for step in steps:
        value += step
        values.append(value)
    return values


def _put(stream: bytearray, *numbers: int) -> None:
    for number in numbers:
        stream += _varint(number * 2 if number >= 0 else -number * 2 - 1)  # zigzag


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7


def _values(data: bytes) -> Iterator[int]:
    offset = 0
    while offset < len(data):
        value, offset = _read_varint(data, offset)
        yield value
    raise ValueError("a stream ended early")


def _unzigzag(value: int) -> int:
    return value // 2 if value % 2 == 0 else -(value + 1) // 2
