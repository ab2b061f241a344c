"""Where alerts are remembered: instances' state, transitions, silences. Tables prefixed
``alert_`` in the history file itself (``[history] path``) through a connection of their own
(WAL; the history's chunk store ignores other tables); an in-memory database when history
is kept in memory only.

Blocking: call it in native threads. A file that is corrupt, read-only or gone never stops
alerting: the problem is logged once, shown in ``status()``, and the store carries on in an
in-memory database (the engine keeps its state in memory anyway; only a restart forgets).
Transitions and the process's starts (the page marks restarts on its charts) are kept for
``retention`` seconds (the history's rollup retention), at most ``MAX_TRANSITIONS`` and
``MAX_STARTS`` rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.alerts.model import Key, Silence, State, Transition
from dashboard.alerts.state import InstanceState
from dashboard.history.sidetables import SideTables

SCHEMA_VERSION = "1"
MAX_TRANSITIONS = 10_000
RESTORED_TRANSITIONS = 1_000
MAX_STARTS = 1_000  # rows of alert_starts; the engine reads the newest RESTORED_STARTS
RESTORED_STARTS = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_instances (
    rule TEXT NOT NULL, host TEXT NOT NULL, series TEXT NOT NULL,
    state TEXT NOT NULL, since REAL NOT NULL, value REAL, threshold REAL,
    active_since REAL, crit_since REAL, clear_since REAL, fired_at REAL,
    notified_at REAL, notified_state TEXT, resolved_at REAL, acked INTEGER NOT NULL,
    PRIMARY KEY (rule, host, series)
);
CREATE TABLE IF NOT EXISTS alert_transitions (
    id INTEGER PRIMARY KEY, rule TEXT NOT NULL, host TEXT NOT NULL, series TEXT NOT NULL,
    previous TEXT NOT NULL, state TEXT NOT NULL, value REAL, threshold REAL, ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_transitions_ts ON alert_transitions (ts);
CREATE TABLE IF NOT EXISTS alert_silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, ends REAL NOT NULL, comment TEXT NOT NULL,
    created REAL NOT NULL, by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_starts (id INTEGER PRIMARY KEY, ts REAL NOT NULL);
"""
_PRUNED = (("alert_transitions", MAX_TRANSITIONS), ("alert_starts", MAX_STARTS))
_FIELDS = ("state", "since", "value", "threshold", "active_since", "crit_since", "clear_since",
           "fired_at", "notified_at", "notified_state", "resolved_at", "acked")  # fmt: skip


@dataclass
class Restored:
    """What a previous run left: instances not at rest, recent transitions, silences."""

    instances: dict[Key, InstanceState] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    silences: list[Silence] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)  # earlier runs' starts, oldest first


