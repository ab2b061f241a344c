"""Per-client limits: budgets and caps as units, then attacks on a real server over loopback,
each with a canary client streaming /cpu whose gaps and the server's memory are checked."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import random
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import psutil
import pytest

from dashboard.limits import backlog as backlog_module
from dashboard.limits.backlog import Backlog
from dashboard.limits.bucket import TokenBucket
from dashboard.limits.connections import Connections
from dashboard.limits.requests import ABUSE_BURST, Budgets, RequestLimits
from dashboard.settings import SettingsError, parse_settings
from dashboard.web.proxies import client_address
from tests.rawsocket import RawClient
from tests.serverproc import ServerProcess
from tests.waits import wait_until

# -- units ----------------------------------------------------------------------------


def test_a_token_bucket_spends_its_burst_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket(rate=10, burst=20)
    assert all(bucket.take(0.0) == 0.0 for _ in range(20))
    assert bucket.take(0.0) == pytest.approx(0.1)
    assert bucket.take(0.5) == 0.0  # 5 tokens back after half a second
    assert bucket.take(0.0, cost=1000) == pytest.approx(1.6)  # a huge cost is one full burst


def test_requests_past_the_budget_are_refused_then_a_flood_is_dropped() -> None:
    budgets = Budgets(RequestLimits(requests_per_second=10))
    answers = [budgets.admit("a", 0.0) for _ in range(20 + int(ABUSE_BURST) + 1)]
    assert answers[:20] == [None] * 20
    refused = [a for a in answers[20:] if a is not None]
    assert len(refused) == ABUSE_BURST + 1
    assert refused[0].ack() == {"ok": False, "error": "rate_limited", "retry_after": 0.1}
    assert not any(r.disconnect for r in refused[:-1]) and refused[-1].disconnect
    assert budgets.admit("b", 0.0) is None  # another client is untouched


def test_history_is_weighed_by_points_and_subscriptions_are_capped() -> None:
    budgets = Budgets(RequestLimits(history_points_per_minute=6000, max_subscriptions=2))
    assert budgets.charge_history("a", 5000, 0.0) is None
    refusal = budgets.charge_history("a", 2000, 0.0)
    assert refusal is not None and refusal.retry_after == pytest.approx(10.0)
    assert budgets.subscribed("a", "/cpu", True) is None
    assert budgets.subscribed("a", "/cpu", True) is None  # again: still one
    assert budgets.subscribed("a", "/memory", True) is None
    assert "at most 2" in (budgets.subscribed("a", "/load", True) or "")
    budgets.subscribed("a", "/cpu", False)
    assert budgets.subscribed("a", "/load", True) is None


def test_connection_caps_count_per_address_and_overall() -> None:
    caps = Connections(max_total=3, max_per_address=2)
    caps.opened("s1", {"REMOTE_ADDR": "10.0.0.1"})
    caps.opened("s2", {"REMOTE_ADDR": "10.0.0.1"})
    assert "from 10.0.0.1: at most 2" in (caps.refusal("10.0.0.1") or "")
    assert caps.refusal("10.0.0.2") is None
    caps.opened("s3", {"REMOTE_ADDR": "10.0.0.2"})
    assert "server full" in (caps.refusal("10.0.0.3") or "")
    caps.closed("s1")
    assert caps.refusal("10.0.0.1") is None


def test_a_client_that_is_behind_gets_the_newest_sample_and_one_that_is_not_gets_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unsent = {"bytes": 0}
    monkeypatch.setattr(backlog_module, "unsent_bytes", lambda sock: unsent["bytes"])
    sent: list[Any] = []

    def send(sid: str, pkt: Any) -> None:
        sent.append(pkt)

    backlog = Backlog(4096, 20.0, lambda sid: None)
    big = "2/processes," + "x" * 5000
    for n in (1, 2):  # a burst while the writer has not had its turn: both queued
        backlog.offer(send, "c", "/cpu", f"2/cpu,[{n}]")
    backlog.offer(send, "c", "/processes", big)
    assert [p.data for p in sent] == ["2/cpu,[1]", "2/cpu,[2]", big]
    sent[2].encode()  # the writer hands the big one to the kernel, which keeps it all
    unsent["bytes"] = 10_000
    backlog.offer(send, "c", "/cpu", "2/cpu,[3]")  # behind: replaces the queued [2]
    assert len(sent) == 3 and sent[1].encode() == "42/cpu,[3]" and backlog.coalesced == 1
    backlog.offer(send, "c", "/cpu", "2/cpu,[4]")  # nothing queued: held
    backlog.offer(send, "c", "/cpu", "2/cpu,[5]")  # replaces the held one
    backlog.release(send)
    assert len(sent) == 3  # the link is still full
    unsent["bytes"] = 0
    backlog.release(send)
    assert [p.encode() for p in sent[3:]] == ["42/cpu,[5]"]
    assert backlog.coalesced == 2


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("requests_per_second", 0, "from 1 to 10000"),
        ("max_connections_per_address", -1, "from 0 to 100000"),
        ("max_backlog_bytes", "4k", "an integer"),
        ("slow_client_timeout", "1s", "a duration from 2s to 10m"),
    ],
)
def test_limit_settings_are_checked(key: str, value: Any, expected: str) -> None:
    with pytest.raises(SettingsError, match=expected):
        parse_settings({"server": {key: value}})


# -- against a real server ------------------------------------------------------------

ATTACK_SETTINGS = """
[server]
async_mode = "eventlet"
slow_client_timeout = "10s"
{extra}
[history]
path = ""
"""


class Canary:
    """A well-behaved client streaming /cpu; ``max_gap`` is its longest wait for a sample."""

    def __init__(self, port: int) -> None:
        self.client = RawClient(port).connect()
        self.client.join("/cpu")
        assert self.client.ack("/cpu", "subscribe", {})["ok"]
        self.client.start()

    def max_gap(self) -> float:
        """The longest gap so far, once the canary has read a few samples more."""
        seen = len(self.client.taken)
        wait_until(lambda: len(self.client.taken) >= seen + 3, "the canary's next samples")
        times = [t.read_at for t in self.client.taken]
        return max(b - a for a, b in itertools.pairwise(times))


def figures(attack: str, canary: Canary, growth: float) -> None:
    """What the closing note quotes (``pytest -s`` shows it)."""
    print(f"\n{attack}: canary's largest gap {canary.max_gap():.2f} s, RSS {growth:+.1f} MB")


def metric(server: ServerProcess, name: str) -> float:
    """One sample of ``/metrics`` (the full line's name with its labels, if any)."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    raise AssertionError(f"{name} is not in /metrics")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(x for x in status if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def subscribe_everything(client: RawClient, url: str) -> None:
    with urllib.request.urlopen(url + "/api/collectors", timeout=5) as resp:
        names = [c["name"] for c in json.load(resp)["collectors"]]
    for name in names:
        client.join("/" + name)
    for name in names:
        assert client.ack("/" + name, "subscribe", {}, timeout=10)["ok"]
    assert client.ack("/processes", "filter", {"limit": 200}, timeout=10)["ok"]


@pytest.fixture
def attacked(
    server_factory: Callable[..., ServerProcess], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    """``attacked(extra_server_settings)``: a real eventlet server; every raw client the
    test opens is closed afterwards."""
    made: list[RawClient] = []
    connect = RawClient.connect

    def tracked(self: RawClient, timeout: float = 10.0) -> RawClient:
        made.append(self)
        return connect(self, timeout)

    monkeypatch.setattr(RawClient, "connect", tracked)

    def start(extra: str = "") -> ServerProcess:
        return server_factory(ATTACK_SETTINGS.format(extra=extra), async_mode="eventlet")

    yield start
    for client in made:
        client.close()


def flood(port: int, count: int) -> tuple[RawClient, int]:
    """A client sending ``count`` filter requests as fast as the socket takes them."""
    client = RawClient(port).connect()
    client.join("/processes")
    client.start()
    sent = 0
    try:
        for _ in range(count):
            client.call("/processes", "filter", {"match": "(a+)+$"})
            sent += 1
    except OSError:
        pass  # the server closed it: what the test waits for
    return client, sent


@pytest.mark.server
def test_a_request_flood_is_rate_limited_then_disconnected(
    attacked: Callable[..., ServerProcess], wait_until: Callable[..., Any]
) -> None:
    server = attacked()
    canary = Canary(server.port)
    burst, _ = flood(server.port, 60)  # over the budget (a burst of 40), under the drop
    wait_until(lambda: len(burst.acks) == 60, "an answer to each of 60 requests")
    answers = list(burst.acks.values())
    limited = [a for a in answers if a.get("error") == "rate_limited"]
    assert 40 <= sum(1 for a in answers if a.get("ok")) < 60
    assert len(limited) + sum(1 for a in answers if a.get("ok")) == 60
    assert all(set(a) == {"ok", "error", "retry_after"} and a["retry_after"] > 0 for a in limited)
    assert not burst.closed
    warm, _ = flood(server.port, 10_000)  # the first flood sets the allocator's high water
    wait_until(lambda: warm.closed, "the first flooding client to be disconnected", 15)
    before = rss_mb(server.pid)
    client, sent = flood(server.port, 10_000)
    wait_until(lambda: client.closed, "the flooding client to be disconnected", timeout=15)
    assert len(client.acks) < sent  # dropped long before it was all answered
    assert "disconnected: kept sending" in server.output()
    assert metric(server, "dashboard_requests_rate_limited_total") > 50
    assert metric(server, 'dashboard_clients_dropped_total{reason="flood"}') >= 2
    assert canary.max_gap() < 1.5
    growth = rss_mb(server.pid) - before
    figures("request flood", canary, growth)
    assert growth < 10, f"server memory grew {growth:.1f} MB"


@pytest.mark.server
def test_backfill_has_its_own_budget_and_subscriptions_a_cap(
    attacked: Callable[..., ServerProcess],
) -> None:
    server = attacked("history_points_per_minute = 1000\nmax_subscriptions = 2")
    client = RawClient(server.port).connect()
    for name in ("/cpu", "/memory", "/load"):
        client.join(name)
    assert client.ack("/cpu", "subscribe", {"history": 3600})["ok"]
    refused = client.ack("/cpu", "subscribe", {"history": 3600})
    assert refused["error"] == "rate_limited" and 50 < refused["retry_after"] <= 60
    assert client.ack("/cpu", "subscribe", {})["ok"]  # live only: no backfill to pay for
    assert client.ack("/memory", "subscribe", {})["ok"]
    capped = client.ack("/load", "subscribe", {})
    assert capped == {
        "ok": False,
        "error": "too many subscriptions: at most 2 per connection ([server] max_subscriptions)",
    }
    assert client.ack("/memory", "unsubscribe")["ok"]
    assert client.ack("/load", "subscribe", {})["ok"]
    client.close()


@pytest.mark.server
def test_two_thousand_connects_from_one_address_are_refused_cleanly_at_the_handshake(
    attacked: Callable[..., ServerProcess],
) -> None:
    server = attacked("max_connections_per_address = 100\nmax_connections = 150")
    canary = Canary(server.port)
    before = rss_mb(server.pid)
    held, refusals = [], []
    for _ in range(2000):
        try:
            held.append(RawClient(server.port).connect())
        except ConnectionRefusedError as exc:
            refusals.append(str(exc))
    assert len(held) == 99  # the canary is the 100th from 127.0.0.1
    assert len(refusals) == 1901
    assert all(r.startswith("HTTP/1.1 503") for r in refusals)
    assert "too many connections from 127.0.0.1: at most 100" in refusals[0]
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as resp:
        assert resp.status == 200  # plain HTTP still served
    assert canary.max_gap() < 1.5
    for client in held:
        client.close()
    figures("2,000 connects", canary, rss_mb(server.pid) - before)
    assert rss_mb(server.pid) - before < 20
    assert "connection refused (1 so far): too many connections" in server.output()
    assert metric(server, "dashboard_connections_refused_total") == 1901


@pytest.mark.server
def test_the_overall_cap_refuses_with_its_own_reason(
    attacked: Callable[..., ServerProcess],
) -> None:
    server = attacked("max_connections_per_address = 0\nmax_connections = 3")
    held = [RawClient(server.port).connect() for _ in range(3)]
    with pytest.raises(ConnectionRefusedError, match="server full: 3 connections"):
        RawClient(server.port).connect()
    held.pop().close()
    held.append(_connect_when_room(server.port))
    for client in held:
        client.close()


def _connect_when_room(port: int) -> RawClient:
    deadline = time.monotonic() + 10
    while True:
        try:
            return RawClient(port).connect()
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.server
def test_slow_links_get_the_newest_samples_and_hopeless_ones_are_dropped(
    attacked: Callable[..., ServerProcess], wait_until: Callable[..., Any]
) -> None:
    """A reader at half the stream's rate stays connected with fresh samples; five at
    1 KB/s are disconnected as slow consumers; of two that stop reading, the one that keeps
    answering pings (blindly) is dropped as a slow consumer and the silent one by then too,
    both their sockets shut; memory stays flat; the canary is on time."""
    server = attacked()
    canary = Canary(server.port)
    probe = RawClient(server.port).connect()
    subscribe_everything(probe, server.url)
    probe.start()
    start_bytes, started = probe.bytes_read, time.monotonic()
    wait_until(lambda: time.monotonic() - started > 6, "six seconds of the whole stream", 10)
    stream_rate = (probe.bytes_read - start_bytes) / (time.monotonic() - started)
    probe.close()

    def slow_reader(rate: float) -> RawClient:
        client = RawClient(server.port, rcvbuf=4096).connect()  # a narrow link
        subscribe_everything(client, server.url)
        client.rate = rate  # reads at the link's pace from now on
        return client.start()

    half = slow_reader(stream_rate / 2)
    hopeless = [slow_reader(1000) for _ in range(5)]
    stalled = []
    for pongs in (True, False):
        client = RawClient(server.port, rcvbuf=4096).connect()
        subscribe_everything(client, server.url)
        client.reading, client.blind_pong = False, 5.0 if pongs else None
        stalled.append(client.start())  # nothing is read from here on
    before, started = rss_mb(server.pid), time.monotonic()
    # Within ping interval + timeout (20 s) and the shut grace; the slow-consumer window
    # (10 s here) usually comes first.
    wait_until(
        lambda: not any(_server_holds(server.pid, c) for c in stalled),
        "the server to let go of both stalled readers' sockets",
        25,
        every=0.5,
    )
    wait_until(
        # 25 s: the half-rate reader outlives 2.5 slow-consumer windows (10 s here).
        lambda: time.monotonic() - started > 25 and all(c.closed for c in hopeless),
        "25 s, and the five 1 KB/s readers disconnected",
        60,
        every=0.5,
    )
    growth = rss_mb(server.pid) - before
    read = [t for t in half.taken if t.namespace == "/cpu" and t.read_at > started + 5]
    delays = [t.read_at - t.data["ts"] for t in read]  # how old each sample was when read
    waits = [b.read_at - a.read_at for a, b in itertools.pairwise(read)]
    figures(
        f"slow links (half rate: /cpu {max(delays):.1f} s old at most when read, "
        f"a new one every {max(waits):.1f} s at most)",
        canary,
        growth,
    )
    assert server.output().count("slow consumer") >= 6
    assert metric(server, 'dashboard_clients_dropped_total{reason="slow_consumer"}') >= 6
    assert metric(server, "dashboard_samples_coalesced_total") > 0
    assert not half.closed, "the half-rate reader was dropped"
    assert max(delays) < 6.0, f"the half-rate reader read a sample {max(delays):.1f} s old"
    assert max(waits) < 10.0, f"the half-rate reader waited {max(waits):.1f} s for a sample"
    assert growth < 5, f"server memory grew {growth:.1f} MB"
    assert canary.max_gap() < 1.5
    half.close()


def _server_holds(pid: int, client: RawClient) -> bool:
    """Whether the server process still has this client's connection open. (Reading the
    client's end to see the close would make it a reader; and a server that shut a full
    connection cannot send its FIN before the data the client never read.)"""
    assert client.sock is not None
    port = client.sock.getsockname()[1]
    return any(c.raddr and c.raddr.port == port for c in psutil.Process(pid).net_connections("tcp"))


@pytest.mark.server
def test_slow_header_connections_do_not_starve_a_legitimate_client(
    attacked: Callable[..., ServerProcess], wait_until: Callable[..., Any]
) -> None:
    server = attacked()
    canary = Canary(server.port)
    slow = []
    for _ in range(500):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET / HTTP/1.1\r\n")
        slow.append(sock)
    stop = threading.Event()

    def trickle() -> None:  # one more header byte a second on each
        while not stop.wait(1.0):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.send(b"X")

    threading.Thread(target=trickle, daemon=True).start()
    try:
        times = []
        for _ in range(5):
            started = time.monotonic()
            client = RawClient(server.port).connect()
            client.join("/cpu")
            assert client.ack("/cpu", "subscribe", {})["ok"]
            times.append(time.monotonic() - started)
            client.close()
        assert max(times) < 1.0, f"a legitimate client took {max(times):.2f} s"
        # The header deadline (10 s) ends them all.
        wait_until(lambda: all(_peer_closed_raw(s) for s in slow), "slow headers cut off", 30)
        figures(f"500 slow headers (connect {max(times):.2f} s)", canary, 0.0)
        assert canary.max_gap() < 1.5
    finally:
        stop.set()
        for sock in slow:
            sock.close()


def _has_taken(client: RawClient) -> bool:
    return bool(client.taken)


def _peer_closed_raw(sock: socket.socket) -> bool:
    sock.settimeout(0)
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.server
def test_three_hundred_clients_are_back_within_ten_seconds_of_a_restart(
    attacked: Callable[..., ServerProcess],
) -> None:
    """Each reconnects as socket.io-client does (a randomized short backoff) and asks for
    what it missed with ``since``. All come from 127.0.0.1, so the per-address cap is off
    here; in the world they come from their own addresses."""
    server = attacked("max_connections_per_address = 0")
    clients = []
    for _ in range(300):
        client = RawClient(server.port).connect()
        client.join("/cpu")
        assert client.ack("/cpu", "subscribe", {})["ok"]
        clients.append(client.start())
    wait_until(lambda: all(c.taken for c in clients), "a sample for each of 300 clients", 20)
    last_ts = max(c.taken[-1].data["ts"] for c in clients)
    server.stop()
    server.start()
    ready = time.monotonic()
    back: list[float] = []
    lock = threading.Lock()

    def reconnect() -> None:
        rng = random.Random()
        while time.monotonic() - ready < 20:
            try:
                client = RawClient(server.port).connect(timeout=5)
                client.join("/cpu")
                if not client.ack("/cpu", "subscribe", {"since": last_ts}, timeout=5)["ok"]:
                    raise ConnectionError("subscribe refused")
                client.start()
                wait_until(partial(_has_taken, client), "a sample after the restart", 10)
            except (OSError, ConnectionError, TimeoutError, AssertionError):
                time.sleep(0.1 + rng.random() * 0.4)
                continue
            with lock:
                back.append(time.monotonic() - ready)
                clients.append(client)
            return

    threads = [threading.Thread(target=reconnect) for _ in range(300)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(back) == 300, f"only {len(back)} of 300 came back"
    print(f"\n300 reconnects: the last was back {max(back):.2f} s after the restart")
    assert max(back) < 10.0


def test_fast_unmasking_is_byte_for_byte_eventlets() -> None:
    from eventlet.websocket import RFC6455WebSocket

    from dashboard.service.websocket_guard import apply_mask

    rng = random.Random(7)
    original = RFC6455WebSocket.__dict__["_apply_mask"]
    original = getattr(original, "__func__", original)
    for size in (0, 1, 3, 4, 5, 127, 4096, 10_001):
        data = rng.randbytes(size)
        mask = tuple(rng.randrange(256) for _ in range(4))
        for offset in (0, 1, 2, 3, 9):
            assert apply_mask(data, mask, size, offset) == original(data, mask, size, offset)
    assert apply_mask(b"abcdef", (1, 2, 3, 4), length=3) == original(b"abcdef", (1, 2, 3, 4), 3)


@pytest.mark.server
def test_frames_a_client_sends_cost_the_loop_little_and_a_message_stays_bounded(
    attacked: Callable[..., ServerProcess], wait_until: Callable[..., Any]
) -> None:
    """10 MB of legal 10 KB frames, fragments of one message that never ends: the
    connection is closed once the message passes max_message_bytes (1009), memory stays
    flat, and the canary never waits."""
    server = attacked()
    canary = Canary(server.port)
    before = rss_mb(server.pid)
    client = RawClient(server.port).connect()
    chunk = b"x" * 10_000
    sent = 0
    with contextlib.suppress(OSError):
        client.send_frame(0x1, b"4" + chunk, fin=False)  # an engine.io message, begun
        for _ in range(1000):
            client.send_frame(0x0, chunk, fin=False)
            sent += len(chunk)
    assert sent < 10_000_000, "the server read 10 MB of one unfinished message"
    growth = rss_mb(server.pid) - before
    figures(f"fragmented 10 MB (cut after {sent / 1000:.0f} KB)", canary, growth)
    assert growth < 5, f"server memory grew {growth:.1f} MB"
    assert canary.max_gap() < 1.5


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),  # nginx on this machine
        ("127.0.0.1", "198.51.100.1, 203.0.113.5", "203.0.113.5"),  # the left one is forged
        ("127.0.0.1", "203.0.113.5, 10.0.0.2", "203.0.113.5"),  # two proxies we trust
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("192.0.2.9", "203.0.113.5", "192.0.2.9"),  # not a proxy of ours: header ignored
        ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address_is_what_a_trusted_proxy_saw(
    remote: str, forwarded: str, client: str
) -> None:
    trusted = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8")]
    assert client_address(remote, forwarded, trusted) == client


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert parse_settings({"server": {"trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]}})
    with pytest.raises(SettingsError, match="trusted_proxies = 'nginx': expected addresses"):
        parse_settings({"server": {"trusted_proxies": ["nginx"]}})


@pytest.mark.server
def test_behind_a_trusted_proxy_each_client_has_its_own_cap(
    attacked: Callable[..., ServerProcess],
) -> None:
    server = attacked('max_connections_per_address = 2\ntrusted_proxies = ["127.0.0.1"]')

    def via_proxy(client: str) -> RawClient:
        return RawClient(server.port, headers={"X-Forwarded-For": client}).connect()

    held = [via_proxy("203.0.113.5"), via_proxy("203.0.113.5")]
    with pytest.raises(ConnectionRefusedError, match=r"from 203\.0\.113\.5: at most 2"):
        via_proxy("203.0.113.5")
    held.append(via_proxy("203.0.113.6"))  # another user behind the same proxy
    with pytest.raises(ConnectionRefusedError, match=r"from 203\.0\.113\.5: at most 2"):
        via_proxy("198.51.100.1, 203.0.113.5")  # a forged left-hand entry changes nothing
