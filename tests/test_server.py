"""The real server process over a real websocket, under every async mode."""

from __future__ import annotations

import gc
import json
import queue
import socket
import time
import urllib.error
import urllib.request
import warnings

import pytest
import socketio
import websocket

from tests.logins import Browser
from tests.serverproc import free_port

pytestmark = pytest.mark.server
MODES = ["eventlet", "gevent", "threading"]


def refused(sio_client, url: str, namespaces: list[str], **kwargs) -> None:
    """Assert the server refuses this connection.

    websocket-client leaves the socket of a refused handshake for the garbage collector;
    collect it here so its ResourceWarning cannot surface in a later test.
    """
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio_client(url, namespaces, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def collect(sio: socketio.Client, namespace: str, event: str = "sample") -> queue.Queue:
    inbox: queue.Queue = queue.Queue()
    sio.on(event, lambda data: inbox.put((time.time(), data)), namespace=namespace)
    return inbox


def http(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize("mode", MODES)
def test_stream_filter_and_bad_input_end_to_end(server_factory, mode, sio_client):
    server = server_factory(async_mode=mode)
    sio = sio_client(server.url, ["/cpu", "/processes"])
    try:
        cpu = collect(sio, "/cpu")
        procs = collect(sio, "/processes")
        ack = sio.call("subscribe", {"series": ["cpu.total", "cpu.user"]}, namespace="/cpu")
        assert ack["ok"] is True and ack["collector"] == "cpu"
        assert [s["unit"] for s in ack["series"]] == ["%", "%"]
        first_arrival, first = cpu.get(timeout=10)
        _, second = cpu.get(timeout=10)
        assert second["seq"] == first["seq"] + 1
        assert set(first["values"]) == {"cpu.total", "cpu.user"}
        assert all(v is None or 0 <= v <= 100 for v in first["values"].values())
        assert 0 <= first_arrival - first["ts"] < 2.0

        me = str(server.proc.pid)
        flt = sio.call(
            "filter", {"match": me, "sort": "memory", "limit": 5}, namespace="/processes"
        )
        assert flt == {"ok": True, "filter": {"match": me, "sort": "memory", "limit": 5}}
        assert sio.call("subscribe", {}, namespace="/processes")["ok"] is True
        _, sample = procs.get(timeout=10)
        assert sample["rows"] and all(me in str(row["pid"]) for row in sample["rows"])

        bad = sio.call("subscribe", {"series": "cpu.total"}, namespace="/cpu")
        assert bad["ok"] is False and "series" in bad["error"]
        _, after = cpu.get(timeout=10)  # still connected, still subscribed
        assert after["seq"] > second["seq"]

        assert sio.call("unsubscribe", namespace="/cpu") == {"ok": True}
    finally:
        sio.disconnect()
    health = server.get_json("/healthz")
    assert health["status"] == "ok"
    assert server.stop() == 0


def test_http_endpoints(server_factory, wait_until):
    server = server_factory()
    status, body = http(server.url + "/")
    assert status == 200 and b"/vendor/plotly.min.js" in body
    assert http(server.url + "/vendor/plotly.min.js")[0] == 200
    status, body = http(server.url + "/vendor/socket.io.min.js")
    assert status == 200 and b"io" in body
    listing = server.get_json("/api/collectors")
    names = [c["name"] for c in listing["collectors"]]
    assert names == [
        "cpu",
        "memory",
        "load",
        "disk",
        "filesystem",
        "network",
        "processes",
        "cgroups",
        "sensors",
    ]
    assert all(s["unit"] for c in listing["collectors"] for s in c["series"])
    history = wait_until(
        lambda: (h := server.get_json("/api/history/memory?seconds=60"))["ts"] and h,
        "a memory sample in /api/history",
    )
    assert len(history["values"]["memory.used_percent"]) == len(history["ts"])
    assert http(server.url + "/api/history/nope")[0] == 404
    assert http(server.url + "/api/history/cpu?seconds=abc")[0] == 400
    assert http(server.url + "/api/history/cpu?seconds=-1")[0] == 400


def test_dns_rebinding_and_cross_origin_are_refused(server_factory):
    server = server_factory()
    evil = {"Host": f"evil.example:{server.port}"}
    handshake = server.url + "/socket.io/?EIO=4&transport=polling"
    assert http(server.url + "/", evil)[0] == 400
    assert http(handshake, evil)[0] == 400
    assert http(server.url + "/", {"X-Forwarded-Host": "evil.example"})[0] == 200
    for origin in (f"http://evil.example:{server.port}", "null", "http://localhost:1"):
        assert http(handshake, {"Origin": origin})[0] == 400, origin
        assert http(handshake, {"Origin": origin, "X-Forwarded-Host": "evil.example"})[0] == 400
    assert http(handshake, {"Origin": server.url})[0] == 200
    ws_url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(ws_url, origin=f"http://evil.example:{server.port}")
    websocket.create_connection(ws_url, origin=server.url).close()


def test_oversized_message_closes_only_that_connection(server_factory, sio_client, wait_until):
    server = server_factory()
    bystander = sio_client(server.url, ["/cpu"])
    attacker = sio_client(server.url, ["/cpu"])
    try:
        inbox = collect(bystander, "/cpu")
        assert bystander.call("subscribe", {}, namespace="/cpu")["ok"]
        attacker.emit("subscribe", {"series": ["x" * 100_000]}, namespace="/cpu")
        wait_until(lambda: not attacker.connected, "the attacker disconnected")
        inbox.get(timeout=5)
        _, sample = inbox.get(timeout=5)
        assert bystander.connected and sample["collector"] == "cpu"
    finally:
        bystander.disconnect()
        attacker.disconnect()


def test_token_auth_guards_page_api_and_sockets(server_factory, sio_client):
    server = server_factory('[auth]\ntoken = "s3cret-token"\n')
    assert http(server.url + "/api/collectors")[0] == 401
    status, _ = http(server.url + "/", {"Accept": "text/html"})
    assert status == 200  # followed the redirect to the login page
    assert http(server.url + "/api/collectors", {"Authorization": "Bearer s3cret-token"})[0] == 200
    assert http(server.url + "/api/collectors", {"Authorization": "Bearer wrong"})[0] == 401
    assert http(server.url + "/healthz")[0] == 200
    refused(sio_client, server.url, ["/cpu"])
    refused(sio_client, server.url, ["/cpu"], auth={"token": "wrong"})
    sio = sio_client(server.url, ["/cpu"], auth={"token": "s3cret-token"})
    assert sio.call("subscribe", {}, namespace="/cpu")["ok"] is True
    sio.disconnect()


def test_login_is_rate_limited(server_factory):
    server = server_factory('[auth]\ntoken = "s3cret-token"\n')
    browser = Browser(server.url)
    csrf = browser.csrf()  # the form's token, as a browser has it (tests/test_auth.py: CSRF)
    codes = [browser.login("wrong", csrf).status for _ in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]


@pytest.mark.parametrize("mode", MODES)
def test_sigterm_with_a_client_streaming_stops_cleanly_with_exit_0(
    server_factory, mode, sio_client
):
    server = server_factory(async_mode=mode)
    sio = sio_client(server.url, ["/cpu", "/processes"])
    try:
        inbox = collect(sio, "/cpu")
        assert sio.call("subscribe", {}, namespace="/cpu")["ok"]
        assert sio.call("subscribe", {}, namespace="/processes")["ok"]
        inbox.get(timeout=10)
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 5
    finally:
        sio.disconnect()
    log = server.output()
    assert "SIGTERM received: stopping" in log and "stopped" in log
    assert "Traceback" not in log


def test_port_in_use_exits_78_naming_the_port(server_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = server_factory(start=False, port=port)
        server.start(wait=False)
        assert server.proc.wait(10) == 78
    assert f"port {port} on 127.0.0.1 is already in use" in server.output()


BAD_CONFIGS = [
    ("[server\nport = 1", "not valid TOML"),
    ("[server]\nprot = 5000", "[server] prot: unknown key; did you mean 'port'?"),
    ('[server]\nport = "5000"', "[server] port = '5000': expected an integer"),
    ("[collectors.cpu]\ninterval = 0", "[collectors.cpu] interval = 0.0: expected seconds above 0"),
    ("[collectors.cpux]\ninterval = 1", "no collector named 'cpux'; did you mean 'cpu'?"),
    ("[collectors.processes]\nlimt = 5", "[collectors.processes]: unknown option 'limt'"),
    ('[server]\nhost = "0.0.0.0"', "a non-loopback address needs [auth] token"),
    ('[server]\nhost = "not-an-ip"', "expected an IP address to bind"),
    ('[server]\nallowed_origins = ["*"]', "no wildcards"),
    ('[plugins]\npaths = ["/nonexistent/plugins"]', "expected an existing folder"),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS)
@pytest.mark.parametrize("command", ["check", "run"])
def test_configuration_errors_exit_78_with_one_line(run_cli, command, config, message):
    started = time.monotonic()
    extra = ("--port", str(free_port())) if command == "run" else ()
    result = run_cli(command, *extra, config=config, timeout=20)
    assert result.returncode == 78, result.stderr
    assert time.monotonic() - started < 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "settings.toml" in lines[0]
    assert "Traceback" not in result.stderr


def test_check_and_collectors_commands(run_cli):
    result = run_cli("check")
    assert result.returncode == 0 and "ok (9 of 10 collectors enabled)" in result.stdout
    listing = run_cli("collectors", config="[collectors.sensors]\nenabled = false\n")
    assert listing.returncode == 0
    assert "cpu.total  [%]" in listing.stdout and "sensors  every 5 s  disabled" in listing.stdout


def test_bad_usage_exits_2(run_cli):
    assert run_cli("frobnicate").returncode == 2
    assert run_cli("run", "--port", "x").returncode == 2


def test_healthz_shape_and_ok_once_every_collector_ran(server_factory, wait_until):
    server = server_factory()
    health = wait_until(
        lambda: (
            (h := server.get_json("/healthz"))
            and all(c["runs"] for c in h["collectors"].values())
            and h
        ),
        "every collector run once",
        timeout=20,
    )
    assert health["status"] == "ok", health  # default settings on a working machine
    assert {c["state"] for c in health["collectors"].values()} == {"ok"}
    assert health["history"]["state"] == "ok" and health["plugins"] == {"errors": []}
    cpu = health["collectors"]["cpu"]
    assert {"last_run", "last_error", "runs", "failures"} <= set(cpu)
    json.dumps(health)


def test_deeply_nested_json_is_refused_with_an_ack(server_factory, sio_client):
    server = server_factory()
    sio = sio_client(server.url, ["/cpu"])
    try:
        answers: queue.Queue = queue.Queue()
        ack_id = sio._generate_ack_id("/cpu", answers.put)
        deep = "[" * 20_000 + "]" * 20_000  # 40 KB: inside the size limit
        sio.eio.send(f'2/cpu,{ack_id}["subscribe",' + deep + "]")
        assert answers.get(timeout=5) == {
            "ok": False, "error": "malformed message: payload nested too deeply"
        }  # fmt: skip
        assert sio.call("subscribe", {}, namespace="/cpu")["ok"] is True
    finally:
        sio.disconnect()
    assert "RecursionError" not in server.output() and "Traceback" not in server.output()


def test_two_clients_with_different_process_filters_each_see_their_own_rows(
    server_factory, sio_client
):
    server = server_factory()
    mine, other = sio_client(server.url, ["/processes"]), sio_client(server.url, ["/processes"])
    try:
        inboxes = []
        for sio, flt in ((mine, {"match": str(server.proc.pid)}), (other, {"sort": "pid"})):
            inboxes.append(collect(sio, "/processes"))
            assert sio.call("filter", flt, namespace="/processes")["ok"]
            assert sio.call("subscribe", {}, namespace="/processes")["ok"]
        _, own = inboxes[0].get(timeout=10)
        _, everyone = inboxes[1].get(timeout=10)
        own_pids = [row["pid"] for row in own["rows"]]
        assert server.proc.pid in own_pids
        assert all(str(server.proc.pid) in str(pid) for pid in own_pids)
        pids = [row["pid"] for row in everyone["rows"]]
        assert len(pids) == min(25, everyone["values"]["processes.count"])
        assert pids == sorted(pids)
    finally:
        mine.disconnect()
        other.disconnect()
