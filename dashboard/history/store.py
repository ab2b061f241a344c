"""The SQLite file behind history: compressed chunks per collector, tier and block of time.

Each flush appends the new rows as small *segments* (append-only: a flush writes a page or
two, it never rewrites the 10-minute block it belongs to); once a block is over, ``seal``
encodes it as one chunk and deletes its segments. Reads see both.

Synchronous on purpose: every call here blocks on disk, so callers run it in a native
thread (``dashboard.history.tiers`` does) and never on the event loop. One connection, used under
the caller's lock. SQLite's own errors are turned into ``StoreError`` messages that say what
is wrong with the file and how to fix it.
"""

from __future__ import annotations

import bisect
import contextlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dashboard.history import codec
from dashboard.history.columns import Columns

RAW, ROLLUP = 0, 1
BLOCK = {RAW: 600.0, ROLLUP: 21_600.0}  # seconds of data per chunk, per tier
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    collector TEXT NOT NULL,
    tier INTEGER NOT NULL,
    start REAL NOT NULL,
    first REAL NOT NULL,
    last REAL NOT NULL,
    count INTEGER NOT NULL,
    rolled INTEGER NOT NULL DEFAULT 0,
    data BLOB NOT NULL,
    PRIMARY KEY (collector, tier, start)
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY,
    collector TEXT NOT NULL,
    block REAL NOT NULL,
    first REAL NOT NULL,
    last REAL NOT NULL,
    count INTEGER NOT NULL,
    data BLOB NOT NULL
);
"""


_UPSERT = (
    "INSERT OR REPLACE INTO chunks (collector, tier, start, first, last, count, rolled, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _row(block: Block, rolled: bool) -> tuple[str, int, float, float, float, int, int, bytes]:
    data = codec.encode(block.ts, block.columns)
    return (block.collector, block.tier, block.start, block.ts[0], block.ts[-1], len(block.ts),
            int(rolled), data)  # fmt: skip


class StoreError(Exception):
    """The history file cannot be used as it is; ``str()`` says what to do about it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # corrupt | read-only | full | unavailable | locked


class Block(Columns[list[float]]):
    """One chunk's worth of samples, decoded: aligned ``ts`` and value columns."""

    def __init__(self, collector: str, tier: int, start: float) -> None:
        super().__init__(list)
        self.collector, self.tier, self.start = collector, tier, start

    def replace(
        self,
        lo: float,
        hi: float,
        ts: Sequence[float],
        columns: Mapping[str, Sequence[float]],
    ) -> None:
        """Swap the rows with ``lo <= ts < hi`` for the given ones (a re-computed rollup)."""
        if not self.ts or (self.ts[-1] < lo and (not ts or ts[0] >= lo)):
            self.extend(ts, columns)  # the usual case: the next block's buckets go at the end
            return
        keep = [i for i, t in enumerate(self.ts) if not lo <= t < hi]
        rows = [(self.ts[i], {n: c[i] for n, c in self.columns.items()}) for i in keep]
        rows += [(t, {n: c[j] for n, c in columns.items()}) for j, t in enumerate(ts)]
        rows.sort(key=lambda row: row[0])
        self.clear()
        for t, values in rows:
            self.add(t, values)


