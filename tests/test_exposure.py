"""The issue's "done when": bound to a non-loopback address, with TLS and a token, nothing is
reachable without the token, and everything is with it.

The address is on a veth pair inside a network namespace this test makes (198.51.100.7,
TEST-NET-2): a real non-loopback interface, and no traffic leaves the namespace. The server
and the walk (tests/exposure_walk.py) both run inside it. Needs root and iproute2; skipped,
saying why, where a namespace cannot be made.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.exposure_walk import REQUESTS
from tests.serverproc import ROOT, free_port
from tests.tlsserver import Certificates

ADDRESS = "198.51.100.7"
TOKEN = "exposure-test-token-0123456789abcdef"
PUBLIC = {"/login", "/static/css/dashboard.css"}  # the sign-in form and its stylesheet
# Signing in and out: forms, public by design, checked with the session's CSRF token (the
# auth tests), not part of the walk.
SIGN_IN_OUT = {("POST", "/login"), ("POST", "/logout")}


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace with loopback up and ``ADDRESS`` on a veth interface."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2's ip is missing: no network namespace for a non-loopback address")
    if os.geteuid() != 0:
        pytest.skip("making a network namespace needs root (a non-loopback address of its own)")
    name = f"dashboard-exposure-{os.getpid()}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"cannot make a network namespace: {made.stderr.strip()}")
    try:
        setup = (
            "ip link set lo up && ip link add v0 type veth peer name v1 && "
            f"ip addr add {ADDRESS}/24 dev v0 && ip link set v0 up && ip link set v1 up"
        )
        up = _ip("netns", "exec", name, "sh", "-c", setup)
        if up.returncode != 0:
            pytest.skip(f"cannot give the namespace an interface: {up.stderr.strip()}")
        yield name
    finally:
        _ip("netns", "del", name)


@pytest.mark.server
def test_exposed_with_tls_and_a_token_nothing_is_reachable_without_the_token(tmp_path, netns):
    certs = Certificates.make(tmp_path / "tls", ADDRESS)
    port = free_port()  # any port is free in the new namespace
    url = f"https://{ADDRESS}:{port}"
    config = tmp_path / "exposed.toml"
    config.write_text(
        f'[server]\nhost = "{ADDRESS}"\nasync_mode = "eventlet"\nallowed_origins = ["{url}"]\n'
        f'{certs.settings()}[auth]\ntoken = "{TOKEN}"\n[history]\npath = ""\n'
    )
    log = tmp_path / "exposed.log"
    in_ns = ["ip", "netns", "exec", netns]  # exec()s: the PID is the dashboard's own
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*in_ns, sys.executable, "-m", "dashboard", "run", "--config", str(config),
             "--port", str(port)],
            cwd=ROOT, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        walked = subprocess.run(
            [*in_ns, sys.executable, "-m", "tests.exposure_walk", url, str(certs.ca), TOKEN],
            cwd=ROOT, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert walked.returncode == 0, walked.stderr + log.read_text()
        report = json.loads(walked.stdout)
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(20) == 0, log.read_text()
    output = log.read_text()
    assert f"serving https://{ADDRESS}:{port}/" in output and TOKEN not in output
    _check_http(report["http"])
    _check_sockets(report["namespaces"], report["sockets"])


def _check_http(http: dict) -> None:
    for path, got in http["anonymous"].items():
        if path in PUBLIC:
            assert got["status"] == 200, (path, got)
        elif path == "/healthz":  # public, but the status alone (hosts, paths, errors: no)
            assert got["status"] == 200 and got["json_keys"] == ["status"], got
        elif path.startswith("/api/"):
            assert got["status"] == 401, (path, got)
        else:  # asked for as a browser asks (Accept: text/html): sent to the sign-in form
            assert got["status"] == 302 and got["location"].endswith("/login"), (path, got)
    for path, got in http["bearer"].items():
        expected = 404 if path == "/api/nonexistent" else 200
        assert got["status"] == expected, (path, got)
    assert "collectors" in http["bearer"]["/healthz"]["json_keys"]
    assert http["wrong host"]["status"] == 400
    changes = http["changes"]
    for method, got in changes["anonymous"].items():
        assert got == {"status": 401, "json": {"error": "authentication required"}}, method
    assert changes["kept"] == ["the exposure walk"], "the refused DELETE ended nothing"
    made, ended, again = (changes["bearer"][m] for m in ("POST", "DELETE", "DELETE again"))
    assert (made["status"], ended["status"], again["status"]) == (201, 200, 404), changes


def _check_sockets(namespaces: list[str], sockets: dict) -> None:
    assert {"/cpu", "/memory", "/processes", "/fleet", "/alerts"} <= set(namespaces)
    assert sockets["anonymous"] == dict.fromkeys(namespaces, False)
    assert sockets["token"] == dict.fromkeys(namespaces, True)
    assert not any(sockets["wrong token"].values())
    asked = sockets["requests"]
    assert set(asked) == {f"{ns} {event}" for ns, event, _payload in REQUESTS}
    assert all(answer["ok"] is True for answer in asked.values()), asked


def test_the_walk_covers_every_http_route():
    """A route added later must be walked too (or be listed here as public)."""
    from dashboard import create_app
    from tests.exposure_walk import CHANGES, PATHS

    app = create_app({"server": {"async_mode": "threading"}, "history": {"path": ""}})
    walked = {path.split("?")[0] for path in PATHS}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in {"static"}:
            continue
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        if "GET" in methods:
            concrete = rule.rule.replace("<name>", "cpu")
            assert concrete in walked, f"{rule.rule} is not in tests/exposure_walk.py PATHS"
        for method in sorted(methods - {"GET"}):
            assert (method, rule.rule) in {*CHANGES, *SIGN_IN_OUT}, (
                f"{method} {rule.rule} is not in tests/exposure_walk.py CHANGES"
            )
