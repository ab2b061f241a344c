"""The alert engine with an injected clock and a real SQLite file: hysteresis, ``for``,
``recover``, escalation, repeats, flap damping, silences, acknowledgements, a restart
mid-alert, and the stale and failing kinds."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from collectors.base import Series
from dashboard.alerts.engine import Engine, Failures, Seen, Sources
from dashboard.alerts.model import MAX_SILENCES, Key, Notice, Silence, State
from dashboard.alerts.rules import check_rule
from dashboard.alerts.store import AlertStore
from dashboard.alerts.window import Window
from dashboard.pipeline.validate import Reading
from dashboard.settings import RawRule
from tests.clock import T0, Clock

DISK = "filesystem.root.used_percent"
KEY = Key("full", "h1", DISK)


@dataclass
class Topic:
    host: str = "h1"
    name: str = "filesystem"
    series: list[Series] = field(default_factory=lambda: [Series(DISK, "%", "/ used")])

    @property
    def key(self) -> str:
        return self.name if self.host == "h1" else f"{self.host}/{self.name}"

    @property
    def collector(self) -> Any:
        return SimpleNamespace(name=self.name)


class Outbox:
    """Takes every notice (or none, during ``quiet``)."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.quiet = False
        self.ticks = 0

    def offer(self, notice: Notice, now: float) -> bool:
        if self.quiet and not notice.critical:
            return False
        self.notices.append(notice)
        return True

    def tick(self, now: float) -> None:
        self.ticks += 1

    def kinds(self) -> list[str]:
        return [n.kind for n in self.notices]


def rule(**keys: Any):
    table = {"name": "full", "series": "filesystem.*.used_percent", "warn": 90, "crit": 95,
             "clear": 88, **keys}  # fmt: skip
    return check_rule(RawRule("t.toml", 1, table))


class Rig:
    """An engine on a real file, fed one sample per ``feed`` and evaluated like the job."""

    def __init__(self, path: Path | None, rules: list, sources=None, **options: Any) -> None:
        self.path, self.rules, self.options = path, rules, options
        self.clock = Clock()
        self.outbox = Outbox()
        self.sources = sources or Sources()
        self.transitions: list = []
        self.open()

    def open(self) -> None:
        store = AlertStore(self.path)
        self.engine = Engine(self.rules, store, self.clock, lambda: self.sources, **self.options)
        self.engine.open()
        self.engine.on_transition(lambda t, a: self.transitions.append(t))

    def feed(self, value: float | None, topic: Topic | None = None, rows=None) -> None:
        topic = topic or Topic()
        name = topic.series[0].name
        self.engine.observe(topic, Reading(self.clock.now, {name: value}, rows))
        self.evaluate()

    def evaluate(self) -> None:
        transitions, notices = self.engine.evaluate(self.clock.now)
        self.engine.deliver(transitions, notices, self.outbox, self.clock.now)

    def run(self, values: list[float | None], step: float = 1.0) -> None:
        for value in values:
            self.feed(value)
            self.clock.now += step

    def state(self, key: Key = KEY) -> State:
        return next(a.state for a in self.engine.alerts() if a.key == key)

    def states(self) -> list[str]:
        return [t.state.value for t in self.transitions]


@pytest.fixture
def rig(tmp_path):
    def make(rules=None, **options):
        return Rig(tmp_path / "h.sqlite3", rules or [rule()], **options)

    return make


def test_window_aggregates_in_constant_time_and_ignores_nulls():
    window = Window(10, "max")
    for ts, value in enumerate([5, 1, None, 3, 9, 2]):
        window.add(float(ts), value)
    assert window.value() == 9 and len(window) == 5
    window.add(20.0, 4)
    assert window.value() == 4 and len(window) == 1
    avg = Window(3, "avg")
    for ts in range(10):
        avg.add(float(ts), float(ts))
    assert avg.value() == 8.0  # 7, 8, 9
    low = Window(3, "min")
    for ts, value in enumerate([3, 1, 2, 5, 6]):
        low.add(float(ts), value)
    assert low.value() == 2  # 1 left the window


