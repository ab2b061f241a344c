"""``dashboard alerts backtest``: stored history replayed through the same engine and state
machine that run live, on a clock that follows the data, to see when a rule would have
fired and resolved and how many notices it would have sent (repeats, flap damping and the
resolve's wait applied as live; the notifier's grouping by ``group_wait`` may merge some of
those notices into fewer messages).

Full resolution inside ``[history] retention``; before that only the rollup tier's
per-bucket averages exist, and they are replayed as samples (the output says where).
Failing rules are skipped: the file keeps samples, not the collectors' failures.
"""

from __future__ import annotations

import heapq
import math
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dashboard.alerts.engine import CORE_RE, Engine, Seen, Sources
from dashboard.alerts.model import Notice, Transition
from dashboard.alerts.rules import Rule
from dashboard.alerts.store import AlertStore
from dashboard.history.store import RAW, ROLLUP, ChunkStore, StoreError, open_read_only
from dashboard.settings import Settings

EVALUATE_EVERY = 1.0


class BacktestError(Exception):
    """The history cannot be replayed; the message says why."""


@dataclass(frozen=True)
class Topic:
    """A stored collector, as the engine's ``observe`` sees a hub topic."""

    host: str
    key: str
    collector: Any
    series: Sequence[Any] = ()


@dataclass(frozen=True)
class Span:
    tier: str  # "raw" or "rollup"
    start: float
    end: float


@dataclass
class Outcome:
    """One rule's replay: its transitions and the notices it would have sent."""

    rule: Rule
    transitions: list[Transition] = field(default_factory=list)
    notices: dict[str, int] = field(default_factory=lambda: {"firing": 0, "repeat": 0,
                                                              "resolved": 0})  # fmt: skip

    @property
    def fired(self) -> int:
        return sum(t.state.firing and not t.previous.firing for t in self.transitions)

    @property
    def resolved(self) -> int:
        return sum(t.previous.firing and not t.state.firing for t in self.transitions)


@dataclass
class Report:
    since: float
    until: float
    spans: list[Span]
    outcomes: list[Outcome]
    skipped: list[tuple[str, str]]
    readings: int


class _Counter:
    """An outbox that takes every notice and counts it per rule."""

    def __init__(self, outcomes: dict[str, Outcome]) -> None:
        self.outcomes = outcomes

    def offer(self, notice: Notice, now: float) -> bool:
        self.outcomes[notice.alert.key.rule].notices[notice.kind] += 1
        return True

    def tick(self, now: float) -> None:
        pass


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def backtest(
    settings: Settings, rules: Sequence[Rule], since: float, until: float, host: str
) -> Report:
    """Replay ``[since, until]`` of the history file through ``rules``; ``host`` is the
    name of this machine's own (plain-named) collectors."""
    path = settings.history.path
    if path is None or not path.is_file():
        raise BacktestError(f"no history file to replay ({path or '[history] path is empty'})")
    raw_start = max(since, until - settings.history.retention)
    spans = ([Span("rollup", since, raw_start)] if since < raw_start else []) + [
        Span("raw", raw_start, until)
    ]
    skipped = [(r.name, "failing rules need the collectors' failures, which history does not keep")
               for r in rules if r.kind == "failing"]  # fmt: skip
    replayed = [r for r in rules if r.kind != "failing"]
    outcomes = {r.name: Outcome(r) for r in replayed}
    store = _open(path)
    try:
        streams = [_stream(store, key, spans, replayed, host) for key in _collectors(path)]
        count = _replay(settings, replayed, outcomes, heapq.merge(*streams, key=lambda r: r[0]))
    except StoreError as exc:
        raise BacktestError(str(exc)) from None
    finally:
        store.close()
    return Report(since, until, spans, list(outcomes.values()), skipped, count)


def _open(path: Path) -> ChunkStore:
    try:
        return open_read_only(path)
    except StoreError as exc:
        raise BacktestError(str(exc)) from None


def _collectors(path: Path) -> list[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT collector FROM chunks UNION SELECT collector FROM segments")
        return sorted(row[0] for row in rows)


_Row = tuple[float, Topic, dict[str, float | None]]


def _stream(
    store: ChunkStore, key: str, spans: list[Span], rules: Sequence[Rule], host: str
) -> Iterator[_Row]:
    """One stored collector's rows over every span, only the series some rule wants."""
    owner, _, name = key.rpartition("/")
    topic = Topic(owner or host, key, SimpleNamespace(name=name))
    per_core = any(r.per_core for r in rules)
    stale = any(r.kind == "stale" and r.matches(topic.host, name) for r in rules)
    for span in spans:
        tier = RAW if span.tier == "raw" else ROLLUP
        ts, columns = store.read(key, tier, span.start, span.end)
        if tier == ROLLUP:
            columns = {n[:-4]: c for n, c in columns.items() if n.endswith("|avg")}
        wanted = {
            n: c
            for n, c in columns.items()
            if any(r.kind == "threshold" and r.matches(topic.host, n) for r in rules)
            or (per_core and CORE_RE.match(n))
        }
        if not wanted and not stale:
            continue
        for i, t in enumerate(ts):
            yield t, topic, {n: None if math.isnan(c[i]) else c[i] for n, c in wanted.items()}


def _replay(
    settings: Settings, rules: Sequence[Rule], outcomes: dict[str, Outcome], rows: Iterator[_Row]
) -> int:
    """Feed the rows to a fresh engine (in memory), evaluating on the data's clock."""
    from dashboard.pipeline.validate import Reading

    seen: dict[tuple[str, str], float] = {}
    clock = _Clock(0.0)
    engine = Engine(
        rules,
        AlertStore(None),
        clock,
        lambda: Sources([Seen(h, c, t) for (h, c), t in seen.items()]),
        repeat=settings.alerts.repeat,
        settle=settings.alerts.group_wait,
    )
    engine.open()
    outbox = _Counter(outcomes)
    stale = sorted({r.warn or r.crit or 0.0 for r in rules if r.kind == "stale"})
    last_eval: float | None = None
    count = 0

    def evaluate(now: float) -> None:
        clock.now = now
        transitions, notices = engine.evaluate(now)
        for t in transitions:
            outcomes[t.key.rule].transitions.append(t)
        engine.deliver(transitions, notices, outbox, now)

    for ts, topic, values in rows:
        if last_eval is None:
            engine.started = clock.now = last_eval = ts
        if ts - last_eval >= EVALUATE_EVERY:
            # In a gap, also evaluate where a stale rule would have fired.
            for silent in stale:
                if last_eval + silent + EVALUATE_EVERY < ts:
                    evaluate(last_eval + silent + EVALUATE_EVERY)
            evaluate(ts)
            last_eval = ts
        clock.now = ts
        engine.observe(topic, Reading(ts, values, None))
        seen[(topic.host, topic.collector.name)] = ts
        count += 1
    if last_eval is not None:
        evaluate(clock.now + EVALUATE_EVERY)
    return count
