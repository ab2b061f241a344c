"""HTTPS and WSS from the server itself ([server] tls_cert / tls_key), with a throwaway CA:
every async mode serves verified HTTPS and streams over wss, the session cookie is Secure,
a client that stalls its handshake holds up no one, and bad files exit 78 naming the path."""

from __future__ import annotations

import queue
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from dashboard.settings import ServerSettings, SettingsError, parse_settings
from dashboard.web.origins import allowed_origins
from tests.logins import Browser
from tests.serverproc import ROOT, free_port, stop_all
from tests.tlsserver import Certificates, TLSServer, close, make_tls_server, wss_client

TOKEN = "tls-test-token-0123456789abcdef"
MODES = ["eventlet", "gevent", "threading"]


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return Certificates.make(tmp_path / "tls")


@pytest.fixture
def tls_server(tmp_path: Path, certs: Certificates) -> Iterator[Callable[..., TLSServer]]:
    """``tls_server(settings="", async_mode="eventlet")``: started; stopped (by PID) after."""
    made: list[TLSServer] = []

    def start(settings: str = "", async_mode: str = "eventlet") -> TLSServer:
        server = make_tls_server(tmp_path, certs, settings, async_mode, f"tls{len(made)}")
        made.append(server)
        return server.start()  # type: ignore[return-value]

    yield start
    stop_all(made)


@pytest.fixture
def clients() -> Iterator[list[socketio.Client]]:
    made: list[socketio.Client] = []
    yield made
    for client in made:
        close(client)


def https(url: str, certs: Certificates, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=certs.context()) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --- settings -----------------------------------------------------------------------------


def test_tls_paths_are_relative_to_the_settings_file_and_bare_names_credentials(
    tmp_path, monkeypatch
):
    made = Certificates.make(tmp_path / "conf" / "tls")
    settings = parse_settings(
        {"server": {"tls_cert": "tls/cert.pem", "tls_key": "tls/key.pem"}},
        base_dir=tmp_path / "conf",
    )
    assert settings.server.tls and settings.server.scheme == "https"
    assert (settings.server.tls_cert, settings.server.tls_key) == (made.cert, made.key)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(made.cert.parent))
    loaded = parse_settings({"server": {"tls_cert": "cert.pem", "tls_key": "key.pem"}})
    assert loaded.server.tls_key == made.key


def test_with_tls_the_loopback_origins_are_https():
    plain = allowed_origins(ServerSettings(port=5000))
    assert "http://127.0.0.1:5000" in plain and not any("https" in o for o in plain)
    tls = allowed_origins(ServerSettings(port=5000, tls_cert=Path("c"), tls_key=Path("k")))
    assert tls == ["https://127.0.0.1:5000", "https://localhost:5000", "https://[::1]:5000"]


def test_a_non_loopback_bind_with_tls_a_token_and_origins_is_accepted(certs):
    settings = parse_settings(
        {
            "server": {
                "host": "0.0.0.0",
                "tls_cert": str(certs.cert),
                "tls_key": str(certs.key),
                "allowed_origins": ["https://dash.example:5000"],
            },
            "auth": {"token": TOKEN},
        }
    )
    assert settings.server.tls and not settings.server.is_loopback
    with pytest.raises(SettingsError, match=r'e\.g\. \["https://dashboard\.example:5000"\]'):
        parse_settings(
            {"server": {"host": "0.0.0.0", "tls_cert": str(certs.cert), "tls_key": str(certs.key)},
             "auth": {"token": TOKEN}}
        )  # fmt: skip


def _encrypted_key(certs: Certificates) -> Path:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(certs.key.read_bytes(), password=None)
    path = certs.key.with_name("encrypted.pem")
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    return path


def _bad_pairs(certs: Certificates, tmp_path: Path) -> dict[str, tuple[str, str, str, str]]:
    """case -> (tls_cert, tls_key, the key the error names, what it says)."""
    other = Certificates.make(tmp_path / "other")
    junk = tmp_path / "junk.pem"
    junk.write_text("this is not PEM\n")
    missing = tmp_path / "missing.pem"
    cert, key = str(certs.cert), str(certs.key)
    return {
        "missing cert": (str(missing), key, "tls_cert", f"{missing}: no such file"),
        "missing key": (cert, str(missing), "tls_key", f"{missing}: no such file"),
        "cert not PEM": (str(junk), key, "tls_cert", f"{junk} is not a PEM certificate"),
        "key not PEM": (cert, str(junk), "tls_key", f"{junk} is not a PEM private key"),
        "cert as key": (cert, cert, "tls_key", "is not a PEM private key"),
        "mismatched": (cert, str(other.key), "tls_key", f"{other.key} is not the key of the "
                       f"certificate {cert}"),
        "encrypted key": (cert, str(_encrypted_key(certs)), "tls_key", "is encrypted"),
        "folder": (str(tmp_path), key, "tls_cert", f"{tmp_path}: not a regular file"),
        "cert only": (cert, "", "tls_key", "missing; tls_cert is set"),
        "key only": ("", key, "tls_cert", "missing; tls_key is set"),
    }  # fmt: skip


