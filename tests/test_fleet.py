"""Scale-out against a real Redis: agents and web processes as real processes, real websocket
clients, and the faults — Redis killed and back, a web process killed and back — with what
every client saw compared to what the agents sent."""

from __future__ import annotations

import itertools
import re
import shlex
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dashboard.fleet import wire
from dashboard.history.tiers import History, Query
from dashboard.settings import HistorySettings
from tests.serverproc import ServerProcess, free_port

pytestmark = pytest.mark.server


def agent_settings(url: str, host: str) -> str:
    return (
        f'[queue]\nurl = "{url}"\n[agent]\nhost = "{host}"\n'
        f'[history]\npath = "{host}.sqlite3"\nflush_interval = "1s"\n'
        # A lean agent: the cpu collector is what the test follows.
        "[collectors.processes]\nenabled = false\n[collectors.filesystem]\nenabled = false\n"
    )


def web_settings(url: str, name: str) -> str:
    return (
        f'[server]\nasync_mode = "eventlet"\n[queue]\nurl = "{url}"\n'
        f'[history]\npath = "{name}.sqlite3"\nflush_interval = "1s"\n'
    )


@dataclass
class Watcher:
    """A websocket client of one web process following one host's /cpu, as a page does:
    it resubscribes with ``since`` (its newest timestamp) when it connects again, and drops
    a live sample at or before the newest it holds (static/js/connection.js)."""

    web: ServerProcess
    host: str
    seen: list[tuple[float, int]] = field(default_factory=list)  # (ts, seq) in arrival order
    via: str = ""  # a proxy's URL in front of the web process(es), or "" for web.url
    history: float = 5.0  # seconds of history asked for on the first subscribe
    pending: list[tuple[float, int]] | None = None  # live samples before the ack
    lock: threading.Lock = field(default_factory=threading.Lock)
    stale: int = 0  # live samples at or before the newest held, dropped as the page does

    def connect(self, sio_client: Callable) -> None:
        """Subscribe; live samples that come before the ack are held, then follow the
        backfill, those it already holds dropped — what static/js/connection.js does (a
        sample published while the backfill is read is in both, by protocol)."""
        self.sio = sio_client(self.via or self.web.url, ["/cpu"])
        with self.lock:
            self.pending = []
        self.sio.on("sample", self._sample, namespace="/cpu")
        payload: dict = {"host": self.host}
        payload.update({"since": self.seen[-1][0]} if self.seen else {"history": self.history})
        ack = self.sio.call("subscribe", payload, namespace="/cpu", timeout=15)
        assert ack["ok"] and ack["host"] == self.host, ack
        with self.lock:
            backfill = ack["history"]["ts"]
            self.seen.extend((ts, -1) for ts in backfill)
            newest = backfill[-1] if backfill else float("-inf")
            self.seen.extend(s for s in self.pending or [] if s[0] > newest)
            self.pending = None

    def _sample(self, sample: dict) -> None:
        assert sample["host"] == self.host
        with self.lock:
            if self.pending is not None:
                self.pending.append((sample["ts"], sample["seq"]))
            elif not self.seen or sample["ts"] > self.seen[-1][0]:
                self.seen.append((sample["ts"], sample["seq"]))
            else:
                # connection.js (freshSamples) drops a sample at or before the newest it
                # delivered: a web process killed and started again replays from Redis what
                # its history had not flushed, older than a client's `since`. Counted, so
                # the test still shows it happened.
                self.stale += 1

    @property
    def newest(self) -> float:
        return self.seen[-1][0] if self.seen else 0.0


def sent_by(agent: ServerProcess, host: str, since: float) -> list[float]:
    """Every /cpu timestamp the agent kept (and so sent) after ``since``: the truth."""
    history = History(HistorySettings(path=agent.config.parent / f"{host}.sqlite3"))
    history.register("cpu", 1.0)
    history.open()
    answer = history.answer(Query("cpu", since, prefer_raw=True, max_points=100_000))
    history.close()
    return answer.ts


def assert_gap_free(watcher: Watcher, agent: ServerProcess, began: float, ended: float) -> None:
    """What the watcher saw up to ``ended`` is what the (stopped) agent sent from the
    watcher's first sample on: nothing lost, nothing twice, nothing out of order."""
    truth = [t for t in sent_by(agent, watcher.host, began - 10) if t <= ended]
    stamps = [ts for ts, _seq in watcher.seen if ts <= ended]
    expected = [t for t in truth if t >= stamps[0]]
    duplicates = len(stamps) - len(set(stamps))
    disorder = sum(1 for a, b in itertools.pairwise(stamps) if b <= a)
    lost = sorted(set(expected) - set(stamps))
    where = f"{watcher.via or watcher.web.config.stem} watching {watcher.host}"
    print(f"{where}: {len(stamps)} seen ({watcher.stale} stale dropped), {len(expected)} "
          f"sent, lost {len(lost)}, duplicates {duplicates}, out of order {disorder}")  # fmt: skip
    assert (len(lost), duplicates, disorder) == (0, 0, 0), (where, lost[:5])


