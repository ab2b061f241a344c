"""Login: [auth] settings and token_file, the throttle, constant-time checks, the session
cookie, CSRF, /healthz without credentials, and a logout that closes the session's sockets
(a real server for that, and for the throttle under a thousand attempts)."""

from __future__ import annotations

import hmac
import os
import pwd
import queue
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import socketio

from dashboard import create_app
from dashboard.settings import SettingsError, load_settings, parse_settings
from dashboard.web import auth as auth_module
from dashboard.web import sessions as sessions_module
from dashboard.web.auth import LOGIN_ATTEMPTS_PER_MINUTE, Throttle
from dashboard.web.sessions import SESSION_LIFETIME, Sessions
from tests.clock import Clock
from tests.logins import CSRF_RE, Browser
from tests.test_server import refused
from tests.toy import Toy

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "s3cret-token-0123456789abcdef"
THREADING = {"async_mode": "threading"}


def guarded_app(tmp_path: Path, **auth: Any) -> Any:
    settings = {
        "server": THREADING,
        "auth": auth or {"token": TOKEN},
        "history": {"path": str(tmp_path / "h.sqlite3")},
    }
    return create_app(settings, collectors=(Toy,))


def csrf_of(client: Any, path: str = "/login") -> str:
    match = CSRF_RE.search(client.get(path, headers={"Accept": "text/html"}).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def logged_in(app: Any) -> Any:
    client = app.test_client()
    answer = client.post("/login", data={"token": TOKEN, "csrf": csrf_of(client)})
    assert answer.status_code == 302, answer.text
    return client


# --- settings -----------------------------------------------------------------------------


def test_an_unknown_auth_key_is_refused_with_a_did_you_mean():
    with pytest.raises(SettingsError) as err:
        parse_settings({"auth": {"tokn": TOKEN}}, source="s.toml")
    assert str(err.value) == (
        "s.toml [auth] tokn: unknown key; did you mean 'token'? (known: token, token_file)"
    )
    assert TOKEN not in str(err.value)


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_typo_in_auth_exits_78_instead_of_running_without_login(run_cli, command):
    result = run_cli(command, config=f'[auth]\ntokn = "{TOKEN}"\n', timeout=20)
    assert result.returncode == 78, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "[auth] tokn: unknown key; did you mean 'token'?" in lines[0]
    assert TOKEN not in result.stdout + result.stderr


def test_token_file_is_read_relative_to_the_settings_file_with_its_newline_cut(tmp_path):
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "secrets").mkdir()
    (folder / "secrets" / "token").write_text(TOKEN + "\n")
    config = folder / "settings.toml"
    config.write_text('[auth]\ntoken_file = "secrets/token"\n')
    settings = load_settings(config)
    assert settings.auth.token == TOKEN
    assert settings.auth.token_file == folder / "secrets" / "token"