def test_hysteresis_for_and_recover(rig):
    r = rig([rule(**{"for": "2m", "recover": "1m"})])
    r.run([91] * 119)
    assert r.state() is State.PENDING and r.outbox.notices == []
    r.run([91] * 2)
    assert r.state() is State.WARNING
    assert r.outbox.kinds() == ["firing"]
    firing = r.outbox.notices[0]
    assert firing.alert.value == 91 and firing.alert.threshold == 90 and firing.held_for >= 120
    r.run([89] * 300)  # under warn but above clear: still firing (hysteresis)
    assert r.state() is State.WARNING
    r.run([87] * 59 + [89] + [87] * 59)  # clear, but not for a whole minute
    assert r.state() is State.WARNING
    r.run([87] * 61)
    assert r.state() is State.OK
    assert r.states() == ["pending", "warning", "ok"]
    r.clock.now += 30  # the resolve waits ``settle`` (30 s) for the alert not to come back
    r.evaluate()
    assert r.outbox.kinds() == ["firing", "resolved"]


def test_pending_that_drops_below_goes_back_to_ok_and_for_zero_fires_at_once(rig):
    r = rig([rule(**{"for": "1m"})])
    r.run([92] * 30 + [80])
    assert r.states() == ["pending", "ok"] and r.outbox.notices == []
    r2 = rig([rule(name="now")])
    r2.run([93])
    assert [(t.previous.value, t.state.value) for t in r2.transitions] == [("ok", "warning")]


def test_escalation_only_rises_and_is_told(rig):
    r = rig([rule(**{"for": "10s"})])
    r.run([91] * 12 + [96] * 11 + [91] * 20)
    assert r.states() == ["pending", "warning", "critical"]
    assert r.state() is State.CRITICAL  # never back down to warning
    assert r.outbox.kinds() == ["firing", "firing"]
    assert r.outbox.notices[1].critical


def test_below_rules_fire_on_floors(rig):
    r = rig([rule(warn=20, crit=10, clear=25, below=True)])
    r.run([30, 15, 22, 26])
    assert r.states() == ["warning", "ok"]


def test_repeat_while_firing_stops_when_acked(rig):
    r = rig(repeat=3600.0)
    r.run([96] * 3700)
    assert r.outbox.kinds() == ["firing", "repeat"]
    r.engine.ack(KEY, "ops", "on it")
    r.run([96] * 7300)
    assert r.outbox.kinds() == ["firing", "repeat"]
    with pytest.raises(KeyError):
        r.engine.ack(Key("full", "nohost", DISK), "ops")


def test_quiet_hours_offer_again_until_taken(rig):
    r = rig()
    r.outbox.quiet = True
    r.run([91] * 10)
    assert r.outbox.notices == []
    r.outbox.quiet = False
    r.run([91])
    assert r.outbox.kinds() == ["firing"]


def test_fifty_crossings_in_ten_minutes_give_at_most_one_notice(rig):
    """The shipped filesystem rule's shape, and a rule with no ``for`` nor ``recover``."""
    for keys in ({"for": "2m", "recover": "1m"}, {}):
        r = rig([rule(**keys)])
        for _ in range(25):  # 50 crossings of 90 in 600 s
            r.run([97] * 12)
            r.run([80] * 12)
        assert len(r.outbox.notices) <= 1, (keys, r.outbox.kinds())


def test_silence_holds_notices_and_expires_by_itself(rig):
    r = rig()
    told: list[list] = []
    r.engine.on_silences_changed(told.append)
    silence = r.engine.add_silence({"host": "h*"}, r.clock.now + 600, "maintenance", "ops")
    r.run([96] * 10)
    assert r.state() is State.CRITICAL and r.outbox.notices == []
    assert next(a for a in r.engine.alerts()).silenced == silence.id
    assert told == [], "a silence made is its maker's to tell"
    r.clock.now += 600
    r.run([96] * 2)
    assert r.engine.silences() == [] and r.outbox.kinds() == ["firing"]
    assert told == [[]], "its expiry is told once, on delivery"
    with pytest.raises(ValueError, match="comment"):
        r.engine.add_silence({"host": "*"}, r.clock.now + 60, " ", "ops")
    with pytest.raises(ValueError, match="30 days"):
        r.engine.add_silence({"host": "*"}, r.clock.now + 31 * 86_400, "x", "ops")
    with pytest.raises(ValueError, match="unknown key 'hots'"):
        r.engine.add_silence({"hots": "*"}, r.clock.now + 60, "x", "ops")
    for n in range(MAX_SILENCES - len(r.engine.silences())):
        r.engine.add_silence({"series": f"s{n}"}, r.clock.now + 60, "bulk", "ops")
    with pytest.raises(ValueError, match="1000 silences are active already"):
        r.engine.add_silence({"series": "one-more"}, r.clock.now + 60, "x", "ops")