def hosts_of(web: ServerProcess) -> set[str]:
    """The hosts whose /cpu a web process serves (an agent's collectors appear one by one,
    as each sends its first sample)."""
    try:
        return {h["host"] for h in web.get_json("/api/hosts") if "cpu" in h["collectors"]}
    except OSError:
        return set()


def one_host_watched(
    server_factory, sio_client, wait_until, url: str, host: str = "alpha", samples: int = 3
) -> tuple[ServerProcess, Watcher]:
    """An agent for ``host`` and a web process on ``url``, and a client following the host's
    /cpu that has seen ``samples`` samples."""
    # Names no machine has, so even a host called "web" keeps its files apart.
    server_factory(agent_settings(url, host), command="agent", name=f"agent-{host}")
    web = server_factory(web_settings(url, "web-process"), name="web-process")
    wait_until(lambda: hosts_of(web) == {host}, f"the web process to know {host}", 30)
    watcher = Watcher(web, host)
    watcher.connect(sio_client)
    wait_until(lambda: len(watcher.seen) >= samples, f"{samples} /cpu samples of {host}", 20)
    return web, watcher


def test_an_agent_streams_to_a_web_process(server_factory, redis_server, sio_client, wait_until):
    redis = redis_server()
    web, watcher = one_host_watched(server_factory, sio_client, wait_until, redis.url, samples=8)
    seqs = [seq for _ts, seq in watcher.seen if seq >= 0]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # the agent's own count
    health = web.get_json("/healthz")
    assert health["queue"]["state"] == "ok" and health["queue"]["url"] == redis.url
    [host] = web.get_json("/api/hosts")
    assert host["host"] == "alpha" and not host["stale"] and "cpu" in host["collectors"]
    metrics = urllib_text(web.url + "/metrics")
    assert 'dashboard_cpu_total{host="alpha"}' in metrics


def urllib_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


def test_two_agents_two_web_processes_redis_and_a_web_process_killed(
    server_factory, redis_server, sio_client, wait_until
):
    """The scenario: lost, duplicated or out-of-order samples, per client, across a 10 s
    Redis outage and a web process killed and started again."""
    redis = redis_server()
    agents = {
        host: server_factory(agent_settings(redis.url, host), command="agent", name=host)
        for host in ("alpha", "beta")
    }
    webs = [server_factory(web_settings(redis.url, f"web{i}"), name=f"web{i}") for i in (1, 2)]
    for web in webs:
        wait_until(lambda web=web: hosts_of(web) == set(agents), "both hosts on a web", 30)
    watchers = [Watcher(web, host) for web in webs for host in agents]
    for watcher in watchers:
        watcher.connect(sio_client)
    began = time.time()
    wait_until(lambda: all(len(w.seen) >= 8 for w in watchers), "every client streaming", 20)

    # 1. Redis away for 10 s, then back (empty: nothing was saved).
    redis.stop(signal.SIGKILL)
    time.sleep(10)  # the outage itself is what is being tested
    redis.start()
    back = time.time()
    wait_until(lambda: all(w.newest > back for w in watchers), "delivery resumed", 30)

    # 2. One web process killed, then started again; its clients reconnect with `since`.
    webs[1].stop(signal.SIGKILL)
    time.sleep(3)  # samples keep coming while it is down: it must catch up on them
    webs[1].start()
    wait_until(lambda: hosts_of(webs[1]) == set(agents), "the restarted web knows both", 30)
    for watcher in watchers[2:]:
        watcher.connect(sio_client)
    restarted = time.time()
    wait_until(lambda: all(w.newest > restarted + 3 for w in watchers), "everyone live", 30)
    ended = min(w.newest for w in watchers)

    for agent in agents.values():
        assert agent.stop() == 0
    for watcher in watchers:
        assert_gap_free(watcher, agents[watcher.host], began, ended)
    for web in webs:
        assert "Traceback" not in web.output()