class ChunkStore:
    """Chunks in one SQLite file (WAL mode)."""

    def __init__(self, path: Path, connect: Callable[..., sqlite3.Connection] = sqlite3.connect):
        self.path, self._connect = path, connect
        self._db: sqlite3.Connection | None = None
        self.writable = False

    def open(self) -> StoreError | None:
        """Open (creating if needed) and check the file.

        Raise ``StoreError`` if it cannot be read; return one if it can be read but not
        written (read-only), so that its history is still served.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                "unavailable",
                f"history folder {self.path.parent} cannot be created ({exc.strerror}): "
                "create it with write access for the dashboard's user, or set [history] path",
            ) from None
        with self._errors():
            self._db = self._connect(
                str(self.path), timeout=5.0, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA quick_check(1)").fetchone()
            self._check_version()
        try:
            with self._errors():
                self._db.execute("PRAGMA page_size=1024")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
        except StoreError as exc:
            if exc.kind == "read-only" and self._has_schema():
                return exc
            raise
        self.writable = True
        return None

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):  # the WAL is replayed on the next open
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            self._db = None

    def get(self, collector: str, tier: int, start: float) -> Block | None:
        with self._errors():
            row = self._conn.execute(
                "SELECT data FROM chunks WHERE collector=? AND tier=? AND start=?",
                (collector, tier, start),
            ).fetchone()
        if row is None:
            return None
        block = Block(collector, tier, start)
        block.ts, block.columns = self._decode(row[0], collector, start)
        return block

    def append(self, segments: Sequence[Block]) -> None:
        """Append new rows (one segment per collector and block) in one transaction."""
        rows = [
            (b.collector, b.start, b.ts[0], b.ts[-1], len(b.ts), codec.encode(b.ts, b.columns))
            for b in segments
            if b.ts
        ]
        with self._errors(), self._transaction() as db:
            db.executemany(
                "INSERT INTO segments (collector, block, first, last, count, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def seal(self, before: float) -> int:
        """Encode every block that ended before ``before`` as one chunk; drop its segments."""
        with self._errors():
            blocks = self._conn.execute(
                "SELECT DISTINCT collector, block FROM segments WHERE block+?<=?",
                (BLOCK[RAW], before),
            ).fetchall()
        for collector, start in blocks:
            block = self.get(collector, RAW, start) or Block(collector, RAW, start)
            with self._errors():
                rows = self._conn.execute(
                    "SELECT id, data FROM segments WHERE collector=? AND block=? ORDER BY first",
                    (collector, start),
                ).fetchall()
            for _id, data in rows:
                block.extend(*self._decode(data, collector, start))
            with self._errors(), self._transaction() as db:
                if block.ts:
                    db.execute(_UPSERT, _row(block, rolled=False))
                db.executemany("DELETE FROM segments WHERE id=?", [(r[0],) for r in rows])
        return len(blocks)

    def read(
        self, collector: str, tier: int, lo: float, hi: float
    ) -> tuple[list[float], dict[str, list[float]]]:
        """Rows with ``lo < ts <= hi`` across chunks (and raw segments), in time order."""
        with self._errors():
            rows = self._conn.execute(
                "SELECT first, start, data FROM chunks WHERE collector=? AND tier=?"
                " AND last>? AND first<=?",
                (collector, tier, lo, hi),
            ).fetchall()
            if tier == RAW:
                rows += self._conn.execute(
                    "SELECT first, block, data FROM segments WHERE collector=?"
                    " AND last>? AND first<=?",
                    (collector, lo, hi),
                ).fetchall()
        rows.sort(key=lambda row: row[0])
        merged = Block(collector, tier, lo)
        for _first, start, data in rows:
            ts, columns = self._decode(data, collector, start)
            a, b = bisect.bisect_right(ts, lo), bisect.bisect_right(ts, hi)
            merged.extend(ts[a:b], {n: c[a:b] for n, c in columns.items()})
        return merged.ts, merged.columns

    def unrolled(self, before: float) -> list[tuple[str, float]]:
        """Raw chunks whose block ended before ``before`` and has no rollup yet."""
        with self._errors():
            return self._conn.execute(
                "SELECT collector, start FROM chunks WHERE tier=? AND rolled=0 AND start+?<=?"
                " ORDER BY start",
                (RAW, BLOCK[RAW], before),
            ).fetchall()

    def mark_rolled(self, collector: str, start: float, block: Block) -> None:
        """Write the updated rollup ``block`` and flag the raw chunk as rolled up."""
        with self._errors(), self._transaction() as db:
            if block.ts:
                db.execute(_UPSERT, _row(block, rolled=True))
            db.execute(
                "UPDATE chunks SET rolled=1 WHERE collector=? AND tier=? AND start=?",
                (collector, RAW, start),
            )

    def prune(self, tier: int, before: float) -> int:
        """Delete chunks (and raw segments) of ``tier`` whose newest row is before ``before``."""
        with self._errors(), self._transaction() as db:
            if tier == RAW:
                db.execute("DELETE FROM segments WHERE last<?", (before,))
            return db.execute("DELETE FROM chunks WHERE tier=? AND last<?", (tier, before)).rowcount

    def stats(self) -> dict[str, dict[str, int]]:
        """Rows and samples stored, per tier (for the benchmark and ``/healthz``)."""
        with self._errors():
            rows = self._conn.execute(
                "SELECT tier, COUNT(*), SUM(count), SUM(LENGTH(data)) FROM chunks GROUP BY tier"
            ).fetchall()
            rows += self._conn.execute(
                "SELECT 'segments', COUNT(*), SUM(count), SUM(LENGTH(data)) FROM segments"
            ).fetchall()
        return {
            f"tier{tier}" if tier != "segments" else tier: {
                "chunks": n,
                "rows": rows_ or 0,
                "bytes": size or 0,
            }
            for tier, n, rows_, size in rows
        }

    def put_meta(self, key: str, value: str) -> None:
        """Remember a small value beside the chunks (what a collector's series were)."""
        with self._errors(), self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, prefix: str) -> dict[str, str]:
        """Every remembered value whose key starts with ``prefix``."""
        with self._errors():
            rows = self._conn.execute(
                "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
            ).fetchall()
        return dict(rows)

    def span(self) -> tuple[float | None, float | None]:
        """The first and last timestamp stored, over every collector and tier."""
        with self._errors():
            first, last = self._conn.execute(
                "SELECT MIN(first), MAX(last) FROM (SELECT first, last FROM chunks"
                " UNION ALL SELECT first, last FROM segments)"
            ).fetchone()
        return first, last

    def oldest(self, collector: str) -> float | None:
        with self._errors():
            row = self._conn.execute(
                "SELECT MIN(first) FROM (SELECT first FROM chunks WHERE collector=?"
                " UNION ALL SELECT first FROM segments WHERE collector=?)",
                (collector, collector),
            ).fetchone()
        first: float | None = row[0]
        return first

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("unavailable", f"history file {self.path} is not open")
        return self._db

    def _decode(
        self, data: bytes, collector: str, start: float
    ) -> tuple[list[float], dict[str, list[float]]]:
        try:
            return codec.decode(data)
        except codec.ChunkError as exc:
            raise StoreError(
                "corrupt",
                f"history file {self.path}: chunk {collector}@{start:.0f} is unreadable ({exc}); "
                f"move the file aside (mv {self.path} {self.path}.bad) and restart",
            ) from None

    def _check_version(self) -> None:
        if not self._has_schema():
            return
        row = self._conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is not None and row[0] != str(SCHEMA_VERSION):
            raise StoreError(
                "unavailable",
                f"history file {self.path} has format {row[0]}; this version reads "
                f"{SCHEMA_VERSION}: use a new [history] path or the dashboard that wrote it",
            )

    def _has_schema(self) -> bool:
        try:
            (tables,) = self._conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('meta', 'chunks')"
            ).fetchone()
        except sqlite3.Error:
            return False
        return bool(tables == 2)

    def _transaction(self) -> Transaction:
        return Transaction(self._conn)

    def _errors(self) -> _Translate:
        return _Translate(self.path)


