"""Alerts under scale-out: two web processes (eventlet) on one real Redis, as the documented
``web`` ACL user, each evaluating the same host. One notifies (the lease), a silence or an
ack made through either holds in both, and when the notifier is killed the other takes over.
Plus the merge of silences and acks, as pure functions."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collectors.base import Series
from dashboard.alerts.model import Alert, Key, Silence, State
from dashboard.fleet import shared, wire
from dashboard.fleet.lease import GRACE, MARGIN, TTL, Holder, Lease
from dashboard.pipeline.validate import Reading
from tests.fleetsim import COLLECTORS
from tests.serverproc import ServerProcess
from tests.test_alerts_e2e import api
from tests.test_fleet import add_user, docs_acl
from tests.webhooks import Receiver

HOST = "alpha"
FIRST, SECOND = "memory.used_percent", "memory.swap_used_percent"


# -- the merge (pure) ---------------------------------------------------------------------


def silence(sid: str, ends: float = 2000.0) -> Silence:
    return Silence(sid, {"host": "db-*"}, ends, "maintenance", 1000.0, "token")


def remote(*silences: Silence) -> dict[str, str]:
    return {s.id: shared.encode_silence(s) for s in silences}


def test_silences_merge_three_ways_so_an_ending_is_not_undone() -> None:
    a, b, c, d = silence("aaa"), silence("bbb"), silence("ccc"), silence("ddd")
    over = silence("eee", ends=1400.0)
    base = {"aaa", "bbb", "ddd"}
    plan = shared.plan_silences([a, b, c], {**remote(a, d, over), "bad": "{"}, base, now=1500.0)
    # a: both have it. b: synced before, gone from Redis: ended elsewhere. c: new here.
    # d: synced before, gone here: ended here. over: past its end. bad: unreadable, left.
    assert plan.end == ["bbb"] and list(plan.push) == ["ccc"] and plan.adopt == []
    assert sorted(plan.drop) == ["ddd", "eee"] and plan.unreadable == ["bad"]
    assert plan.base == {"aaa", "ccc"}
    assert shared.decode_silence("ccc", plan.push["ccc"]) == c


def test_after_redis_lost_everything_every_silence_is_copied_not_ended() -> None:
    a, d = silence("aaa"), silence("ddd")
    plan = shared.plan_silences([a], remote(d), base=frozenset(), now=1500.0)
    assert list(plan.push) == ["aaa"] and plan.adopt == [d] and not plan.end and not plan.drop
    assert plan.base == {"aaa", "ddd"}


def test_a_silence_from_redis_is_checked_like_one_from_the_api() -> None:
    good = json.loads(shared.encode_silence(silence("aaa")))
    for bad in ({"matchers": {"pid": "1"}}, {"comment": " "}, {"ends": "soon"},
                {"id": "other"}, {"ends": 1000.0 + 40 * 86_400}):  # fmt: skip
        assert shared.decode_silence("aaa", json.dumps({**good, **bad})) is None, bad
    assert shared.decode_silence("a:b", json.dumps({**good, "id": "a:b"})) is None


def alert(series: str, state: State, since: float, acked: bool = False) -> Alert:
    return Alert(Key("hot", HOST, series), state, 70.0, 50.0, since, acked=acked)


def test_acks_apply_while_the_state_is_the_same_and_go_once_it_moved_on() -> None:
    alerts = [
        alert("a", State.WARNING, 100.0, acked=True),  # acked here: to Redis
        alert("b", State.WARNING, 100.0),  # acked elsewhere, same state: applied
        alert("c", State.CRITICAL, 200.0),  # acked elsewhere as warning at 100: moved on
        alert("d", State.WARNING, 300.0, acked=True),  # acked here again, newer than Redis's
    ]
    entry = {"state": "warning", "since": 100.0, "by": "the web process on w (pid 1)"}
    acks = {shared.ack_field(Key("hot", HOST, s)): json.dumps(entry) for s in "bcd"}
    acks["nonsense"] = "{}"
    plan = shared.plan_acks(alerts, acks, "me", now=400.0)
    assert plan.apply == [(Key("hot", HOST, "b"), 100.0, entry["by"])]
    assert sorted(plan.push) == [shared.ack_field(Key("hot", HOST, s)) for s in "ad"]
    assert sorted(plan.drop) == sorted(["nonsense", shared.ack_field(Key("hot", HOST, "c"))])
    pushed = json.loads(plan.push[shared.ack_field(Key("hot", HOST, "d"))])
    assert pushed == {"state": "warning", "since": 300.0, "by": "me"}


def test_a_lease_left_by_a_dead_process_of_this_machine_is_taken_at_once(redis_server) -> None:
    client = redis_server().client()
    first, second = Lease(Holder.here()), Lease(Holder.here())
    first.step(client)
    second.step(client)
    assert (first.mode(), second.mode()) == ("holder", "standby")
    assert second.status()["holder"] == first.me.describe()
    dead = Holder(first.me.machine, "here", 2**22 + 1, "gone")  # above pid_max: never runs
    client.set("dashboard:alerts:notifier", dead.to_json(), ex=10)
    second.step(client)
    first.step(client)
    assert (first.mode(), second.mode()) == ("standby", "holder")
    second.release(client)
    first.step(client)
    assert first.mode() == "holder"


def test_a_holder_that_cannot_renew_stops_first_and_without_redis_all_notify(
    redis_server, clock
) -> None:
    client = redis_server().client()
    lease = Lease(Holder.here(), clock=clock)
    lease.step(client)
    assert lease.notifies()
    lease.lost()  # Redis unreachable: still valid until MARGIN before it could lapse
    clock.now += TTL - MARGIN - 0.5
    assert lease.mode() == "holder"
    clock.now += 1
    assert lease.mode() == "waiting" and not lease.notifies()
    clock.now += GRACE
    assert lease.mode() == "solo" and lease.notifies()  # a duplicate, not silence
    lease.step(client)  # Redis back: the lease is still its own (renewed)
    assert lease.mode() == "holder"


# -- two web processes, one Redis ------------------------------------------------------------


class Host:
    """A host publishing its memory collector to Redis as an agent does, twice a second;
    ``values`` are set by the test."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.values = dict.fromkeys(COLLECTORS["memory"][1], 10.0)
        self.stop = threading.Event()
        series = [Series(n, "%") for n in self.values]
        self.client.hset(wire.key(HOST, "series"), "memory", wire.encode_series(series, 1.0))
        self.client.sadd(wire.HOSTS_KEY, HOST)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        seq = 0
        while not self.stop.wait(0.5):
            seq += 1
            body = wire.encode("memory", seq, Reading(time.time(), dict(self.values), None),
                               None, None)  # fmt: skip
            self.client.xadd(wire.key(HOST, "samples"), {"d": body})


