"""The alert engine: readings in (``observe``, on the event loop), transitions and notices
out (``evaluate``, in a native worker), and what the web reads and changes (``AlertsView``).

``observe`` only appends to a bounded queue. ``evaluate`` drains it: each sample goes to the
instances of the rules that match its host and series (a cache per topic and series), into
their windows and state machines (``state``), at the sample's own time. Stale and failing
rules are evaluated from ``sources()`` (the hub's topics, the runners' health) at ``now``.
State shared by the loop, the worker and the web's calls is guarded by one native lock,
never held across SQLite I/O: the store is written after the lock is released.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dashboard.alerts.model import (
    MATCHER_KEYS,
    MAX_SILENCE,
    MAX_SILENCES,
    Alert,
    Key,
    Notice,
    NoticeKind,
    Outbox,
    Silence,
    State,
    Transition,
)
from dashboard.alerts.rules import Rule
from dashboard.alerts.state import InstanceState, drop_resolve, due, step, taken
from dashboard.alerts.store import RESTORED_STARTS, AlertStore
from dashboard.alerts.window import Window
from dashboard.pipeline.validate import Reading
from dashboard.workers import native, native_lock

log = logging.getLogger(__name__)
MAX_INBOX = 100_000  # readings waiting for an evaluation; beyond that the oldest go
MAX_RECENT = 1_000  # transitions kept in memory for the page and the API
TOP_PROCESSES = 5
PRUNE_EVERY = 600.0
CORE_RE = re.compile(r"^cpu\.core\d+$")
BREATHE_EVERY = 256  # instance steps between the pauses ``breathe`` asks for


class Source(Protocol):
    """What ``observe`` needs of a hub ``Topic`` (the backtest passes its own)."""

    @property
    def host(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def collector(self) -> Any: ...  # has ``name``
    @property
    def series(self) -> Sequence[Any]: ...  # each has ``name`` and ``unit``


@dataclass(frozen=True)
class Seen:
    """One host's collector and the data time of its newest sample (None: none yet)."""

    host: str
    collector: str
    last_seen: float | None


@dataclass(frozen=True)
class Failures:
    """One collector's error boundary: failures in a row."""

    host: str
    collector: str
    consecutive: int


@dataclass
class Sources:
    seen: list[Seen] = field(default_factory=list)
    failures: list[Failures] = field(default_factory=list)


def no_sources() -> Sources:
    return Sources()


@dataclass
class Instance:
    """One rule on one host's series (or collector)."""

    key: Key
    rule: Rule
    st: InstanceState
    unit: str = ""
    window: Window | None = None
    silenced: str | None = None
    processes: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    def alert(self) -> Alert:
        st = self.st
        summary = self.rule.fill(self.key.host, self.key.series, st.value, self.unit, st.threshold)
        return Alert(self.key, st.state, st.value, st.threshold, st.since, summary, self.unit,
                     self.silenced, st.acked)  # fmt: skip