def test_a_second_agent_claiming_a_host_name_is_refused_naming_both(server_factory, redis_server):
    redis = redis_server()
    server_factory(agent_settings(redis.url, "alpha"), command="agent", name="first")
    twin = server_factory(
        agent_settings(redis.url, "alpha").replace("alpha.sqlite3", "twin.sqlite3"),
        command="agent",
        name="twin",
    )
    assert twin.proc.wait(20) == 78
    lines = [line for line in twin.output().splitlines() if "already reported by" in line]
    assert len(lines) == 1 and "host name 'alpha' is already reported by the agent on" in lines[0]
    assert lines[0].count("pid") == 2 and "give each agent its own [agent] host" in lines[0]


def test_redis_down_at_start_then_up(server_factory, redis_server, wait_until, tmp_path):
    redis = redis_server()
    redis.stop(signal.SIGKILL)  # its port is known, nobody listens
    agent = server_factory(agent_settings(redis.url, "alpha"), command="agent", name="alpha")
    web = server_factory(web_settings(redis.url, "web"), name="web")
    health = wait_until(
        lambda: (h := web.get_json("/healthz"))["queue"]["state"] == "down" and h, "queue down"
    )
    assert health["status"] == "degraded" and "cannot be reached" in health["queue"]["error"]
    time.sleep(3)  # the agent collects into its file meanwhile
    redis.start()
    wait_until(lambda: hosts_of(web) == {"alpha"}, "the web process to find alpha", 30)
    since = time.time() - 3
    wait_until(lambda: web.get_json("/healthz")["queue"]["state"] == "ok", "queue ok")

    def backfilled() -> bool:
        ts = web.get_json("/api/history/cpu?host=alpha&seconds=60")["ts"]
        return bool(ts) and ts[0] < since  # what the agent kept while Redis was down

    wait_until(backfilled, "the outage backfilled from the agent's file", 20)
    assert agent.stop() == 0


def test_a_wrong_password_is_one_clear_line_and_never_shows(
    server_factory, redis_server, run_cli, wait_until, tmp_path
):
    redis = redis_server(password="right-horse-battery")
    wrong = redis.url.replace("right-horse-battery", "wrong-horse-battery")
    check = run_cli("check", config=web_settings(wrong, "checked"))
    assert check.returncode == 78, check.stdout + check.stderr
    assert "refused the credentials" in check.stderr and "wrong-horse" not in check.stderr
    agent = server_factory(agent_settings(wrong, "alpha"), command="agent", name="alpha")
    web = server_factory(web_settings(wrong, "web"), name="web")
    health = wait_until(
        lambda: (h := web.get_json("/healthz"))["queue"]["state"] == "auth" and h, "auth refused"
    )
    assert "wrong-horse" not in str(health) and "***" in health["queue"]["url"]
    for process in (agent, web):
        wait_until(lambda p=process: "refused the credentials" in p.output(), "the warning")
        assert "wrong-horse" not in process.output()
        assert process.output().count("refused the credentials") == 1  # retried, said once
    assert agent.proc.poll() is None and web.proc.poll() is None  # both keep retrying


def test_rediss_is_tls_and_an_untrusted_certificate_is_one_clear_line(
    server_factory, redis_server, sio_client, run_cli, wait_until
):
    """A TLS-only Redis: ``rediss://`` (its CA named by ``?ssl_ca_certs=``) carries the
    stream; without that CA the certificate is not trusted, and ``check`` says so."""
    redis = redis_server(password="tls-horse-battery", tls=True)
    assert redis.url.startswith("rediss://")
    check = run_cli("check", config=web_settings(redis.url, "checked"))
    assert check.returncode == 0, check.stdout + check.stderr
    one_host_watched(server_factory, sio_client, wait_until, redis.url)  # over TLS

    untrusted = redis.url.split("?")[0]  # the system's CAs only: ours is not among them
    check = run_cli("check", config=web_settings(untrusted, "untrusted"))
    assert check.returncode == 78, check.stdout + check.stderr  # configuration, like auth
    assert "does not trust" in check.stderr and "ssl_ca_certs" in check.stderr, check.stderr
    assert "tls-horse" not in check.stdout + check.stderr
    plain = untrusted.replace("rediss://", "redis://")  # TLS port, no TLS: never answers right
    check = run_cli("check", config=web_settings(plain, "plain"))
    assert check.returncode == 1 and "cannot be reached" in check.stderr, check.stderr