class AlertStore(SideTables):
    """The ``alert_`` tables; one connection used under one lock."""

    label, keeps = "alerts", "alert state"
    effect = ("alerting goes on, but a restart forgets firing alerts and silences until the "
              "file is fixed")  # fmt: skip

    def __init__(
        self,
        path: Path | None,
        retention: float = 30 * 86_400.0,
        connect: Callable[..., sqlite3.Connection] = sqlite3.connect,
    ) -> None:
        super().__init__(path, connect)
        self.retention = retention

    def open(self) -> Restored:
        """Open (creating the tables) and read what the last run left."""
        with self._lock:
            try:
                self._db = self._open(self.path)
                return self._restore()
            except (sqlite3.Error, OSError, ValueError) as exc:
                self._fail(exc)
                return Restored()

    def setup(self, db: sqlite3.Connection) -> None:
        db.executescript(_SCHEMA)
        db.execute("INSERT OR IGNORE INTO alert_meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        (version,) = db.execute("SELECT value FROM alert_meta WHERE key='schema'").fetchone()
        if version != SCHEMA_VERSION:
            raise ValueError(f"its alert tables have format {version}, this version reads "
                             f"{SCHEMA_VERSION}")  # fmt: skip

    def _restore(self) -> Restored:
        db = self._conn
        restored = Restored()
        for row in db.execute(
            f"SELECT rule, host, series, {', '.join(_FIELDS)} FROM alert_instances"
        ):
            restored.instances[Key(*row[:3])] = _state(row[3:])
        rows = db.execute(
            "SELECT rule, host, series, previous, state, value, threshold, ts FROM"
            " alert_transitions ORDER BY id DESC LIMIT ?",
            (RESTORED_TRANSITIONS,),
        ).fetchall()
        restored.transitions = [_transition(row) for row in reversed(rows)]
        for sid, matchers, ends, comment, created, by in db.execute(
            "SELECT id, matchers, ends, comment, created, by FROM alert_silences"
        ):
            restored.silences.append(Silence(sid, json.loads(matchers), ends, comment, created, by))
        starts = db.execute("SELECT ts FROM alert_starts ORDER BY id DESC LIMIT ?",
                            (RESTORED_STARTS,)).fetchall()  # fmt: skip
        restored.starts = [ts for (ts,) in reversed(starts)]
        return restored

    def write(
        self, transitions: Iterable[Transition], instances: Mapping[Key, InstanceState | None]
    ) -> None:
        """Append transitions and save instances (None: at rest again, forget the row)."""
        rows = [(*t.key.as_dict().values(), t.previous.value, t.state.value, t.value,
                 t.threshold, t.ts) for t in transitions]  # fmt: skip
        if not rows and not instances:
            return

        def work(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO alert_transitions (rule, host, series, previous, state, value,"
                " threshold, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            for key, st in instances.items():
                if st is None:
                    db.execute("DELETE FROM alert_instances WHERE rule=? AND host=? AND series=?",
                               (key.rule, key.host, key.series))  # fmt: skip
                else:
                    db.execute(
                        f"INSERT OR REPLACE INTO alert_instances VALUES ({', '.join('?' * 15)})",
                        (key.rule, key.host, key.series, *_row(st)),
                    )

        self._run(work)

    def put_silence(self, silence: Silence) -> None:
        row = (silence.id, json.dumps(dict(silence.matchers)), silence.ends, silence.comment,
               silence.created, silence.by)  # fmt: skip
        self._run(lambda db: db.execute("INSERT OR REPLACE INTO alert_silences VALUES"
                                        " (?, ?, ?, ?, ?, ?)", row))  # fmt: skip

    def put_start(self, ts: float) -> None:
        """Remember that the process started at ``ts`` (the page marks restarts)."""
        self._run(lambda db: db.execute("INSERT INTO alert_starts (ts) VALUES (?)", (ts,)))

    def delete_silences(self, ids: Iterable[str]) -> None:
        rows = [(i,) for i in ids]
        self._run(lambda db: db.executemany("DELETE FROM alert_silences WHERE id=?", rows))

    def prune(self, now: float) -> None:
        """Drop transitions and starts past retention, and the oldest beyond
        ``MAX_TRANSITIONS`` and ``MAX_STARTS``."""

        def work(db: sqlite3.Connection) -> None:
            for table, most in _PRUNED:
                db.execute(f"DELETE FROM {table} WHERE ts<?", (now - self.retention,))
                db.execute(
                    f"DELETE FROM {table} WHERE id <= (SELECT id FROM {table}"
                    " ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (most,),
                )

        self._run(work)


def _row(st: InstanceState) -> tuple[Any, ...]:
    return (st.state.value, st.since, st.value, st.threshold, st.active_since, st.crit_since,
            st.clear_since, st.fired_at, st.notified_at,
            None if st.notified_state is None else st.notified_state.value, st.resolved_at,
            int(st.acked))  # fmt: skip


def _state(row: tuple[Any, ...]) -> InstanceState:
    values = dict(zip(_FIELDS, row, strict=True))
    values["state"] = State(values["state"])
    told = values["notified_state"]
    values["notified_state"] = None if told is None else State(told)
    values["acked"] = bool(values["acked"])
    return InstanceState(**values)


def _transition(row: tuple[Any, ...]) -> Transition:
    rule, host, series, previous, state, value, threshold, ts = row
    return Transition(Key(rule, host, series), State(previous), State(state), value, threshold, ts)