class Transaction:
    """``with Transaction(db) as db:`` one immediate transaction, rolled back on any error
    (the chunk store's, and the alert tables' in the same file)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: type | None, *_rest: object) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:
            self.db.execute("ROLLBACK")


class _Translate:
    """Turns ``sqlite3`` errors into ``StoreError`` with the fix in the message."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, _tb: object) -> None:
        if exc is None or not isinstance(exc, sqlite3.Error):
            return
        raise translate(exc, self.path) from exc


def open_read_only(path: Path) -> ChunkStore:
    """The file opened for reading only (``check``, ``backtest``): never created, never
    written. Raises ``StoreError`` when it cannot be read."""

    def connect(name: str, **options: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(
            f"file:{name}?mode=ro", uri=True, **options
        )
        return connection

    store = ChunkStore(path, connect)
    try:
        store.open()
    except StoreError as exc:
        if exc.kind != "read-only":  # read-only is what was asked for
            raise
    return store


def translate(exc: sqlite3.Error, path: Path) -> StoreError:
    text = str(exc)
    low = text.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return StoreError(
            "corrupt",
            f"history file {path} is corrupt ({text}): move it aside "
            f"(mv {path} {path}.bad) and restart; the live charts run from memory meanwhile",
        )
    if "readonly" in low or "read-only" in low:
        return StoreError(
            "read-only",
            f"history file {path} is read-only ({text}): give the dashboard's user write "
            "access to the file and its folder (SQLite writes a -wal file beside it), "
            "or set [history] path",
        )
    if "full" in low:
        return StoreError(
            "full",
            f"no space left for history file {path} ({text}): free space on its filesystem "
            "or lower [history] retention; samples wait in memory and are written when it can",
        )
    if "locked" in low or "busy" in low:
        return StoreError(
            "locked",
            f"history file {path} is locked by another process ({text}): "
            "give each dashboard its own [history] path",
        )
    return StoreError(
        "unavailable",
        f"history file {path} cannot be used ({text}): check the path and its permissions",
    )