CASES = ["missing cert", "missing key", "cert not PEM", "key not PEM", "cert as key",
         "mismatched", "encrypted key", "folder", "cert only", "key only"]  # fmt: skip


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("case", CASES)
def test_a_bad_certificate_or_key_exits_78_naming_the_path(run_cli, tmp_path, certs, case, command):
    cert, key, named, reason = _bad_pairs(certs, tmp_path)[case]
    lines = [f'tls_cert = "{cert}"'] * bool(cert) + [f'tls_key = "{key}"'] * bool(key)
    started = time.monotonic()
    result = run_cli(command, config="[server]\n" + "\n".join(lines) + "\n", timeout=20)
    elapsed = time.monotonic() - started
    assert result.returncode == 78, result.stdout + result.stderr
    out = result.stderr.strip().splitlines()
    assert len(out) == 1 and f"[server] {named}" in out[0] and reason in out[0], out
    assert "Traceback" not in result.stderr
    assert elapsed < 5  # the whole command, Python's start included (the check is ~ms)


# --- real servers -------------------------------------------------------------------------


@pytest.mark.server
@pytest.mark.parametrize("mode", MODES)
def test_https_and_wss_stream_and_the_session_cookie_is_secure(tls_server, certs, clients, mode):
    server = tls_server(f'[auth]\ntoken = "{TOKEN}"\n', async_mode=mode)
    status, body = https(server.url + "/healthz", certs)
    assert status == 200 and b'"status"' in body
    browser = Browser(server.url, context=certs.context())
    assert browser.login(TOKEN).status == 302
    cookie = browser.set_cookie[-1]  # the login session's
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= attributes and "SameSite=Strict" in cookie
    assert all("Secure" in line for line in browser.set_cookie)
    assert browser.request("GET", "/api/collectors").status == 200
    sio = wss_client(server.url, certs, ["/cpu"], headers={"Cookie": browser.cookie_header()})
    clients.append(sio)
    inbox: queue.Queue = queue.Queue()
    sio.on("sample", inbox.put, namespace="/cpu")
    assert sio.transport() == "websocket"
    assert sio.call("subscribe", {}, namespace="/cpu", timeout=10)["ok"] is True
    first, second = inbox.get(timeout=10), inbox.get(timeout=10)
    assert first["collector"] == "cpu" and second["seq"] == first["seq"] + 1
    assert f"serving https://127.0.0.1:{server.port}/" in server.output()


@pytest.mark.server
def test_clients_verify_the_certificate_against_its_ca(tls_server, tmp_path):
    server = tls_server()
    stranger = Certificates.make(tmp_path / "stranger")
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        https(server.url + "/healthz", stranger)
    with pytest.raises(ssl.SSLError), socket.create_connection(("127.0.0.1", server.port)) as raw:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).wrap_socket(raw, server_hostname="127.0.0.1")


@pytest.mark.server
@pytest.mark.parametrize("mode", MODES)
def test_clients_that_stall_their_handshake_hold_up_no_one(tls_server, certs, mode):
    server = tls_server(async_mode=mode)
    stalled = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    try:
        stalled[0].sendall(b"\x16\x03\x01\x02\x00")  # half a ClientHello, then silence
        started = time.monotonic()
        status, _ = https(server.url + "/healthz", certs)
        assert status == 200
        assert time.monotonic() - started < 5  # Werkzeug's own TLS would wait forever
    finally:
        for sock in stalled:
            sock.close()


def test_every_async_mode_can_serve_tls(certs):
    """No mode is refused: each one's TLS options are built (what `run` passes on)."""
    from dashboard.service.server import _tls_options

    for mode in MODES:
        server = ServerSettings(async_mode=mode, tls_cert=certs.cert, tls_key=certs.key)
        options: dict[str, Any] = _tls_options(server)
        assert options, mode
    assert _tls_options(ServerSettings()) == {}


@pytest.mark.server
def test_behind_nginx_as_docs_security_sets_it_up(
    server_factory, nginx_server, certs, clients, tmp_path
):
    """docs/security.md's nginx block as written (a free port, the throwaway CA's files):
    TLS at the proxy, the dashboard on loopback with a token; a login through it gets a
    Secure cookie, and a websocket streams through it."""
    [block] = re.findall(r"```nginx\n(.*?)```", (ROOT / "docs" / "security.md").read_text(), re.S)
    port = free_port()
    dashboard = server_factory(
        f'[server]\nasync_mode = "eventlet"\nallowed_origins = ["https://127.0.0.1:{port}"]\n'
        f'[auth]\ntoken = "{TOKEN}"\n'
    )
    for documented, here in (
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/dashboard/tls.crt", str(certs.cert)),
        ("/etc/dashboard/tls.key", str(certs.key)),
        ("http://127.0.0.1:5000", f"http://127.0.0.1:{dashboard.port}"),
    ):
        assert documented in block, documented
        block = block.replace(documented, here)
    proxy = nginx_server(block, port)
    url = f"https://127.0.0.1:{proxy.port}"
    browser = Browser(url, context=certs.context())
    assert browser.login(TOKEN).status == 302
    assert "Secure" in browser.set_cookie[-1] and "HttpOnly" in browser.set_cookie[-1]
    direct = Browser(dashboard.url)
    assert direct.login(TOKEN).status == 302 and "Secure" not in direct.set_cookie[-1]
    sio = wss_client(url, certs, ["/cpu"], headers={"Cookie": browser.cookie_header()})
    clients.append(sio)
    inbox: queue.Queue = queue.Queue()
    sio.on("sample", inbox.put, namespace="/cpu")
    assert sio.call("subscribe", {}, namespace="/cpu", timeout=10)["ok"] is True
    assert inbox.get(timeout=10)["collector"] == "cpu"