def test_a_restart_mid_alert_neither_forgets_nor_tells_again(rig, tmp_path):
    r = rig()
    silence = r.engine.add_silence({"rule": "other"}, r.clock.now + 3600, "kept", "ops")
    r.run([96] * 5)
    assert r.outbox.kinds() == ["firing"]
    r.engine.close()
    r.open()  # the same file, a new engine
    assert r.state() is State.CRITICAL
    assert [s.id for s in r.engine.silences()] == [silence.id]
    assert [t.state.value for t in r.engine.transitions()] == ["critical"]
    r.run([96] * 60)
    assert r.outbox.kinds() == ["firing"]  # not told again
    r.run([80] * 40)
    assert r.outbox.kinds() == ["firing", "resolved"]


def test_each_start_is_remembered_and_pruned_with_the_transitions(rig, tmp_path):
    r = rig()
    first = r.clock.now
    assert r.engine.restarts() == [first]
    r.clock.now += 120
    r.engine.close()
    r.open()
    assert r.engine.restarts() == [first, first + 120], "a reopened engine has two starts"
    r.clock.now = first + r.engine.store.retention + 60  # the first start is past it
    assert r.engine.restarts() == [first + 120]
    r.evaluate()  # prunes the file
    with closing(sqlite3.connect(tmp_path / "h.sqlite3")) as db:
        assert db.execute("SELECT ts FROM alert_starts").fetchall() == [(first + 120,)]
    r.engine.close()
    r.open()
    assert r.engine.restarts() == [first + 120, r.clock.now]


def test_changes_from_another_web_process_are_told_at_the_next_delivery(rig):
    r = rig()
    silences: list[list] = []
    acks: list[tuple] = []
    r.engine.on_silences_changed(silences.append)
    r.engine.on_acked(lambda key, by: acks.append((key, by)))
    r.run([96] * 3)
    made = Silence("abc123", {"rule": "full"}, r.clock.now + 600, "elsewhere", r.clock.now, "b")
    assert r.engine.adopt_silence(made)
    since = next(a.since for a in r.engine.alerts() if a.key == KEY)
    assert r.engine.adopt_ack(KEY, since, "socket from b")
    assert silences == [] and acks == [], "told on the loop, when delivered"
    r.evaluate()
    assert [[s.id for s in told] for told in silences] == [["abc123"]]
    assert acks == [(KEY, "socket from b")]
    assert r.engine.remove_silence("abc123", elsewhere=True)
    r.evaluate()
    assert silences[-1] == [] and len(acks) == 1
    mine = r.engine.add_silence({"host": "*"}, r.clock.now + 60, "mine", "a")
    assert r.engine.remove_silence(mine.id)
    r.evaluate()
    assert len(silences) == 2, "this process's own changes are its web's to tell"


def test_a_broken_file_never_stops_alerting(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "h.sqlite3").write_bytes(b"not a database at all" * 100)
    r = Rig(folder / "h.sqlite3", [rule()])
    r.run([96] * 3)
    assert r.state() is State.CRITICAL and r.outbox.kinds() == ["firing"]
    status = r.engine.status()
    error = status["store"]["error"]
    assert status["store"]["state"] == "degraded" and "forgets firing alerts" in error
    assert "is corrupt" in error and "mv " in error, "the history's words, with the fix"
    assert status["firing"] == 1


def test_the_firing_notice_names_the_hosts_top_processes(rig):
    r = rig()
    rows = [{"pid": i, "name": f"p{i}", "cpu": float(i), "memory": 100 - i} for i in range(8)]
    r.feed(None, Topic(name="processes", series=[Series("processes.count", "procs")]), rows)
    r.feed(97)
    top = r.outbox.notices[0].processes
    assert [p["pid"] for p in top["cpu"]] == [7, 6, 5, 4, 3]
    assert [p["pid"] for p in top["memory"]] == [0, 1, 2, 3, 4]


