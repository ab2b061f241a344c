"""Tables of another part (alerts, process snapshots) kept in the history file through a
connection of their own (WAL; the chunk store ignores other tables), or in an in-memory
database when history is kept in memory only.

Blocking: call it in native threads. A file that is corrupt, read-only or gone never stops
the part: the problem is logged once, shown in ``status()``, and the tables carry on in an
in-memory database (only a restart forgets).
"""

from __future__ import annotations

import abc
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboard.history.store import Transaction, translate
from dashboard.workers import native_lock

log = logging.getLogger(__name__)


class SideTables(abc.ABC):
    """One connection used under one lock; subclasses name themselves and make their tables."""

    label = ""  # what the log and /healthz call the part: "alerts"
    keeps = ""  # what it keeps: "alert state"
    effect = ""  # what a failure means for the user

    def __init__(
        self, path: Path | None, connect: Callable[..., sqlite3.Connection] = sqlite3.connect
    ) -> None:
        self.path, self._connect = path, connect
        self.problem: str | None = None
        self._said: str | None = None  # the last problem logged (each one once)
        self._db: sqlite3.Connection | None = None
        self._lock = native_lock()

    @abc.abstractmethod
    def setup(self, db: sqlite3.Connection) -> None:
        """Create the tables (and check their format: raise ``ValueError`` if it is not
        this version's)."""

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def status(self) -> dict[str, Any]:
        state = "memory" if self.path is None else "ok"
        return {
            "state": "degraded" if self.problem else state,
            "path": None if self.path is None else str(self.path),
            "error": self.problem,
        }

    def _open(self, path: Path | None) -> sqlite3.Connection:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        connect = sqlite3.connect if path is None else self._connect  # memory is always ours
        name = ":memory:" if path is None else str(path)
        db = connect(name, timeout=5.0, check_same_thread=False, isolation_level=None)
        try:
            if path is not None:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            self.setup(db)
        except BaseException:
            db.close()
            raise
        return db

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.OperationalError(f"the {self.label} tables are not open")
        return self._db

    def _run(self, work: Callable[[sqlite3.Connection], object]) -> None:
        """``work`` in one transaction. On a failure the problem is noted once and ``work``
        runs again in the in-memory database the tables go on with."""
        with self._lock:
            try:
                self._transaction(work)
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
                self._transaction(work)

    def _transaction(self, work: Callable[[sqlite3.Connection], object]) -> None:
        with Transaction(self._conn) as db:
            work(db)

    def _fail(self, exc: BaseException) -> None:
        where = "memory" if self.path is None else f"the history file {self.path}"
        if self.path is not None and isinstance(exc, sqlite3.Error):
            # The history's own wording of a file problem, which says how to fix it, in
            # /healthz; the log names the kind only (history logs the fix once already).
            found = translate(exc, self.path)
            self.problem = f"{self.label}: {found}; {self.effect}"
            said = (
                f"{self.label}: cannot keep {self.keeps} in {where} ({found.kind}); {self.effect}"
            )
        else:
            said = f"{self.label}: {where} cannot keep {self.keeps} ({exc}); {self.effect}"
            self.problem = said
        self._say(said)
        if self._db is not None:
            self._db.close()
        self._db = self._open(None)  # carry on in memory

    def _say(self, said: str) -> None:
        """Log ``said`` unless it is what was logged last."""
        if said != self._said:
            log.error("%s", said)
        self._said = said