class Engine:
    """Implements ``model.AlertsView``; ``evaluate`` is the native worker's job."""

    def __init__(
        self,
        rules: Sequence[Rule],
        store: AlertStore,
        clock: Callable[[], float] = time.time,
        sources: Callable[[], Sources] = no_sources,
        *,
        repeat: float = 4 * 3600.0,
        settle: float = 30.0,
        breathe: float = 0.0,
    ) -> None:
        """``repeat``: ``[alerts] repeat``; ``settle``: how long a resolve waits for the
        alert not to come back before it is told (``[alerts] group_wait``); ``breathe``:
        seconds to pause every ``BREATHE_EVERY`` steps (the live engine; a backtest none)."""
        self.store, self.clock, self.sources = store, clock, sources
        self.repeat, self.settle, self.breathe = repeat, settle, breathe
        self._steps = 0
        self.rules: dict[str, Rule] = {r.name: r for r in rules}
        self._lock = native_lock()
        self._inbox: deque[tuple[Source, Reading]] = deque()
        self._instances: dict[Key, Instance] = {}
        self._matches: dict[tuple[str, str], list[tuple[Rule, str]]] = {}
        self._cores: dict[str, int] = {}
        self._rows: dict[str, list[dict[str, Any]]] = {}  # host -> its newest process rows
        self._recent: deque[Transition] = deque(maxlen=MAX_RECENT)
        self._silences: dict[str, Silence] = {}
        self._dirty: set[Key] = set()
        self._callbacks: list[Callable[[Transition, Alert], None]] = []
        self._silence_callbacks: list[Callable[[list[Silence]], None]] = []
        self._ack_callbacks: list[Callable[[Key, str], None]] = []
        self._rule_callbacks: list[Callable[[list[dict[str, Any]]], None]] = []
        self._rules_changed = False  # by a reload: told at the next ``deliver``
        # Told at the next ``deliver`` (the web tells its own changes at once): silences that
        # expired, were ended, or came from another web process; acks from another one.
        self._silences_changed = False
        self._acked_elsewhere: list[tuple[Key, str]] = []
        self.started = clock()
        self._starts: list[float] = []  # this process's start and earlier ones, oldest first
        self.dropped = 0
        self.last_evaluation: float | None = None
        self.last_duration: float | None = None
        self.last_error: str | None = None
        self._pruned = 0.0
        self._closed = False

    # -- start and stop (native thread) ------------------------------------------------------

    def open(self) -> None:
        """Read what the last run left: firing alerts stay firing and are not told again.
        This start is remembered beside the earlier ones (``restarts``)."""
        restored = self.store.open()
        with self._lock:
            self.started = self.clock()
            self._starts = [*restored.starts, self.started][-RESTORED_STARTS:]
            for key, st in restored.instances.items():
                rule = self.rules.get(key.rule)
                if rule is None:
                    self._dirty.add(key)  # its rule is gone: forget it
                    continue
                self._instances[key] = self._instance(key, rule, st)
            self._recent.extend(restored.transitions)
            self._silences = {s.id: s for s in restored.silences}
        self.store.put_start(self.started)

    def close(self) -> None:
        """Save what changed since the last evaluation and close the store (once)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            pending = self._pending_rows(self.clock())
        self.store.write([], pending)
        self.store.close()

    # -- the hub's watcher (event loop) ------------------------------------------------------

    def observe(self, topic: Source, reading: Reading) -> None:
        """Queue a published reading for the next evaluation; O(1), no lock."""
        if len(self._inbox) >= MAX_INBOX:
            self._inbox.popleft()
            self.dropped += 1
        self._inbox.append((topic, reading))

    # -- evaluation (native worker) ------------------------------------------------------------

    def evaluate(self, now: float | None = None) -> tuple[list[Transition], list[Notice]]:
        """Everything observed since the last call, then stale and failing rules, silences
        and the notices due; the store is written after the lock is released."""
        now = self.clock() if now is None else now
        began = time.perf_counter()
        sources = self.sources()
        with self._lock:
            changes: list[Transition] = []
            while self._inbox:
                topic, reading = self._inbox.popleft()
                self._ingest(topic, reading, changes)
            self._stale(sources.seen, now, changes)
            self._failing(sources.failures, now, changes)
            expired = self._expire(now)
            self._silences_changed = self._silences_changed or bool(expired)
            notices = self._notices(now)
            self._recent.extend(changes)
            self._dirty.update(t.key for t in changes)
            rows = self._pending_rows(now)
        self.store.write(changes, rows)
        if expired:
            self.store.delete_silences(expired)
        if now - self._pruned >= PRUNE_EVERY:
            self._pruned = now
            self.store.prune(now)
        self.last_evaluation, self.last_duration = now, time.perf_counter() - began
        return changes, notices

    def _ingest(self, topic: Source, reading: Reading, changes: list[Transition]) -> None:
        host, name = topic.host, topic.collector.name
        if name == "cpu":
            cores = sum(1 for series in reading.values if CORE_RE.match(series))
            if cores:
                self._cores[host] = cores
        elif name == "processes" and reading.rows is not None:
            self._rows[host] = reading.rows
        for series, value in reading.values.items():
            for rule, unit in self._rules_for(topic, series):
                key = Key(rule.name, host, series)
                inst = self._instances.get(key)
                if inst is None:
                    inst = self._instances[key] = self._instance(
                        key, rule, InstanceState(since=reading.ts)
                    )
                inst.unit = unit
                if value is not None and rule.per_core:
                    value = value / self._cores[host] if host in self._cores else None
                assert inst.window is not None
                inst.window.add(reading.ts, value)
                self._step(inst, inst.window.value(), reading.ts, changes)
                self._steps += 1
                if self.breathe and self._steps % BREATHE_EVERY == 0:
                    self._pause()

    def _pause(self) -> None:
        """Let the event loop's thread have the GIL, and this lock, for a moment: a reading
        of a thousand series evaluated in one go held the loop about 5 ms more. Only
        between instances: each stays consistent, and no shared dict is being iterated."""
        self._lock.release()
        try:
            native("time", "sleep")(self.breathe)
        finally:
            self._lock.acquire()

    def _rules_for(self, topic: Source, series: str) -> list[tuple[Rule, str]]:
        cache = (topic.key, series)
        found = self._matches.get(cache)
        if found is None:
            unit = next((s.unit for s in topic.series if s.name == series), "")
            found = [(rule, unit) for rule in self.rules.values()
                     if rule.kind == "threshold" and rule.matches(topic.host, series)]  # fmt: skip
            self._matches[cache] = found
        return found

    def _stale(self, seen: Iterable[Seen], now: float, changes: list[Transition]) -> None:
        """Per host: the newest sample of the collectors matching the rule's glob."""
        for rule in self.rules.values():
            if rule.kind != "stale":
                continue
            newest: dict[str, float] = {}
            for item in seen:
                if rule.matches(item.host, item.collector):
                    last = self.started if item.last_seen is None else item.last_seen
                    newest[item.host] = max(newest.get(item.host, last), last)
            for host, last in newest.items():
                inst = self._get(Key(rule.name, host, rule.series), rule, now)
                self._step(inst, max(0.0, round(now - last, 1)), now, changes)

    def _failing(self, failures: Iterable[Failures], now: float, changes: list[Transition]) -> None:
        for rule in self.rules.values():
            if rule.kind != "failing":
                continue
            for item in failures:
                if rule.matches(item.host, item.collector):
                    inst = self._get(Key(rule.name, item.host, item.collector), rule, now)
                    self._step(inst, float(item.consecutive), now, changes)

    def _get(self, key: Key, rule: Rule, now: float) -> Instance:
        inst = self._instances.get(key)
        if inst is None:
            inst = self._instances[key] = self._instance(key, rule, InstanceState(since=now))
        return inst

    def _instance(self, key: Key, rule: Rule, st: InstanceState) -> Instance:
        window = Window(rule.window, rule.aggregate) if rule.kind == "threshold" else None
        unit = "s" if rule.kind == "stale" else ""
        return Instance(key, rule, st, unit=unit, window=window)

    def _step(
        self, inst: Instance, value: float | None, ts: float, changes: list[Transition]
    ) -> None:
        change = step(inst.rule, inst.st, value, ts)
        if change is None:
            return
        if change.state.firing:
            inst.processes = self._top(inst.key.host)
        changes.append(Transition(inst.key, change.previous, change.state, change.value,
                                  change.threshold, change.ts))  # fmt: skip

    def _top(self, host: str) -> dict[str, list[Mapping[str, Any]]]:
        """The host's top processes by CPU and by memory, from its newest process rows."""
        rows = self._rows.get(host)
        if not rows:
            return {}

        def top(field: str) -> list[Mapping[str, Any]]:
            ranked: list[Mapping[str, Any]] = [
                r for r in rows if isinstance(r.get(field), (int, float))
            ]
            ranked.sort(key=lambda r: r[field], reverse=True)
            return ranked[:TOP_PROCESSES]

        return {"cpu": top("cpu"), "memory": top("memory")}

    def _expire(self, now: float) -> list[str]:
        """Silences past their end go; each instance learns which silence holds it."""
        expired = [sid for sid, s in self._silences.items() if not s.active(now)]
        for sid in expired:
            del self._silences[sid]
        active = list(self._silences.values())
        for inst in self._instances.values():
            inst.silenced = next((s.id for s in active if s.matches(inst.key)), None)
        return expired

    def _notices(self, now: float) -> list[Notice]:
        notices = []
        for inst in self._instances.values():
            st = inst.st
            if inst.silenced is not None and st.resolved_at is not None and not st.state.firing:
                drop_resolve(st)
                self._dirty.add(inst.key)
            kind = due(st, now, self.repeat, self.settle, inst.silenced is not None)
            if kind is not None:
                notices.append(self._notice(inst, kind, now))
        return notices

    def _notice(self, inst: Instance, kind: NoticeKind, now: float) -> Notice:
        st = inst.st
        if kind == "resolved":
            end = st.resolved_at if st.resolved_at is not None else now
            held = end - (st.fired_at if st.fired_at is not None else st.since)
            return Notice(kind, inst.alert(), max(0.0, held), now)
        start = st.active_since if st.active_since is not None else st.since
        return Notice(kind, inst.alert(), max(0.0, now - start), now, inst.processes)

    def _pending_rows(self, now: float) -> dict[Key, InstanceState | None]:
        """The dirty instances as rows: None for one at rest with nothing to remember."""
        rows: dict[Key, InstanceState | None] = {}
        for key in self._dirty:
            inst = self._instances.get(key)
            if inst is None:
                rows[key] = None
                continue
            st = inst.st
            recent = st.notified_at is not None and now - st.notified_at < self.repeat
            at_rest = st.state is State.OK and st.resolved_at is None and not recent
            rows[key] = None if at_rest else _copy(st)
        self._dirty.clear()
        return rows

    # -- back on the event loop ----------------------------------------------------------------

    def deliver(
        self,
        transitions: Sequence[Transition],
        notices: Sequence[Notice],
        outbox: Outbox | None,
        now: float,
    ) -> None:
        """Push each transition to the callbacks, the active silences when some expired,
        ended or came from another web process since the last call, and acks made in
        another one; offer each notice to the outbox (noting the ones it took), then let it
        send what its grouping holds."""
        for transition in transitions:
            with self._lock:
                inst = self._instances.get(transition.key)
                alert = inst.alert() if inst is not None else None
            for callback in self._callbacks:
                if alert is not None:
                    callback(transition, alert)
        with self._lock:
            changed, self._silences_changed = self._silences_changed, False
            acked, self._acked_elsewhere = self._acked_elsewhere, []
            rules_changed, self._rules_changed = self._rules_changed, False
        if rules_changed:
            lines = self.rule_lines()
            for tell_rules in self._rule_callbacks:
                tell_rules(lines)
        if changed:
            active = self.silences()
            for told in self._silence_callbacks:
                told(active)
        for key, by in acked:
            for tell in self._ack_callbacks:
                tell(key, by)
        if outbox is None:
            return
        for notice in notices:
            self.offered(notice, outbox.offer(notice, now), now)
        outbox.tick(now)

    def offered(self, notice: Notice, accepted: bool, now: float) -> None:
        """Note the outbox's answer: a taken notice is told (saved at the next evaluation)."""
        if not accepted:
            return  # quiet hours: offered again at the next evaluation
        with self._lock:
            inst = self._instances.get(notice.alert.key)
            if inst is not None:
                taken(inst.st, notice.kind, now)
                self._dirty.add(inst.key)

    # -- reload ------------------------------------------------------------------------------

    def set_rules(self, rules: Sequence[Rule]) -> list[str]:
        """New rules (SIGHUP): instances of rules that still exist keep their state; what
        changed, in words."""
        new = {r.name: r for r in rules}
        with self._lock:
            old = self.rules
            self.rules = new
            self._matches.clear()
            for key, inst in list(self._instances.items()):
                rule = new.get(key.rule)
                if rule is None:
                    del self._instances[key]
                    self._dirty.add(key)
                elif rule != inst.rule:
                    same = (rule.window, rule.aggregate) == (inst.rule.window, inst.rule.aggregate)
                    inst.rule = rule
                    if not same and inst.window is not None:
                        inst.window = Window(rule.window, rule.aggregate)
        added = sorted(set(new) - set(old))
        removed = sorted(set(old) - set(new))
        changed = sorted(n for n in set(new) & set(old) if new[n] != old[n])
        words = [f"rule {n} added" for n in added] + [f"rule {n} removed" for n in removed]
        words += [f"rule {n} changed" for n in changed]
        if words:
            with self._lock:
                self._rules_changed = True
        return words

    # -- AlertsView ------------------------------------------------------------------------------

    def alerts(self) -> list[Alert]:
        """Every instance, firing first, then pending, then the rest."""
        with self._lock:
            found = [inst.alert() for inst in self._instances.values()]
        rank = {State.CRITICAL: 0, State.WARNING: 1, State.PENDING: 2, State.OK: 3}
        return sorted(found, key=lambda a: (rank[a.state], a.key))

    def transitions(self, limit: int = 100) -> list[Transition]:
        with self._lock:
            recent = list(self._recent)
        return recent[-limit:] if limit > 0 else []

    def restarts(self) -> list[float]:
        """When the process started (this run and earlier ones, within the store's
        retention), oldest first, at most ``RESTORED_STARTS``."""
        cutoff = self.clock() - self.store.retention
        with self._lock:
            return [ts for ts in self._starts if ts >= cutoff]

    def silences(self) -> list[Silence]:
        now = self.clock()
        with self._lock:
            return [s for s in self._silences.values() if s.active(now)]

    def add_silence(
        self, matchers: Mapping[str, str], ends: float, comment: str, by: str
    ) -> Silence:
        now = self.clock()
        silence = Silence(secrets.token_hex(6), _matchers(matchers), _ends(ends, now),
                          _comment(comment), now, by)  # fmt: skip
        if len(self.silences()) >= MAX_SILENCES:
            raise ValueError(
                f"{MAX_SILENCES} silences are active already, the most there may be: end some "
                "(or make one with a wider glob) first"
            )
        self.store.put_silence(silence)
        with self._lock:
            self._silences[silence.id] = silence
            for inst in self._instances.values():
                if inst.silenced is None and silence.matches(inst.key):
                    inst.silenced = silence.id
        return silence

    def remove_silence(self, silence_id: str, *, elsewhere: bool = False) -> bool:
        """``elsewhere``: it was ended in another web process (the fleet's sync), so the
        next ``deliver`` tells this one's clients; the web tells of its own at once."""
        with self._lock:
            found = self._silences.pop(silence_id, None)
            if found is not None and elsewhere:
                self._silences_changed = True
            for inst in self._instances.values():
                if inst.silenced == silence_id:
                    inst.silenced = None  # another silence may hold it: the next evaluation says
        if found is None:
            return False
        self.store.delete_silences([silence_id])
        return True

    def ack(self, key: Key, by: str, comment: str = "") -> Alert:
        with self._lock:
            inst = self._instances.get(key)
            if inst is None:
                raise KeyError(f"no alert {key.rule!r} on {key.host!r} {key.series!r}")
            if not inst.st.state.firing:
                state = inst.st.state.value
                raise ValueError(
                    f"alert {key.rule!r} on {key.host!r} {key.series!r} is {state}, not firing: "
                    "nothing to acknowledge"
                )
            inst.st.acked = True
            self._dirty.add(key)
            alert = inst.alert()
        log.info("alert %s on %s %s acknowledged by %s: %s", key.rule, key.host, key.series,
                 by or "?", comment or "(no comment)")  # fmt: skip
        return alert

    # -- made in another web process (scale-out: dashboard.fleet.alerting) -------------------

    def adopt_silence(self, silence: Silence) -> bool:
        """A silence another web process made, kept under its own id (so both speak of the
        same one); False when it is known here already or over."""
        if not silence.active(self.clock()):
            return False
        with self._lock:
            if silence.id in self._silences:
                return False
            self._silences[silence.id] = silence
            self._silences_changed = True
            for inst in self._instances.values():
                if inst.silenced is None and silence.matches(inst.key):
                    inst.silenced = silence.id
        self.store.put_silence(silence)
        return True

    def adopt_ack(self, key: Key, since: float, by: str) -> bool:
        """An ack made in another web process for the state that began at ``since``, applied
        only while the instance is still in that very state. An ack also counts as told: a
        process that takes over notifying does not tell an acknowledged alert again (until
        its state changes). True when it changed anything here."""
        with self._lock:
            inst = self._instances.get(key)
            if inst is None or not inst.st.state.firing or inst.st.since != since:
                return False
            st = inst.st
            newly = not st.acked
            told = st.notified_state is st.state
            st.acked, st.notified_state = True, st.state
            if newly or not told:
                self._dirty.add(key)
        if newly:
            with self._lock:
                self._acked_elsewhere.append((key, by))
            log.info("alert %s on %s %s acknowledged by %s (in another web process)",
                     key.rule, key.host, key.series, by or "?")  # fmt: skip
        return newly or not told

    def rule_lines(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.line() for rule in self.rules.values()]

    def on_transition(self, callback: Callable[[Transition, Alert], None]) -> None:
        self._callbacks.append(callback)

    def on_silences_changed(self, callback: Callable[[list[Silence]], None]) -> None:
        self._silence_callbacks.append(callback)

    def on_acked(self, callback: Callable[[Key, str], None]) -> None:
        self._ack_callbacks.append(callback)

    def on_rules_changed(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        self._rule_callbacks.append(callback)

    # -- health ----------------------------------------------------------------------------------

    def healthy(self, within: float = 10.0) -> bool:
        """Whether evaluation ran lately without error (the heartbeat's gate)."""
        last = self.last_evaluation
        return last is not None and self.last_error is None and self.clock() - last < within

    def status(self) -> dict[str, Any]:
        """For ``/healthz``: rules, instances by state, the last evaluation, its error."""
        with self._lock:
            states = [inst.st.state for inst in self._instances.values()]
            silenced = sum(inst.silenced is not None for inst in self._instances.values())
            rules = len(self.rules)
        return {
            "rules": rules,
            "instances": len(states),
            "firing": sum(s.firing for s in states),
            "pending": sum(s is State.PENDING for s in states),
            "silenced": silenced,
            "last_evaluation": self.last_evaluation,
            "last_duration": self.last_duration,
            "last_error": self.last_error,
            "dropped": self.dropped,
            "store": self.store.status(),
        }


def _copy(st: InstanceState) -> InstanceState:
    return InstanceState(**vars(st))


def _matchers(matchers: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(matchers, Mapping):
        raise ValueError("matchers: expected an object of rule, host and series globs")
    clean = {}
    for label, glob in matchers.items():
        if label not in MATCHER_KEYS:
            raise ValueError(f"matchers: unknown key {label!r}; expected rule, host or series")
        if not isinstance(glob, str) or not glob or len(glob) > 200:
            raise ValueError(f"matchers.{label}: expected a non-empty glob (a string)")
        clean[label] = glob
    return clean


def _ends(ends: float, now: float) -> float:
    if isinstance(ends, bool) or not isinstance(ends, (int, float)) or ends != ends:
        raise ValueError("ends: expected unix seconds (a number)")
    if ends <= now:
        raise ValueError("ends: expected a time in the future")
    if ends > now + MAX_SILENCE:
        raise ValueError("ends: a silence lasts at most 30 days")
    return float(ends)


def _comment(comment: str) -> str:
    if not isinstance(comment, str) or not comment.strip():
        raise ValueError("comment: required: say why the alerts are silenced")
    if len(comment) > 1000:
        raise ValueError("comment: at most 1000 characters")
    return comment.strip()
