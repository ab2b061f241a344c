"""settings.toml validation: defaults, every kind of error, overrides, security refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.settings import (
    Settings,
    SettingsError,
    load_settings,
    parse_duration,
    parse_settings,
    redacted,
    with_overrides,
)

ROOT = Path(__file__).resolve().parent.parent


def test_no_file_and_an_empty_file_give_the_defaults(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    for settings in (load_settings(None), load_settings(empty)):
        assert settings.server.host == "127.0.0.1"
        assert settings.server.port == 5000
        assert settings.server.async_mode == "eventlet"
        assert settings.auth.token == ""
        assert settings.history.retention == 86_400
        assert settings.collectors == {}


def test_the_shipped_settings_file_documents_the_defaults():
    shipped = load_settings(ROOT / "settings.toml")
    defaults = parse_settings({}, base_dir=ROOT)
    assert shipped.server == defaults.server
    assert shipped.auth == defaults.auth
    assert shipped.history == defaults.history
    assert shipped.plugins == defaults.plugins and shipped.queue == defaults.queue
    assert all(c.enabled in (True, None) and not c.options for c in shipped.collectors.values())


def test_an_empty_history_path_means_memory_only():
    assert parse_settings({"history": {"path": ""}}).history.path is None


def test_relative_history_path_is_relative_to_the_settings_file(tmp_path):
    path = tmp_path / "conf" / "s.toml"
    path.parent.mkdir()
    path.write_text('[history]\npath = "data/h.sqlite3"\n')
    assert load_settings(path).history.path == path.parent / "data" / "h.sqlite3"


def test_collector_tables_keep_their_own_options():
    settings = parse_settings({"collectors": {"disk": {"interval": 2, "exclude": ["loop"]}}})
    disk = settings.collector("disk")
    assert disk.interval == 2.0 and disk.enabled is None  # the collector decides (built-ins: on)
    assert disk.options == {"exclude": ["loop"]}
    assert settings.collector("cpu").interval is None  # the collector's own default applies


ERRORS = [
    ({"sever": {}}, "s.toml sever: unknown key; did you mean 'server'?"),
    ({"server": {"port": 0}}, "s.toml [server] port = 0: expected a port number from 1 to 65535"),
    ({"server": {"port": True}}, "s.toml [server] port = True: expected an integer"),
    ({"server": {"port": 5000.5}}, "s.toml [server] port = 5000.5: expected an integer"),
    ({"server": {"async_mode": "asyncio"}}, "[server] async_mode = 'asyncio': expected one of"),
    ({"server": {"host": "999.1.1.1"}}, "[server] host = '999.1.1.1': expected an IP address"),
    ({"server": {"max_message_bytes": 10}}, "max_message_bytes = 10: expected a size"),
    ({"server": {"log_level": "loud"}}, "log_level = 'loud': expected one of"),
    ({"server": {"allowed_origins": "http://x"}}, "allowed_origins = 'http://x': expected a list"),
    ({"server": {"allowed_origins": ["http://x/path"]}}, "no wildcards, no path"),
    ({"server": 5}, "s.toml [server]: expected a table, got an integer"),
    ({"auth": {"token": 123}}, "s.toml [auth] token = 123: expected a string"),
    ({"history": {"retention": "forever"}}, "[history] retention = 'forever': expected a duration"),
    ({"history": {"retention": "0h"}}, "retention = '0h': expected a duration at least 1m"),
    ({"history": {"rollup": "7s"}}, "rollup = '7s': expected a duration from 10s to 10m"),
    ({"history": {"rollup": "45s"}}, "rollup = '45s': expected a width that divides 10 minutes"),
    (
        {"history": {"rollup_retention": "1h"}},
        "rollup_retention = '1h': expected at least retention",
    ),
    (
        {"history": {"flush_interval": "1h"}},
        "flush_interval = '1h': expected a duration from 1s to 5m",
    ),
    (
        {"history": {"flush_intervall": "5s"}},
        "[history] flush_intervall: unknown key; did you mean 'flush_interval'?",
    ),
    ({"history": {"path": 7}}, "[history] path = 7: expected a string"),
    ({"collectors": {"cpu": {"interval": -1}}}, "[collectors.cpu] interval = -1.0: expected"),
    ({"collectors": {"cpu": {"interval": 1e9}}}, "interval = 1000000000.0: expected seconds"),
    ({"collectors": {"cpu": {"enabled": "yes"}}}, "[collectors.cpu] enabled = 'yes': expected"),
    ({"collectors": {"Bad Name": {}}}, "[collectors.Bad Name]: bad collector name"),
    ({"collectors": {"cpu": 1}}, "[collectors.cpu]: expected a table, got an integer"),
    ({"plugins": {"paths": [1]}}, "[plugins] paths = 1: expected a list of folder paths"),
    ({"queue": {"url": "http://x"}}, "[queue] url = 'http://x': expected a redis:// or"),
    ({"queue": {"url": "ftp://user:pw@host"}}, "url = 'ftp://user:***@host'"),
    ({"queue": {"url": "rediss://"}}, "[queue] url = 'rediss://': expected a redis://"),
    ({"queue": {"keep": "10s"}}, "[queue] keep = '10s': expected a duration from 1m to 1d"),
    ({"queue": {"password_file": "nope.txt"}}, "password_file = 'nope.txt': expected a file"),
    ({"agent": {"host": "web 3"}}, "[agent] host = 'web 3': expected a host name"),
    ({"agent": {"host": "alerts"}}, "host = 'alerts': expected another name: 'alerts' is where"),
    ({"agent": {"hots": "x"}}, "[agent] hots: unknown key; did you mean 'host'?"),
]


def test_queue_and_agent_settings(tmp_path):
    secret = tmp_path / "redis.pass"
    secret.write_text("s3cret\n")
    queue = {"url": "rediss://agent:pw@r.example:6380/1", "password_file": "redis.pass"}
    settings = parse_settings(
        {"queue": {**queue, "keep": "1h"}, "agent": {"host": "web-3.example"}}, base_dir=tmp_path
    )
    assert settings.queue.enabled and settings.queue.keep == 3600.0
    assert settings.queue.password_file == secret and settings.agent.host == "web-3.example"
    assert redacted("redis://agent:pw@h:1/0") == "redis://agent:***@h:1/0"
    assert redacted("redis://secretonly@h") == "redis://***@h"
    assert redacted("redis://h:6379/0") == "redis://h:6379/0"
    assert not parse_settings({}).queue.enabled


@pytest.mark.parametrize(("raw", "message"), ERRORS)
def test_errors_name_the_file_table_key_and_expectation(raw, message):
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, source="s.toml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_toml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[server\n")
    with pytest.raises(SettingsError, match=r"bad.toml: not valid TOML"):
        load_settings(path)


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="no such settings file"):
        load_settings(tmp_path / "nope.toml")


def test_non_loopback_needs_a_token_and_explicit_origins():
    with pytest.raises(SettingsError, match=r"needs \[auth\] token"):
        parse_settings({"server": {"host": "0.0.0.0"}})
    with pytest.raises(SettingsError, match=r"needs \[server\] allowed_origins"):
        parse_settings({"server": {"host": "0.0.0.0"}, "auth": {"token": "t" * 32}})
    ok = parse_settings(
        {
            "server": {"host": "0.0.0.0", "allowed_origins": ["https://dash.example"]},
            "auth": {"token": "t" * 32},
        }
    )
    assert not ok.server.is_loopback


def test_command_line_overrides_are_validated_like_the_file():
    settings = with_overrides(Settings(), host="::1", port=8080)
    assert (settings.server.host, settings.server.port) == ("::1", 8080)
    with pytest.raises(SettingsError, match="--port 70000"):
        with_overrides(Settings(), host=None, port=70000)
    with pytest.raises(SettingsError, match=r"needs \[auth\] token"):
        with_overrides(Settings(), host="0.0.0.0", port=None)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86_400), ("7d", 604_800),
                          ("1.5h", 5400), ("2w", 1_209_600)]
)  # fmt: skip
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_reuse_port_is_for_eventlet_only():
    assert parse_settings({"server": {"reuse_port": True}}).server.reuse_port
    with pytest.raises(SettingsError, match=r"reuse_port = True: expected false with async_mode"):
        parse_settings({"server": {"reuse_port": True, "async_mode": "gevent"}})