def test_hostile_entries_are_dropped_counted_and_never_run(
    server_factory, redis_server, sio_client, wait_until
):
    redis = redis_server()
    server_factory(agent_settings(redis.url, "alpha"), command="agent", name="alpha")
    web = server_factory(web_settings(redis.url, "web"), name="web")
    wait_until(lambda: hosts_of(web) == {"alpha"}, "alpha known", 20)
    client = redis.client()
    stream = "dashboard:alpha:samples"
    pickle_bomb = b"cos\nsystem\n(S'touch /tmp/pwned-by-dashboard-test'\ntR."
    hostile = [
        pickle_bomb,
        b"{not json",
        b'{"c": "cpu", "q": 1, "t": 1, "v": {"cpu.total": "NaN"}}',
        b'{"c": "cpu", "q": 1, "t": 1e300, "v": {}}',
        b'{"c": "../../etc", "q": 1, "t": 1, "v": {}}',
        b'{"c": "cpu", "q": 1, "v": {"cpu.unknown": 1}}',
        b"[" * 100_000 + b"]" * 100_000,
        b"x" * 300_000,
    ]
    for body in hostile:
        client.xadd(stream, {"d": body})
    client.sadd("dashboard:hosts", "evil host name")
    wait_until(lambda: web.get_json("/healthz")["queue"]["dropped"] >= len(hostile), "dropped")
    assert not Path("/tmp/pwned-by-dashboard-test").exists()
    watcher = Watcher(web, "alpha")
    watcher.connect(sio_client)
    before = len(watcher.seen)
    wait_until(lambda: len(watcher.seen) >= before + 3, "alpha still streaming", 20)
    assert web.output().count("dropped an entry from host 'alpha'") == 1  # once a minute
    assert "Traceback" not in web.output()


SCALE_OUT = Path(__file__).resolve().parent.parent / "docs" / "scale-out.md"


def docs_acl(user: str) -> list[str]:
    """The ACL rules docs/scale-out.md gives ``user``, from its ``redis-cli ACL SETUSER``
    line: the tests use the documented rules, so the page cannot drift from what works."""
    for line in SCALE_OUT.read_text().replace("\\\n", " ").splitlines():
        if "redis-cli ACL SETUSER" in line:
            words = shlex.split(line)
            if words[:5] == ["sudo", "redis-cli", "ACL", "SETUSER", user]:
                return words[5:]
    raise AssertionError(f"docs/scale-out.md sets up no ACL user {user!r}")


def docs_block(language: str) -> str:
    """The one fenced ``language`` block of docs/scale-out.md."""
    [block] = re.findall(rf"```{language}\n(.*?)```", SCALE_OUT.read_text(), re.S)
    return block


def add_user(redis, name: str, rules: list[str]) -> None:
    redis.client().execute_command("ACL", "SETUSER", name, *rules)


def test_acl_users_per_agent_as_docs_scale_out_sets_them_up(
    server_factory, redis_server, sio_client, wait_until, tmp_path
):
    """docs/scale-out.md's ACL rules are enough, and no more: an agent may write only its
    own host's keys; the web user only reads. The password comes from a password_file."""
    redis = redis_server()
    # The documented agent-db-1, renamed for this host; the documented web user as is.
    add_user(
        redis, "agent-alpha", [rule.replace("db-1", "alpha") for rule in docs_acl("agent-db-1")]
    )
    add_user(redis, "web", docs_acl("web"))
    base = f"redis://agent-alpha:alpha-secret@127.0.0.1:{redis.port}/0"
    server_factory(agent_settings(base, "alpha"), command="agent", name="alpha")
    (tmp_path / "web.pass").write_text("web-secret\n")
    web_url = f"redis://web@127.0.0.1:{redis.port}/0"
    web = server_factory(
        web_settings(web_url, "web").replace("[queue]\n", '[queue]\npassword_file = "web.pass"\n'),
        name="web",
    )
    wait_until(lambda: hosts_of(web) == {"alpha"}, "alpha through the ACL users", 30)
    watcher = Watcher(web, "alpha")
    watcher.connect(sio_client)
    wait_until(lambda: len(watcher.seen) >= 8, "alpha's samples", 20)
    # agent-alpha cannot pose as beta: its user may not touch beta's keys.
    impostor = server_factory(agent_settings(base, "beta"), command="agent", name="beta")
    wait_until(lambda: "does not allow this user" in impostor.output(), "NOPERM named", 20)
    assert "alpha-secret" not in impostor.output() and "web-secret" not in web.output()
    assert "beta" not in hosts_of(web)


