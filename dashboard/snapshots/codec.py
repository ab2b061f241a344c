"""The stored form of process snapshots: many consecutive snapshots of one host in one blob.

Consecutive scans of one machine are nearly the same table, so a blob keeps what changed:

- a blob has a table of the processes it saw (pid, name, user, each once); a snapshot names
  the rows that left (by their place in the one before) and the entries that came back or
  are new; a process that stays costs nothing but its numbers;
- numbers are quantised: CPU to tenths of a percent (stored as it is: it jumps about),
  memory to the three significant digits the table shows (in KiB: 199 MiB, 20.3 MiB) and
  status (an index) as the change from the same process's last value, even after a gap;
  ``memory_percent``
  is not stored but recomputed from memory and the host's total memory (one number per
  snapshot, derived from the rows);
- names, users and statuses are stored once per blob, as a string table;
- every kind of number goes to a stream of its own (varints: small changes, small bytes),
  and the streams are compressed together (LZMA), so a run of "no change" is nearly free.

Decoding gives back the rows as encoded, up to that quantisation.
"""

from __future__ import annotations

import itertools
import json
import lzma
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

VERSION = 2
# LZMA2 without a container: 8 % smaller than zlib's best on real scans; a 64 KiB
# dictionary holds a whole 10-minute block (and keeps the compressor's memory small).
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 1 << 16}]
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
    reader = _read(blob)
    return _guarded(lambda: [reader.snapshot(state) for state in reader.states()])


def times(blob: bytes) -> list[float]:
    """Only the snapshots' timestamps (cheap: no rows are rebuilt)."""
    reader = _read(blob)
    return _guarded(reader.times)


def decode_one(blob: bytes, index: int) -> Snapshot:
    """The ``index``-th snapshot alone (the rows before it are rebuilt, not returned)."""
    reader = _read(blob)

    def one() -> Snapshot:
        for at, state in enumerate(reader.states()):
            if at == index:
                return reader.snapshot(state)
        raise IndexError(f"snapshot {index} of {reader.count}")

    return _guarded(one)


def _read(blob: bytes) -> _Reader:
    if not blob or blob[0] != VERSION:
        found = blob[0] if blob else "none"
        raise SnapshotError(f"snapshot format {found}; this version reads {VERSION}")
    return _guarded(
        lambda: _Reader(lzma.decompress(blob[1:], format=lzma.FORMAT_RAW, filters=FILTERS))
    )


T = TypeVar("T")


