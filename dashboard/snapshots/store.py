"""Where snapshots are kept: table ``snapshot_blocks`` in the history file (``[history]
path``), or in memory when history is (``SideTables``).

Each write appends the new snapshots of a host as one small *segment* row; once its
10-minute block is over, ``seal`` re-encodes the block's segments as one row, which
compresses far better (consecutive scans are nearly the same table). Rows of one host never
overlap in time, so the nearest snapshot to any moment is in the row that starts at or
before it or the row after that.

Blocking: call it in native threads. A file that is corrupt, read-only or gone never stops
the dashboard: the problem is logged once, shown in ``status()``, and the store carries on
in memory (snapshots from then on are kept until a restart).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from collectors.processes import apply_filter
from dashboard.history.sidetables import SideTables
from dashboard.snapshots import codec
from dashboard.snapshots.codec import Snapshot

BLOCK = 600.0  # seconds of snapshots per sealed row
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot_blocks (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    block REAL NOT NULL,
    first REAL NOT NULL,
    last REAL NOT NULL,
    count INTEGER NOT NULL,
    sealed INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshot_blocks_host_first ON snapshot_blocks (host, first);
"""
_COLUMNS = "id, first, last, data"


@dataclass(frozen=True)
class Found:
    """The snapshot nearest a moment, and the times of its neighbours (None: no more)."""

    snapshot: Snapshot
    prev: float | None
    next: float | None

    def as_json(self, flt: Mapping[str, Any]) -> dict[str, Any]:
        """The protocol's ``snapshot``: its rows through the live table's filter (``flt``,
        normalized by ``parse_filter``), how many it holds, its neighbours."""
        rows = apply_filter(flt, self.snapshot.rows)
        return {"ts": self.snapshot.ts, "rows": rows, "total": len(self.snapshot.rows),
                "prev": self.prev, "next": self.next}  # fmt: skip