@pytest.fixture
def host(redis_server) -> Iterator[tuple[Any, Host]]:
    redis = redis_server()
    add_user(redis, "web", docs_acl("web"))  # the documented web user: enough, and no more
    publisher = Host(redis.url)
    yield redis, publisher
    publisher.stop.set()
    publisher.thread.join(5)


def web_settings(url: str, name: str, webhook: str) -> str:
    return f"""
[server]
async_mode = "eventlet"
[queue]
url = "{url}"
[history]
path = "{name}.sqlite3"
[alerts]
webhook = "{webhook}"
group_wait = "1s"
[[alerts.rule]]
name = "hot"
series = "memory.*used_percent"
warn = 50
crit = 95
"""


def firing(receiver: Receiver, series: str) -> list[dict[str, Any]]:
    return [{**a, "at": post.at} for post in receiver.on("/hook") for a in post.json()["alerts"]
            if a["series"] == series and a["kind"] == "firing"]  # fmt: skip


def lease_of(web: ServerProcess) -> dict[str, Any]:
    return web.get_json("/healthz")["alerts"]["notify"]["lease"]


def instance(web: ServerProcess, series: str) -> dict[str, Any]:
    """The web process's alert instance of ``series`` (``{}`` while it has none)."""
    found = [a for a in api(web, "GET", "/api/alerts")[1]["alerts"] if a["series"] == series]
    return found[0] if found else {}


def silence_ids(web: ServerProcess) -> list[str]:
    return [s["id"] for s in api(web, "GET", "/api/silences")[1]["silences"]]


@pytest.mark.server
def test_two_web_processes_notify_once_share_silences_and_acks_and_fail_over(
    host: tuple[Any, Host],
    server_factory: Callable[..., ServerProcess],
    sio_client: Callable[..., Any],
    wait_until: Callable[..., Any],
) -> None:
    redis, publisher = host
    receiver = Receiver()
    try:
        url = f"redis://web:web-secret@127.0.0.1:{redis.port}/0"
        webs = [server_factory(web_settings(url, name, receiver.url("/hook")), name=name,
                               start=False) for name in ("web1", "web2")]  # fmt: skip
        for web in webs:
            web.start(wait=False)
        for web in webs:
            web.wait_ready()
        leases = wait_until(
            lambda: (
                (found := [lease_of(w) for w in webs])[0]["holder"]
                and found[0]["holder"] == found[1]["holder"]
                and found
            ),
            "both web processes agreeing on who notifies",
        )
        [holder] = [w for w, lease in zip(webs, leases, strict=True) if lease["notifies"]]
        [other] = [w for w in webs if w is not holder]
        wait_until(lambda: all(instance(w, FIRST) for w in webs), "both evaluating alpha", 15)

        publisher.values[FIRST] = 70.0
        wait_until(lambda: firing(receiver, FIRST), "the firing POST")
        wait_until(lambda: all(instance(w, FIRST).get("state") == "warning" for w in webs),
                   "firing in both")  # fmt: skip

        # A silence made through the one that does not notify holds in the one that does;
        # an ack through the notifier shows in the other.
        status, made = api(
            other,
            "POST",
            "/api/silences",
            {"matchers": {"series": FIRST}, "ends": time.time() + 600, "comment": "on purpose"},
        )
        assert status == 201
        client = sio_client(holder.url, ["/alerts"])
        ack = client.call("ack", {"rule": "hot", "host": HOST, "series": FIRST},
                          namespace="/alerts", timeout=10)  # fmt: skip
        assert ack["ok"] and ack["alert"]["acked"], ack
        wait_until(lambda: made["id"] in silence_ids(holder), "the silence in the notifier", 10)
        assert instance(holder, FIRST)["silenced"] == made["id"]
        wait_until(lambda: instance(other, FIRST).get("acked"), "the ack in the other", 10)
        # Ended through the notifier: gone from the other too (not brought back by it).
        assert api(holder, "DELETE", f"/api/silences/{made['id']}")[0] == 200
        wait_until(lambda: not silence_ids(other), "the silence ended in the other", 10)

        holder.stop(signal.SIGKILL)
        killed = time.time()
        wait_until(lambda: lease_of(other)["notifies"], "the survivor taking the lease", 10)
        publisher.values[SECOND] = 70.0
        second = wait_until(lambda: firing(receiver, SECOND), "the survivor's firing POST")
        assert len(second) == 1 and second[0]["at"] > killed
        # The first alert was acknowledged, so the survivor does not tell it again.
        assert len(firing(receiver, FIRST)) == 1, firing(receiver, FIRST)
        assert "Traceback" not in other.output()
        assert "this web process notifies now" in other.output()
    finally:
        receiver.stop()