def test_other_hosts_and_load_per_core(rig):
    load = check_rule(RawRule("t.toml", 1, {"name": "load", "series": "load.15m", "warn": 2,
                                             "per_core": True}))  # fmt: skip
    r = rig([load])
    cpu = Topic(
        host="agent1", name="cpu", series=[Series("cpu.core0", "%"), Series("cpu.core1", "%")]
    )
    r.engine.observe(cpu, Reading(T0, {"cpu.core0": 1.0, "cpu.core1": 1.0}, None))
    r.feed(3.0, Topic(host="agent1", name="load", series=[Series("load.15m", "load")]))
    assert r.engine.alerts()[0].state is State.OK  # 1.5 per core
    r.feed(5.0, Topic(host="agent1", name="load", series=[Series("load.15m", "load")]))
    assert r.engine.alerts()[0].key == Key("load", "agent1", "load.15m")
    assert r.engine.alerts()[0].state is State.WARNING


def test_stale_and_failing_kinds(rig):
    stale = check_rule(RawRule("t", 1, {"name": "stale", "kind": "stale", "for": "2m"}))
    failing = check_rule(
        RawRule("t", 2, {"name": "failing", "kind": "failing", "collector": "cpu"})
    )
    r = rig([stale, failing])
    r.sources = Sources(
        [Seen("h1", "cpu", T0), Seen("h1", "disk", T0 - 500), Seen("h2", "cpu", T0 - 100)],
        [Failures("h1", "cpu", 1), Failures("h1", "disk", 9)],
    )
    r.evaluate()
    assert {a.key for a in r.engine.alerts() if a.state.firing} == set()
    r.clock.now += 21  # h2 silent for 121 s; h1's cpu sent 21 s ago
    r.sources.failures = [Failures("h1", "cpu", 3)]
    r.evaluate()
    firing = {a.key: a.state for a in r.engine.alerts() if a.state.firing}
    assert firing == {Key("stale", "h2", "*"): State.CRITICAL,
                      Key("failing", "h1", "cpu"): State.WARNING}  # fmt: skip
    r.sources.seen = [Seen("h2", "cpu", r.clock.now)]
    r.sources.failures = [Failures("h1", "cpu", 0)]
    r.evaluate()
    assert not any(a.state.firing for a in r.engine.alerts())


def test_reloaded_rules_keep_the_state_of_instances_whose_rule_stays(rig):
    r = rig([rule(), rule(name="gone")])
    r.run([96] * 3)
    told: list[list[dict]] = []
    r.engine.on_rules_changed(told.append)
    words = r.engine.set_rules([rule(crit=97)])
    assert words == ["rule gone removed", "rule full changed"]
    assert [a.key.rule for a in r.engine.alerts()] == ["full"]
    assert r.state() is State.CRITICAL
    r.engine.deliver([], [], None, r.clock())  # the pages are told at the next delivery
    assert [[line["name"] for line in lines] for lines in told] == [["full"]]
    assert told[0][0]["crit"] == 97
    r.engine.set_rules([rule(crit=97)])
    r.engine.deliver([], [], None, r.clock())
    assert len(told) == 1, "no change, nothing told"


def test_a_big_reading_pauses_for_the_event_loop_and_lets_others_take_the_lock(rig, monkeypatch):
    """1,000 series in one reading: the evaluation lets go of its lock (and, sleeping, of
    the GIL) every 256 instances, so the loop's thread can run; each instance once."""
    many = [Series(f"filesystem.m{i}.used_percent", "%", "") for i in range(1000)]
    r = rig(breathe=0.0001)
    free_while_paused: list[bool] = []

    def sleep(seconds: float) -> None:
        taken = r.engine._lock.acquire(False)  # what a handler on the loop would do
        if taken:
            r.engine._lock.release()
        free_while_paused.append(taken and seconds == 0.0001)

    monkeypatch.setattr("dashboard.alerts.engine.native", lambda module, name: sleep)
    r.engine.observe(Topic(series=many), Reading(r.clock.now, dict.fromkeys(
        (s.name for s in many), 50.0), None))  # fmt: skip
    r.evaluate()
    assert free_while_paused == [True] * (1000 // 256)
    assert len(r.engine.alerts()) == 1000