def test_two_web_processes_behind_nginx_as_docs_scale_out_sets_it_up(
    server_factory, redis_server, nginx_server, sio_client, wait_until
):
    """docs/scale-out.md's nginx block as written (plain HTTP on a free port instead of 443
    with certificates): a websocket client streams through it; the web process it reached is
    killed; it reconnects through nginx, lands on the other one, asks for what it missed,
    and has lost nothing."""
    redis = redis_server()
    agent = server_factory(agent_settings(redis.url, "alpha"), command="agent", name="alpha")
    # The documented origin, https://dash.example, is here the proxy's own address.
    port = free_port()
    origin = f'allowed_origins = ["http://127.0.0.1:{port}"]'
    webs = [
        server_factory(
            web_settings(redis.url, name).replace("[server]\n", f"[server]\n{origin}\n"),
            name=name,
        )
        for name in ("web1", "web2")
    ]
    for web in webs:
        wait_until(lambda web=web: hosts_of(web) == {"alpha"}, "alpha on both webs", 30)
    conf = docs_block("nginx")
    for documented, here in (
        ("listen 443 ssl;", f"listen 127.0.0.1:{port};"),
        ("127.0.0.1:5001", f"127.0.0.1:{webs[0].port}"),
        ("127.0.0.1:5002", f"127.0.0.1:{webs[1].port}"),
    ):
        assert documented in conf, documented
        conf = conf.replace(documented, here)
    proxy = nginx_server(conf, port)

    watcher = Watcher(webs[0], "alpha", via=proxy.url)
    watcher.connect(sio_client)  # websocket only: it works through nginx's Upgrade headers
    began = time.time()
    wait_until(lambda: len(watcher.seen) >= 5, "alpha through nginx", 20)
    [reached] = [web for web in webs if web.get_json("/healthz")["clients"] > 0]
    reached.stop(signal.SIGKILL)
    wait_until(lambda: not watcher.sio.connected, "the client to see its server go", 20)
    time.sleep(2)  # samples keep coming while it is away: it must ask for them
    watcher.connect(sio_client)
    [other] = [web for web in webs if web is not reached]
    assert other.get_json("/healthz")["clients"] > 0  # nginx moved it to the one still up
    again = time.time()
    wait_until(lambda: watcher.newest > again + 3, "live again through nginx", 20)
    ended = watcher.newest
    assert agent.stop() == 0
    assert_gap_free(watcher, agent, began, ended)
    assert "Traceback" not in other.output()


def test_a_web_process_restarted_while_redis_is_down_serves_what_it_has(
    server_factory, redis_server, sio_client, wait_until
):
    redis = redis_server()
    server_factory(agent_settings(redis.url, "alpha"), command="agent", name="alpha")
    web = server_factory(web_settings(redis.url, "web"), name="web")
    wait_until(lambda: hosts_of(web) == {"alpha"}, "alpha known", 20)
    export = "/api/history/cpu?host=alpha&seconds=60"
    wait_until(lambda: len(web.get_json(export)["ts"]) >= 3, "three samples of alpha", 20)
    held = time.time()
    wait_until(
        lambda: (web.get_json("/healthz")["history"]["last_flush"] or 0) > held,
        "those samples written to web's file",
        10,
    )
    assert web.stop() == 0
    redis.stop(signal.SIGKILL)
    web.start()
    [host] = web.get_json("/api/hosts")
    assert host["host"] == "alpha" and "cpu" in host["collectors"]
    assert web.get_json("/healthz")["queue"]["state"] in ("starting", "down")
    # Its history comes from the file (a minute of it: the restart itself takes seconds).
    watcher = Watcher(web, "alpha", history=60)
    watcher.connect(sio_client)
    assert len(watcher.seen) >= 3
    exported = web.get_json(export)
    assert exported["host"] == "alpha" and len(exported["ts"]) >= 3


def test_two_web_processes_share_a_port_with_reuse_port(server_factory, redis_server):
    redis = redis_server()
    settings = web_settings(redis.url, "w").replace("[server]\n", "[server]\nreuse_port = true\n")
    first = server_factory(settings, name="w1")
    second = server_factory(settings, name="w2", port=first.port)  # would exit 78 without it
    assert second.get_json("/healthz")["queue"]["state"] in ("ok", "starting")
    assert first.proc.poll() is None and second.proc.poll() is None


def test_an_agent_named_like_the_web_process_machine_is_served(
    server_factory, redis_server, sio_client, wait_until
):
    """A web process collects nothing under scale-out: an agent on its own machine, with the
    machine's name, is a host like any other (not "this machine's collector, stopped")."""
    from collectors.probe import hostname

    redis = redis_server()
    one_host_watched(server_factory, sio_client, wait_until, redis.url, host=hostname())


def test_a_host_named_alerts_is_refused_on_the_wire():
    """Its keys would be the web processes' shared alerting keys (dashboard:alerts:*)."""
    with pytest.raises(wire.WireError, match="'alerts': reserved"):
        wire.check_host("alerts")
    assert wire.check_host("alerts-1") == "alerts-1"