class SnapshotStore(SideTables):
    """The ``snapshot_blocks`` table; one connection used under one lock."""

    label, keeps = "snapshots", "process snapshots"
    effect = "snapshots are kept in memory until a restart"

    def open(self) -> None:
        with self._lock:
            try:
                self._db = self._open(self.path)
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)

    def setup(self, db: sqlite3.Connection) -> None:
        db.executescript(_SCHEMA)

    def append(self, host: str, snapshots: Sequence[Snapshot]) -> None:
        """One host's new snapshots (oldest first), a segment per block they fall in."""
        rows = [
            (host, block, group[0].ts, group[-1].ts, len(group), 0, codec.encode(group))
            for block, group in _by_block(snapshots)
        ]
        self._run(lambda db: db.executemany(
            "INSERT INTO snapshot_blocks (host, block, first, last, count, sealed, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", rows))  # fmt: skip

    def seal(self, before: float) -> None:
        """Re-encode every block that ended before ``before`` (and has segments) as one row."""

        def work(db: sqlite3.Connection) -> None:
            blocks = db.execute(
                "SELECT DISTINCT host, block FROM snapshot_blocks WHERE sealed=0 AND block+?<=?",
                (BLOCK, before),
            ).fetchall()
            for host, block in blocks:
                rows = db.execute(
                    "SELECT id, data FROM snapshot_blocks WHERE host=? AND block=?"
                    " ORDER BY first", (host, block)).fetchall()  # fmt: skip
                merged = [snap for _id, data in rows for snap in self._decode(data)]
                db.executemany("DELETE FROM snapshot_blocks WHERE id=?", [(r[0],) for r in rows])
                if not merged:
                    continue
                db.execute(
                    "INSERT INTO snapshot_blocks (host, block, first, last, count, sealed, data)"
                    " VALUES (?, ?, ?, ?, ?, 1, ?)",
                    (host, block, merged[0].ts, merged[-1].ts, len(merged), codec.encode(merged)),
                )

        self._run(work)

    def prune(self, before: float) -> None:
        """Forget rows whose newest snapshot is older than ``before`` (retention)."""
        self._run(lambda db: db.execute("DELETE FROM snapshot_blocks WHERE last<?", (before,)))

    def nearest(self, host: str, ts: float) -> Found | None:
        """The snapshot of ``host`` nearest ``ts`` (a tie goes to the earlier one) with its
        neighbours' times; None when nothing is stored for ``host``."""
        with self._lock:
            try:
                return self._nearest(host, ts)
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
                return None

    def stats(self) -> dict[str, int]:
        """Rows, snapshots and encoded bytes stored (for the benchmark and the tests)."""
        with self._lock:
            rows, count, size = self._conn.execute(
                "SELECT COUNT(*), SUM(count), SUM(LENGTH(data)) FROM snapshot_blocks"
            ).fetchone()
        return {"rows": rows, "snapshots": count or 0, "bytes": size or 0}

    # -- internals ---------------------------------------------------------------------------

    def _nearest(self, host: str, ts: float) -> Found | None:
        db = self._conn
        at_or_before = db.execute(
            f"SELECT {_COLUMNS} FROM snapshot_blocks WHERE host=? AND first<=?"
            " ORDER BY first DESC LIMIT 1", (host, ts)).fetchone()  # fmt: skip
        after = db.execute(
            f"SELECT {_COLUMNS} FROM snapshot_blocks WHERE host=? AND first>?"
            " ORDER BY first LIMIT 1", (host, ts)).fetchone()  # fmt: skip
        if at_or_before is None and after is None:
            return None
        # The row at or before may hold the nearest; the row after, only its first. Only
        # times are read to choose; then just the chosen snapshot's rows are rebuilt.
        rows = [row for row in (at_or_before, after) if row is not None]
        near = [(t, row[3], i) for row in rows for i, t in enumerate(self._times(row[3]))]
        if not near:
            return None
        index = _closest([t for t, _data, _i in near], ts)
        _t, data, within = near[index]
        snapshot = self._decode_one(data, within)
        if snapshot is None:
            return None
        prev = near[index - 1][0] if index > 0 else self._edge(host, snapshot.ts, "<")
        nxt = near[index + 1][0] if index + 1 < len(near) else self._edge(host, snapshot.ts, ">")
        return Found(snapshot, prev, nxt)

    def _edge(self, host: str, ts: float, side: str) -> float | None:
        """The time of the snapshot just before (``<``) or after (``>``) ``ts``, from the
        neighbouring row's bounds (no decoding)."""
        if side == "<":
            sql = "SELECT MAX(last) FROM snapshot_blocks WHERE host=? AND last<?"
        else:
            sql = "SELECT MIN(first) FROM snapshot_blocks WHERE host=? AND first>?"
        (found,) = self._conn.execute(sql, (host, ts)).fetchone()
        return None if found is None else float(found)

    def _decode(self, data: bytes) -> list[Snapshot]:
        """A row's snapshots; none if it is unreadable (noted once: the rest still serve)."""
        return self._readable(lambda: codec.decode(data)) or []

    def _times(self, data: bytes) -> list[float]:
        return self._readable(lambda: codec.times(data)) or []

    def _decode_one(self, data: bytes, index: int) -> Snapshot | None:
        return self._readable(lambda: codec.decode_one(data, index))

    def _readable(self, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except codec.SnapshotError as exc:
            self.problem = f"snapshots: a stored block is unreadable ({exc}); it is skipped"
            self._say(self.problem)
            return None


def _by_block(snapshots: Sequence[Snapshot]) -> list[tuple[float, list[Snapshot]]]:
    groups: dict[float, list[Snapshot]] = {}
    for snapshot in snapshots:
        groups.setdefault(math.floor(snapshot.ts / BLOCK) * BLOCK, []).append(snapshot)
    return sorted(groups.items())


def _closest(times: Sequence[float], ts: float) -> int:
    """The index of the time nearest ``ts`` in ascending ``times``; a tie goes to the earlier."""
    best = 0
    for index, candidate in enumerate(times):
        if abs(candidate - ts) < abs(times[best] - ts):
            best = index
    return best