def test_a_bare_token_file_name_is_read_from_systemds_credentials_folder(tmp_path, monkeypatch):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "token").write_text(TOKEN + "\r\n")
    (tmp_path / "token").write_text("the-one-beside-the-settings-file\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    settings = parse_settings({"auth": {"token_file": "token"}}, base_dir=tmp_path)
    assert settings.auth.token == TOKEN and settings.auth.token_file == credentials / "token"
    # A path with a folder in it is not a credential name: relative to the settings file.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "token").write_text("beside\n")
    nested = parse_settings({"auth": {"token_file": "sub/token"}}, base_dir=tmp_path)
    assert nested.auth.token == "beside"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    plain = parse_settings({"auth": {"token_file": "token"}}, base_dir=tmp_path)
    assert plain.auth.token == "the-one-beside-the-settings-file"


def test_token_and_token_file_together_are_refused(tmp_path):
    (tmp_path / "token").write_text(TOKEN)
    with pytest.raises(SettingsError, match=r"\[auth\] token: set token or token_file, not both"):
        parse_settings({"auth": {"token": "x", "token_file": "token"}}, base_dir=tmp_path)


BAD_TOKEN_FILES = [
    ("missing", None, "no such file"),
    ("empty", b"\n", "is empty; expected the token"),
    ("blank", b"   \n", "is empty; expected the token"),
    ("folder", "dir", "not a regular file"),
    ("two-lines", TOKEN.encode() + b"\n" + TOKEN.encode() + b"\n", "holds more than one line"),
    ("huge", TOKEN.encode() * 200, "is larger than 4096 bytes"),
    ("binary", b"\xff\xfe" + TOKEN.encode(), "is not UTF-8 text"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_TOKEN_FILES, ids=lambda v: str(v)[:9])
def test_a_bad_token_file_exits_78_naming_the_path_and_the_reason(
    run_cli, tmp_path, name, content, reason
):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    started = time.monotonic()
    result = run_cli("check", config=f'[auth]\ntoken_file = "{name}"\n', timeout=20)
    assert time.monotonic() - started < 5
    assert result.returncode == 78, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"[auth] token_file = '{name}': {path}" in lines[0] and reason in lines[0]
    assert TOKEN not in result.stdout + result.stderr


def test_an_unreadable_token_file_exits_78_saying_permission_denied(run_cli, tmp_path):
    """Root reads every file: under root, the file belongs to nobody and the check runs
    without the capabilities that let root ignore file permissions (setpriv)."""
    secret = tmp_path / "token"
    secret.write_text(TOKEN)
    secret.chmod(0o600 if os.geteuid() == 0 else 0)
    config = tmp_path / "settings.toml"
    config.write_text('[auth]\ntoken_file = "token"\n[history]\npath = ""\n')
    argv = [sys.executable, "-m", "dashboard", "check", "--config", str(config)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is missing: root cannot be denied a read without it")
        os.chown(secret, pwd.getpwnam("nobody").pw_uid, -1)
        caps = "-dac_override,-dac_read_search"
        argv = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", "--", *argv]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 78, result.stdout + result.stderr
    assert f"cannot read {secret}: Permission denied" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_check_says_where_the_token_comes_from_and_never_the_token(run_cli, tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    from_file = run_cli("check", config='[auth]\ntoken_file = "token"\n[history]\npath = ""\n')
    assert from_file.returncode == 0, from_file.stderr
    assert f"auth: token from {tmp_path / 'token'}" in from_file.stdout
    inline = run_cli("check", config=f'[auth]\ntoken = "{TOKEN}"\n[history]\npath = ""\n')
    assert "auth: token set in" in inline.stdout and "tls: off (plain http)" in inline.stdout
    exposed = run_cli(
        "check",
        config='[server]\nhost = "0.0.0.0"\nallowed_origins = ["http://dash.example:5000"]\n'
        '[auth]\ntoken_file = "token"\n[history]\npath = ""\n',
    )
    assert exposed.returncode == 0, exposed.stderr
    assert "tls: off: plain http on a non-loopback address" in exposed.stdout
    for result in (from_file, inline, exposed):
        assert TOKEN not in result.stdout + result.stderr


def test_the_token_never_shows_in_a_repr(tmp_path):
    (tmp_path / "token").write_text(TOKEN)
    settings = parse_settings({"auth": {"token_file": "token"}}, base_dir=tmp_path)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.auth)


# --- the throttle, several addresses ------------------------------------------------------


def test_the_throttle_counts_per_address_and_forgets_after_a_minute():
    clock = Clock()
    throttle = Throttle(clock)
    for _ in range(LOGIN_ATTEMPTS_PER_MINUTE - 1):
        throttle.failed("198.51.100.7")
    assert throttle.wait("198.51.100.7") == 0
    throttle.failed("198.51.100.7")
    assert throttle.wait("198.51.100.7") == pytest.approx(60)
    assert throttle.wait("198.51.100.8") == 0  # other addresses are unaffected
    clock.now += 59.5
    assert throttle.wait("198.51.100.7") == pytest.approx(0.5)
    clock.now += 0.5
    assert throttle.wait("198.51.100.7") == 0


def test_ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4():
    throttle = Throttle(Clock())
    for n in range(LOGIN_ATTEMPTS_PER_MINUTE):
        throttle.failed(f"2001:db8:1:2::{n + 1:x}")  # ten addresses of one machine's /64
    assert throttle.wait("2001:db8:1:2:ffff::1") > 0
    assert throttle.wait("2001:db8:1:3::1") == 0
    for _ in range(LOGIN_ATTEMPTS_PER_MINUTE):
        throttle.failed("::ffff:192.0.2.9")
    assert throttle.wait("192.0.2.9") > 0


def test_the_throttle_holds_bounded_memory_under_an_address_spray(monkeypatch):
    monkeypatch.setattr(auth_module, "MAX_ADDRESSES", 100)
    throttle = Throttle(Clock())
    for _ in range(LOGIN_ATTEMPTS_PER_MINUTE):
        throttle.failed("192.0.2.1")
    for n in range(50):
        throttle.failed(f"10.0.{n // 250}.{n % 250}")
    assert throttle.wait("192.0.2.1") > 0  # still held: only the oldest are forgotten
    for n in range(1000):
        throttle.failed(f"10.1.{n // 250}.{n % 250}")
    assert len(vars(throttle)["_failures"]) == 100
    assert all(len(times) <= LOGIN_ATTEMPTS_PER_MINUTE for times in throttle._failures.values())


def test_a_throttled_address_is_refused_the_right_token_too_and_others_are_not(tmp_path, caplog):
    app = guarded_app(tmp_path)
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    csrf = csrf_of(attacker)
    codes = [
        attacker.post("/login", data={"token": "wrong", "csrf": csrf}).status_code
        for _ in range(12)
    ]
    assert codes == [401] * 10 + [429] * 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "dashboard.web.auth"]
    assert warnings == [
        "10 wrong tokens from 198.51.100.7 within a minute: refusing it every credential "
        "until the oldest is a minute old"
    ]  # once, not once per attempt
    right = attacker.post("/login", data={"token": TOKEN, "csrf": csrf})
    assert right.status_code == 429 and 1 <= int(right.headers["Retry-After"]) <= 60
    bearer = attacker.get("/api/collectors", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 429
    neighbour = app.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    assert (
        neighbour.post("/login", data={"token": TOKEN, "csrf": csrf_of(neighbour)}).status_code
        == 302
    )
    assert neighbour.get("/api/collectors").status_code == 200


def test_wrong_bearer_and_socket_tokens_count_like_wrong_logins(tmp_path):
    app = guarded_app(tmp_path)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    for _ in range(5):
        assert client.get("/api/hosts", headers={"Authorization": "Bearer no"}).status_code == 401
    sio = app.extensions["socketio"]
    for _ in range(5):
        guess = sio.test_client(
            app, namespace="/toy", auth={"token": "no"}, flask_test_client=client
        )
        assert not guess.is_connected("/toy")
    right = sio.test_client(app, namespace="/toy", auth={"token": TOKEN}, flask_test_client=client)
    assert not right.is_connected("/toy")  # throttled: even the right token
    assert client.get("/api/hosts", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 429


# --- constant time, cookie attributes, CSRF -----------------------------------------------


def test_every_credential_path_compares_in_constant_time(tmp_path, monkeypatch):
    app = guarded_app(tmp_path)
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    token_digest = auth_module._digest(TOKEN)

    def compared_token() -> bool:
        found = any(token_digest in pair for pair in calls)
        calls.clear()
        return found

    client = app.test_client()
    assert client.get("/api/hosts", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert compared_token(), "Bearer"
    sio = app.extensions["socketio"]
    assert sio.test_client(app, namespace="/toy", auth={"token": TOKEN}).is_connected("/toy")
    assert compared_token(), "socket auth token"
    csrf = csrf_of(client)
    calls.clear()
    assert client.post("/login", data={"token": TOKEN, "csrf": csrf}).status_code == 302
    assert (csrf.encode(), csrf.encode()) in calls, "the form's CSRF token"
    assert compared_token(), "the login form's token"
    # A cookie holds no token: it is a session id signed with a key derived from the token,
    # whose signature itsdangerous checks with hmac.compare_digest.
    assert client.get("/api/hosts").status_code == 200
    assert calls, "the session cookie's signature"
    calls.clear()
    socket = sio.test_client(app, namespace="/toy", flask_test_client=client)
    assert socket.is_connected("/toy") and calls, "a socket's session cookie"


def test_the_session_cookie_is_httponly_strict_and_holds_no_token(tmp_path):
    client = logged_in(guarded_app(tmp_path))
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    assert not cookie.secure  # plain http here; tests/test_tls.py checks Secure over https
    import base64
    import zlib

    payload = cookie.value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    text = (zlib.decompress(raw) if cookie.value.startswith(".") else raw).decode()
    assert TOKEN not in text and auth_module._digest(TOKEN) not in text
    assert '"id"' in text and '"csrf"' in text


def test_login_needs_the_forms_csrf_token(tmp_path):
    app = guarded_app(tmp_path)
    client = app.test_client()
    assert client.post("/login", data={"token": TOKEN}).status_code == 400
    csrf_of(client)
    assert client.post("/login", data={"token": TOKEN, "csrf": "forged"}).status_code == 400
    stranger = app.test_client()  # a CSRF token from another browser's session
    assert (
        stranger.post("/login", data={"token": TOKEN, "csrf": csrf_of(client)}).status_code == 400
    )
    assert client.get("/api/hosts").status_code == 401
    assert client.post("/login", data={"token": TOKEN, "csrf": csrf_of(client)}).status_code == 302
    assert client.get("/api/hosts").status_code == 200


def test_logout_needs_the_pages_csrf_token_and_then_ends_the_session(tmp_path):
    app = guarded_app(tmp_path)
    client = logged_in(app)
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 400
    assert client.get("/api/hosts").status_code == 200  # still logged in
    old_cookie = client.get_cookie("session").value
    answer = client.post("/logout", data={"csrf": csrf_of(client, "/")})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    assert client.get("/api/hosts").status_code == 401
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/api/hosts").status_code == 401  # the old cookie is useless now
    assert (
        not app.extensions["socketio"]
        .test_client(app, namespace="/toy", flask_test_client=replay)
        .is_connected("/toy")
    )


def test_a_login_session_ends_after_its_lifetime():
    clock = Clock()
    sessions = Sessions(clock)
    data = sessions.start()
    assert sessions.live_id(data) == data["id"]
    clock.now += SESSION_LIFETIME - 1
    assert sessions.live_id(data) == data["id"]
    clock.now += 1
    assert sessions.live_id(data) is None
    assert sessions.live_id({**data, "at": clock() + 3600}) is None  # from the future: forged
    assert sessions.live_id({"id": 5, "at": clock()}) is None


def test_the_revoked_set_stays_bounded_and_never_lets_a_logged_out_cookie_back(monkeypatch):
    monkeypatch.setattr(sessions_module, "MAX_REVOKED", 5)
    clock = Clock()
    sessions = Sessions(clock)
    logged_out = [sessions.start() for _ in range(5)]
    keep = sessions.start()
    for data in logged_out:
        sessions.revoke(data)
    assert sessions.revoked_count() == 5
    assert all(sessions.live_id(d) is None for d in logged_out) and sessions.live_id(keep)
    sessions.revoke(sessions.start())  # full: every session ends, none comes back
    assert sessions.revoked_count() == 0
    assert all(sessions.live_id(d) is None for d in [*logged_out, keep])
    fresh = sessions.start()
    assert sessions.live_id(fresh) == fresh["id"]
    clock.now += SESSION_LIFETIME * 2  # expired ids leave the set on the next logout
    sessions.revoke(fresh)
    sessions.revoke(sessions.start())
    assert sessions.revoked_count() == 1


def test_healthz_without_credentials_says_only_the_status(tmp_path):
    app = guarded_app(tmp_path)
    anonymous = app.test_client().get("/healthz")
    assert anonymous.status_code == 200 and anonymous.json == {"status": anonymous.json["status"]}
    full = logged_in(app).get("/healthz").json
    assert {"collectors", "host", "history", "plugins"} <= set(full)
    bearer = app.test_client().get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    assert "collectors" in bearer.json
    open_app = create_app({"server": THREADING, "history": {"path": ""}}, collectors=(Toy,))
    assert "collectors" in open_app.test_client().get("/healthz").json  # no auth: as before


# --- against a real server ----------------------------------------------------------------


@pytest.mark.server
def test_logout_closes_that_sessions_sockets_and_its_cookie_is_refused(
    server_factory, sio_client, wait_until
):
    server = server_factory(f'[auth]\ntoken = "{TOKEN}"\n')
    browser = Browser(server.url)
    assert browser.login(TOKEN).status == 302
    cookie = {"Cookie": browser.cookie_header()}
    tabs = [sio_client(server.url, ["/cpu", "/memory"], headers=cookie) for _ in range(2)]
    other = Browser(server.url)
    assert other.login(TOKEN).status == 302
    bystander = sio_client(server.url, ["/cpu"], headers={"Cookie": other.cookie_header()})
    script = sio_client(server.url, ["/cpu"], auth={"token": TOKEN})
    for tab in tabs:
        assert tab.call("subscribe", {}, namespace="/cpu")["ok"]
    saved = dict(browser.cookies)
    reasons: queue.Queue = queue.Queue()
    tabs[0].on("disconnect", lambda *why: reasons.put(why), namespace="/cpu")
    started = time.monotonic()
    assert browser.logout().status == 302
    wait_until(lambda: not any(tab.connected for tab in tabs), "both tabs disconnected", 5)
    assert time.monotonic() - started < 5
    assert reasons.get(timeout=1) == (socketio.Client.reason.SERVER_DISCONNECT,)
    assert bystander.connected and script.connected  # another session and a token socket stay
    assert bystander.call("subscribe", {}, namespace="/cpu")["ok"]
    refused(sio_client, server.url, ["/cpu"], headers=cookie)
    stale = Browser(server.url, cookies=saved)
    assert stale.request("GET", "/api/collectors").status == 401


@pytest.mark.server
def test_a_thousand_wrong_logins_get_429_and_a_logged_in_user_carries_on(server_factory):
    """Attempts from 127.0.0.2; the user is on 127.0.0.1 (both loopback)."""
    server = server_factory(f'[auth]\ntoken = "{TOKEN}"\n', async_mode="eventlet")
    user = Browser(server.url)
    assert user.login(TOKEN).status == 302
    attacker = Browser(server.url, source="127.0.0.2")
    csrf = attacker.csrf()
    codes: dict[int, int] = {}
    started = time.monotonic()
    for n in range(1000):
        status = attacker.login(f"guess-{n}", csrf).status
        codes[status] = codes.get(status, 0) + 1
        if n % 100 == 0:
            assert user.request("GET", "/api/collectors").status == 200
    elapsed = time.monotonic() - started
    assert codes == {401: LOGIN_ATTEMPTS_PER_MINUTE, 429: 1000 - LOGIN_ATTEMPTS_PER_MINUTE}
    if elapsed < 60:  # the minute is not over: the right token is refused too
        assert attacker.login(TOKEN, csrf).status == 429
    newcomer = Browser(server.url)  # 127.0.0.1: never guessed, logs in at once
    assert newcomer.login(TOKEN).status == 302
    assert TOKEN not in server.output()


@pytest.mark.server
def test_a_tampered_session_cookie_is_refused_everywhere(server_factory, sio_client):
    """A cookie altered by one character, or one signed with another token, opens nothing."""
    server = server_factory(f'[auth]\ntoken = "{TOKEN}"\n')
    browser = Browser(server.url)
    assert browser.login(TOKEN).status == 302
    name, value = next(iter(browser.cookies.items()))
    flipped = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    other = server_factory('[auth]\ntoken = "another-token-entirely"\n')
    foreign = Browser(other.url)
    assert foreign.login("another-token-entirely").status == 302
    for forged in (flipped, next(iter(foreign.cookies.values())), value + "x", ""):
        cookie = f"{name}={forged}"
        assert (
            Browser(server.url, cookies={name: forged}).request("GET", "/api/collectors").status
            == 401
        ), forged
        refused(sio_client, server.url, ["/cpu"], headers={"Cookie": cookie})
    assert browser.request("GET", "/api/collectors").status == 200  # the real one still works