def _guarded(work: Callable[[], T]) -> T:
    try:
        return work()
    except (lzma.LZMAError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise SnapshotError(f"unreadable snapshots ({type(exc).__name__}: {exc})") from None


class _Writer:
    def __init__(self) -> None:
        self.strings: dict[str, int] = {}
        self.streams: dict[str, bytearray] = {name: bytearray() for name in STREAMS}
        self.table: dict[tuple[int, int, int], int] = {}  # (pid, name, user): its entry
        self.known: list[_Last] = []  # each entry's numbers when it was last in a snapshot
        self.members: list[int] = []  # the entries of the snapshot before, by pid
        self.count = 0
        self._ms = 0
        self._total = 0

    def add(self, snapshot: Snapshot) -> None:
        ms = round(snapshot.ts * 1000)
        rows = {int(row["pid"]): row for row in snapshot.rows}  # one row per pid
        now = {pid: self._quantised(rows[pid]) for pid in sorted(rows)}
        entries = [self.table.get((pid, q.name, q.user)) for pid, q in now.items()]
        present = set(entries)
        gone = [i for i, entry in enumerate(self.members) if entry not in present]
        before = set(self.members)
        total = _total_kib(list(rows.values()))
        came = [(pid, e) for (pid, _q), e in zip(now.items(), entries, strict=True)
                if e is None or e not in before]  # fmt: skip
        _put(self.streams["head"], ms - self._ms, total - self._total, len(gone), len(came))
        _put(self.streams["gone"], *_steps(gone))
        for pid, entry in came:
            self._came(pid, now[pid], entry)
        self.members = []
        for pid, q in now.items():
            entry = self.table[(pid, q.name, q.user)]
            last = self.known[entry]
            # CPU as it is (it jumps about: a change is no smaller); the rest as changes.
            _put(self.streams["cpu"], q.cpu)
            _put(self.streams["memory"], q.memory - last.memory)
            _put(self.streams["status"], q.status - last.status)
            self.known[entry] = q
            self.members.append(entry)
        self._ms, self._total = ms, total
        self.count += 1

    def _came(self, pid: int, q: _Last, entry: int | None) -> None:
        """A row that was not in the snapshot before: an entry seen earlier in the blob is
        named by its number; a new one (its number is the next) gets pid, name and user."""
        if entry is not None:
            _put(self.streams["came"], entry)
            return
        entry = self.table[(pid, q.name, q.user)] = len(self.known)
        self.known.append(_Last(q.name, q.user, 0, 0, 0))
        _put(self.streams["came"], entry, pid, q.name, q.user)

    def _quantised(self, row: Mapping[str, Any]) -> _Last:
        cpu, memory = row.get("cpu"), row.get("memory")
        return _Last(
            self._string(str(row["name"])),
            self._string(str(row["user"])),
            0 if cpu is None else round(cpu * 10) + 1,  # 0 is "unknown"
            0 if memory is None else _kib(memory) + 1,
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
        return bytes([VERSION]) + lzma.compress(body, format=lzma.FORMAT_RAW, filters=FILTERS)


class _Stream:
    """One stream's numbers, taken in order; past its end is a ``ValueError`` (damage)."""

    def __init__(self, values: list[int]) -> None:
        self.values, self.at = values, 0

    def take(self) -> int:
        if self.at >= len(self.values):
            raise ValueError("a stream ended early")
        self.at += 1
        return self.values[self.at - 1]


class _State(NamedTuple):
    """One snapshot as decoded: its time, the host's total memory, each pid's numbers."""

    ms: int
    total: int
    rows: dict[int, _Last]


class _Reader:
    def __init__(self, body: bytes) -> None:
        size, start = _read_varint(body, 0)
        header = json.loads(body[start : start + size].decode("utf-8", "surrogatepass"))
        self.count = int(header["n"])
        self.strings = [str(text) for text in header["strings"]]
        offset = start + size
        self.streams: dict[str, list[int]] = {}
        for name, length in zip(STREAMS, header["sizes"], strict=True):
            self.streams[name] = _ints(body[offset : offset + int(length)])
            offset += int(length)
        if len(self.streams["head"]) != 4 * self.count:
            raise ValueError(f"{len(self.streams['head'])} head values for {self.count}")

    def times(self) -> list[float]:
        return [ms / 1000 for ms in itertools.accumulate(self.streams["head"][0::4])]

    def states(self) -> Iterator[_State]:
        """Each snapshot in turn, rebuilt from the one before and its changes."""
        head = self.streams["head"]
        gone, came, cpu, memory, status = (
            _Stream(self.streams[n]) for n in ("gone", "came", "cpu", "memory", "status")
        )
        pids: list[int] = []  # each entry's pid (name and user are in ``known``)
        known: list[_Last] = []
        members: list[int] = []
        ms = total = 0
        for at in range(0, 4 * self.count, 4):
            ms, total = ms + head[at], total + head[at + 1]
            for index in reversed(_unsteps([gone.take() for _ in range(head[at + 2])])):
                del members[index]
            for _ in range(head[at + 3]):
                entry = came.take()
                if entry == len(known):  # a new entry: pid, name and user follow
                    pids.append(came.take())
                    known.append(_Last(came.take(), came.take(), 0, 0, 0))
                members.append(entry)
            members.sort(key=pids.__getitem__)
            rows: dict[int, _Last] = {}
            for entry in members:
                q = known[entry]
                q = known[entry] = _Last(q.name, q.user, cpu.take(), q.memory + memory.take(),
                                         q.status + status.take())  # fmt: skip
                rows[pids[entry]] = q
            yield _State(ms, total, rows)

    def snapshot(self, state: _State) -> Snapshot:
        rows = [self._row(pid, q, state.total) for pid, q in state.rows.items()]
        return Snapshot(state.ms / 1000, rows)

    def _row(self, pid: int, q: _Last, total_kib: int) -> dict[str, Any]:
        memory = None if q.memory == 0 else (q.memory - 1) * 1024
        share = None
        if memory is not None and total_kib > 0:
            share = round(100 * memory / (total_kib * 1024), 3)
        return {"pid": pid, "name": self.strings[q.name], "user": self.strings[q.user],
                "cpu": None if q.cpu == 0 else (q.cpu - 1) / 10, "memory": memory,
                "memory_percent": share, "status": self.strings[q.status]}  # fmt: skip


def _kib(memory: float) -> int:
    """Memory in KiB to the three significant digits the process table shows (199 MiB,
    20.3 MiB, 2.03 GiB): what a snapshot is read for, and it changes far less often than
    the exact count of pages."""
    kib, unit = memory / 1024, 1
    while kib >= 1024 * unit:
        unit *= 1024
    shown = kib / unit
    step = unit * (1 if shown >= 100 else 0.1 if shown >= 10 else 0.01)
    return max(0, round(round(kib / step) * step))


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


def _ints(data: bytes) -> list[int]:
    """Every zigzag varint of a stream, as the signed numbers written."""
    out = []
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            out.append(_unzigzag(value))
            value = shift = 0
        else:
            shift += 7
    if shift:
        raise ValueError("a stream ends inside a number")
    return out


def _unzigzag(value: int) -> int:
    return value // 2 if value % 2 == 0 else -(value + 1) // 2
