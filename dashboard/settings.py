"""settings.toml: read once with tomllib, validated into frozen objects.

Nothing below this module reads raw TOML. Every problem is a ``SettingsError`` whose message
names the file, the table and key, the bad value and what was expected. This module imports
only the standard library (and ``collectors.messages``, which does too), so the command line
can load settings before monkey-patching.
"""

from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

from collectors.messages import did_you_mean, kind, quoted, type_name
from dashboard import credentials

AsyncMode = Literal["eventlet", "gevent", "threading"]
ASYNC_MODES: tuple[AsyncMode, ...] = ("eventlet", "gevent", "threading")
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_INTERVAL = 86_400.0
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class SettingsError(ValueError):
    """A configuration problem; the message is one line, fit to print as it is."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 5000
    async_mode: AsyncMode = "eventlet"
    allowed_origins: tuple[str, ...] = ()
    max_message_bytes: int = 65_536
    log_level: str = "info"
    reuse_port: bool = False  # eventlet: share the port with other web processes
    # Per-client limits (dashboard/limits): one client must not hurt the others.
    requests_per_second: float = 20.0  # token bucket per connection, bursts of twice this
    history_points_per_minute: int = 2_000_000  # backfill budget: series x samples read
    max_subscriptions: int = 64  # per connection
    max_connections: int = 2000  # Socket.IO sessions, overall
    max_connections_per_address: int = 100  # 0: no per-address cap (behind a proxy)
    max_backlog_bytes: int = 4096  # unsent bytes per client before samples coalesce
    slow_client_timeout: float = 20.0  # behind and taking < 1/4 of its stream this long
    trusted_proxies: tuple[str, ...] = ()  # reverse proxies whose X-Forwarded-For is believed
    tls_cert: Path | None = None  # both set: HTTPS and WSS (checked to load together)
    tls_key: Path | None = None

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


@dataclass(frozen=True)
class AuthSettings:
    """``[auth]``: the token (from the file or from ``token_file``); empty: no login."""

    token: str = field(default="", repr=False)  # a secret: never in a repr, a log or an error
    token_file: Path | None = None


@dataclass(frozen=True)
class HistorySettings:
    """``[history]``: where samples are kept on disk and for how long, per tier.

    ``path`` is ``None`` for memory only (``path = ""``): nothing survives a restart.
    """

    path: Path | None = Path("history.sqlite3")
    retention: float = 86_400.0  # full resolution
    rollup: float = 60.0  # bucket width of the min/avg/max tier
    rollup_retention: float = 30 * 86_400.0
    flush_interval: float = 5.0  # a crash (SIGKILL) loses at most this much


@dataclass(frozen=True)
class CollectorSettings:
    """One ``[collectors.<name>]`` table: the common keys plus the collector's own options."""

    enabled: bool | None = None  # None: the collector's own default
    interval: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PluginSettings:
    paths: tuple[Path, ...] = ()
    strict: bool = False  # a plugin that fails to load stops the dashboard (exit 78)


@dataclass(frozen=True)
class QueueSettings:
    """``[queue]``: the Redis that carries every host's samples (scale-out); ``url`` empty:
    this dashboard watches its own machine only."""

    url: str = ""
    password_file: Path | None = None  # the password, in a file (systemd LoadCredential=)
    keep: float = 900.0  # how long a host's samples stay in Redis: outages and restarts

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class AgentSettings:
    """``[agent]``: how ``dashboard agent`` reports; ``host`` empty: the machine's name."""

    host: str = ""


@dataclass(frozen=True)
class RawRule:
    """One ``[[alerts.rule]]`` table as written; ``dashboard.alerts.rules`` validates it."""

    source: str  # the file it came from
    index: int  # its position among that file's rules, from 1
    table: Mapping[str, Any]


@dataclass(frozen=True)
class AlertSettings:
    """``[alerts]``: delivery and its limits. The rules themselves are checked by
    ``dashboard.alerts.rules`` (with the shipped defaults and ``rules_path``'s files)."""

    enabled: bool = True
    rules_path: Path | None = None  # a folder of *.toml rule files; None: "alerts.d" is absent
    webhook: str = field(default="", repr=False)  # a URL may carry a secret
    webhook_secret: bytes = field(default=b"", repr=False)  # HMAC-SHA256 key
    webhook_secret_file: Path | None = None
    notify: tuple[str, ...] = field(default=(), repr=False)  # Apprise URLs carry secrets
    group_wait: float = 30.0
    repeat: float = 4 * 3600.0
    max_per_hour: int = 20  # per target
    quiet_hours: tuple[int, int] | None = None  # (start, end) minutes after local midnight
    heartbeat_url: str = field(default="", repr=False)
    heartbeat_interval: float = 60.0
    rules: tuple[RawRule, ...] = ()


@dataclass(frozen=True)
class Settings:
    source: str = "<defaults>"
    server: ServerSettings = field(default_factory=ServerSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    collectors: Mapping[str, CollectorSettings] = field(default_factory=dict)
    plugins: PluginSettings = field(default_factory=PluginSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    agent: AgentSettings = field(default_factory=AgentSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)

    def collector(self, name: str) -> CollectorSettings:
        return self.collectors.get(name, CollectorSettings())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(path: str | Path | None) -> Settings:
    """Read and validate a settings file; ``None`` means all defaults."""
    if path is None:
        return parse_settings({})
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such settings file") from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    return parse_settings(raw, source=str(path), base_dir=path.resolve().parent)


def parse_settings(
    raw: Mapping[str, Any], source: str = "<settings>", base_dir: Path | None = None
) -> Settings:
    """Validate a settings mapping (as tomllib returns it) into a ``Settings``."""
    base_dir = base_dir or Path.cwd()
    top = _Table(source, "", raw)
    top.check_keys(
        {"server", "auth", "history", "collectors", "plugins", "queue", "agent", "alerts"}
    )
    settings = Settings(
        source=source,
        server=_server(top.table("server"), base_dir),
        auth=_auth(top.table("auth"), base_dir),
        history=_history(top.table("history"), base_dir),
        collectors=_collectors(top.table("collectors")),
        plugins=_plugins(top.table("plugins"), base_dir),
        queue=_queue(top.table("queue"), base_dir),
        agent=_agent(top.table("agent")),
        alerts=_alerts(top.table("alerts"), base_dir),
    )
    check_security(settings)
    return settings


def with_overrides(
    settings: Settings, host: str | None, port: int | None, log_level: str | None = None
) -> Settings:
    """Command-line flags win over the file; the result is validated like the file."""
    server = settings.server
    if log_level is not None:
        server = replace(server, log_level=log_level)
    if host is not None:
        server = replace(server, host=_valid_host(_Table("--host", "", {}), "host", host))
    if port is not None:
        if not 1 <= port <= 65_535:
            raise SettingsError(f"--port {port}: expected a port number from 1 to 65535")
        server = replace(server, port=port)
    settings = replace(settings, server=server)
    check_security(settings)
    return settings


def check_security(settings: Settings) -> None:
    """Refuse settings that would expose the dashboard without protection."""
    server = settings.server
    if server.is_loopback:
        return
    where = f"{settings.source} [server] host = {server.host!r}"
    if not settings.auth.token:
        raise SettingsError(
            f"{where}: a non-loopback address needs [auth] token or token_file set "
            "(a long random string)"
        )
    if not server.allowed_origins:
        raise SettingsError(
            f"{where}: a non-loopback address needs [server] allowed_origins, the exact "
            f'origins browsers use, e.g. ["{server.scheme}://dashboard.example:{server.port}"]'
        )


def parse_duration(text: str) -> float:
    """'90s', '30m', '24h', '7d', '2w' -> seconds."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError('expected a duration such as "90s", "30m", "24h" or "7d"')
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


class _Table:
    """One TOML table being validated; remembers where it came from for error messages."""

    def __init__(self, source: str, name: str, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            raise SettingsError(f"{source} [{name}]: expected a table, got {kind(raw, 'toml')}")
        self.source, self.name, self.raw = source, name, raw

    def where(self, key: str) -> str:
        place = f"{self.source} [{self.name}] {key}" if self.name else f"{self.source} {key}"
        return place.rstrip()

    def error(self, key: str, value: Any, expected: str) -> SettingsError:
        return SettingsError(f"{self.where(key)} = {quoted(value, 60)}: expected {expected}")

    def check_keys(self, known: set[str]) -> None:
        for key in self.raw:
            if key not in known:
                hint = did_you_mean(key, sorted(known))
                known_list = ", ".join(sorted(known))
                raise SettingsError(f"{self.where(key)}: unknown key{hint} (known: {known_list})")

    def table(self, key: str) -> _Table:
        name = f"{self.name}.{key}" if self.name else key
        return _Table(self.source, name, self.raw.get(key, {}))

    def get(self, key: str, expected: type, default: Any) -> Any:
        if key not in self.raw:
            return default
        value = self.raw[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
            wanted = "true or false" if expected is bool else type_name(expected)
            raise self.error(key, value, wanted)
        return value


def _server(t: _Table, base_dir: Path) -> ServerSettings:
    t.check_keys(
        {"host", "port", "async_mode", "allowed_origins", "max_message_bytes", "log_level",
         "reuse_port", "tls_cert", "tls_key", "slow_client_timeout", "trusted_proxies", *_LIMITS}
    )  # fmt: skip
    d = ServerSettings()
    port = t.get("port", int, d.port)
    if not 1 <= port <= 65_535:
        raise t.error("port", port, "a port number from 1 to 65535")
    mode = t.get("async_mode", str, d.async_mode)
    if mode not in ASYNC_MODES:
        raise t.error("async_mode", mode, "one of " + ", ".join(map(repr, ASYNC_MODES)))
    size = t.get("max_message_bytes", int, d.max_message_bytes)
    if not 1024 <= size <= 16 * 1024 * 1024:
        raise t.error("max_message_bytes", size, "a size from 1024 to 16777216 bytes")
    level = t.get("log_level", str, d.log_level)
    if level not in LOG_LEVELS:
        raise t.error("log_level", level, "one of " + ", ".join(map(repr, LOG_LEVELS)))
    reuse_port = t.get("reuse_port", bool, False)
    if reuse_port and mode != "eventlet":
        raise t.error("reuse_port", True, 'false with async_mode = "' + mode + '" (eventlet only)')
    tls_cert, tls_key = _tls(t, base_dir)
    return ServerSettings(
        host=_valid_host(t, "host", t.get("host", str, d.host)),
        port=port,
        async_mode=cast(AsyncMode, mode),
        allowed_origins=_origins(t),
        max_message_bytes=size,
        log_level=level,
        reuse_port=reuse_port,
        trusted_proxies=_proxies(t),
        **_limits(t),
        tls_cert=tls_cert,
        tls_key=tls_key,
    )


# [server] limit keys: (type, default, low, high).
_LIMITS: dict[str, tuple[type, Any, float, float]] = {
    "requests_per_second": (float, 20.0, 1, 10_000),
    "history_points_per_minute": (int, 2_000_000, 1000, 10**9),
    "max_subscriptions": (int, 64, 1, 10_000),
    "max_connections": (int, 2000, 1, 100_000),
    "max_connections_per_address": (int, 100, 0, 100_000),
    "max_backlog_bytes": (int, 4096, 1024, 64 * 1024 * 1024),
}


def _proxies(t: _Table) -> tuple[str, ...]:
    proxies = t.get("trusted_proxies", list, [])
    for entry in proxies:
        try:
            ipaddress.ip_network(entry, strict=False)
        except (TypeError, ValueError):
            raise t.error(
                "trusted_proxies", entry, 'addresses or networks such as "127.0.0.1", "10.0.0.0/8"'
            ) from None
    return tuple(proxies)


def _limits(t: _Table) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, (expected, default, low, high) in _LIMITS.items():
        value = t.get(key, expected, default)
        if not low <= value <= high:
            raise t.error(key, value, f"a number from {low:g} to {high:g}")
        values[key] = value
    values["slow_client_timeout"] = _duration(t, "slow_client_timeout", "20s", 2, 600)
    return values


def _valid_host(t: _Table, key: str, host: str) -> str:
    if host == "localhost":
        return host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise t.error(key, host, 'an IP address to bind, such as "127.0.0.1" or "::1"') from None
    return host


def _tls(t: _Table, base_dir: Path) -> tuple[Path | None, Path | None]:
    """``tls_cert`` and ``tls_key``: both or neither, and they must load together now."""
    cert_name, key_name = t.get("tls_cert", str, ""), t.get("tls_key", str, "")
    if bool(cert_name) != bool(key_name):
        missing, given = ("tls_key", "tls_cert") if cert_name else ("tls_cert", "tls_key")
        raise SettingsError(
            f"{t.where(missing)}: missing; {given} is set, and HTTPS needs both the "
            "certificate (tls_cert) and its private key (tls_key), or neither"
        )
    if not cert_name:
        return None, None
    cert = credentials.locate(cert_name, base_dir)
    key = credentials.locate(key_name, base_dir)
    _check_file(t, "tls_cert", cert_name, lambda: credentials.check_pem(cert, "certificate"))
    _check_file(t, "tls_key", key_name, lambda: credentials.check_pem(key, "key"))
    _check_file(t, "tls_key", key_name, lambda: credentials.check_pair(cert, key))
    return cert, key


def _check_file(t: _Table, key: str, name: str, check: Callable[[], object]) -> Any:
    """``check()``'s result; its ValueError as a SettingsError naming the key and value."""
    try:
        return check()
    except ValueError as exc:
        raise SettingsError(f"{t.where(key)} = {quoted(name, 80)}: {exc}") from None


_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def _origins(t: _Table) -> tuple[str, ...]:
    origins = t.get("allowed_origins", list, [])
    for origin in origins:
        if origin == "*" or not isinstance(origin, str) or not _ORIGIN_RE.match(origin):
            raise t.error(
                "allowed_origins",
                origin,
                'exact origins such as "https://dash.example" (no wildcards, no path)',
            )
    return tuple(origins)


def _auth(t: _Table, base_dir: Path) -> AuthSettings:
    t.check_keys({"token", "token_file"})
    token, name = t.get("token", str, ""), t.get("token_file", str, "")
    if not name:
        return AuthSettings(token=token)
    if token:
        raise SettingsError(f"{t.where('token')}: set token or token_file, not both")
    path = credentials.locate(name, base_dir)
    token = _check_file(t, "token_file", name, lambda: credentials.read_token(path))
    return AuthSettings(token=token, token_file=path)


def _history(t: _Table, base_dir: Path) -> HistorySettings:
    t.check_keys({"path", "retention", "rollup", "rollup_retention", "flush_interval"})
    text = t.get("path", str, "history.sqlite3")
    path = None if not text.strip() else Path(text)
    retention = _duration(t, "retention", "24h", 60, None)
    rollup = _duration(t, "rollup", "1m", 10, 600)
    if 600 % rollup:
        raise t.error(
            "rollup", t.raw["rollup"], "a width that divides 10 minutes evenly (30s, 1m, 5m)"
        )
    rollup_retention = _duration(t, "rollup_retention", "30d", 60, None)
    if rollup_retention < retention:
        raise t.error(
            "rollup_retention",
            t.raw.get("rollup_retention", "30d"),
            f"at least retention ({t.raw.get('retention', '24h')})",
        )
    return HistorySettings(
        path=path if path is None or path.is_absolute() else base_dir / path,
        retention=retention,
        rollup=rollup,
        rollup_retention=rollup_retention,
        flush_interval=_duration(t, "flush_interval", "5s", 1, 300),
    )


def _duration(t: _Table, key: str, default: str, low: float, high: float | None) -> float:
    """A duration key such as ``"24h"``, checked against ``low`` (and ``high``) seconds."""
    text = t.get(key, str, default)
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise t.error(key, text, str(exc).removeprefix("expected ")) from None
    if seconds < low or (high is not None and seconds > high):
        bound = f"from {_human(low)} to {_human(high)}" if high else f"at least {_human(low)}"
        raise t.error(key, text, f"a duration {bound}")
    return seconds


def _human(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _collectors(t: _Table) -> dict[str, CollectorSettings]:
    result = {}
    for name in t.raw:
        sub = t.table(name)
        if not re.match(r"^[a-z][a-z0-9_]{0,31}$", name):
            raise SettingsError(
                f"{sub.where('')}: bad collector name; expected lower-case "
                "letters, digits and '_' (at most 32)"
            )
        options = {k: v for k, v in sub.raw.items() if k not in ("enabled", "interval")}
        interval = sub.get("interval", float, None)
        if interval is not None and not (0 < interval <= MAX_INTERVAL and math.isfinite(interval)):
            raise sub.error("interval", interval, f"seconds above 0 and at most {MAX_INTERVAL:g}")
        result[name] = CollectorSettings(
            enabled=sub.get("enabled", bool, None), interval=interval, options=options
        )
    return result


def _plugins(t: _Table, base_dir: Path) -> PluginSettings:
    t.check_keys({"paths", "strict"})
    paths = []
    for entry in t.get("paths", list, []):
        if not isinstance(entry, str):
            raise t.error("paths", entry, "a list of folder paths (strings)")
        path = Path(entry) if Path(entry).is_absolute() else base_dir / entry
        if not path.is_dir():
            raise t.error("paths", entry, "an existing folder of plugin modules")
        paths.append(path)
    return PluginSettings(paths=tuple(paths), strict=t.get("strict", bool, False))


def _queue(t: _Table, base_dir: Path) -> QueueSettings:
    t.check_keys({"url", "password_file", "keep"})
    url = t.get("url", str, "")
    if url and not re.match(r"^rediss?://[^/?#]", url):
        raise t.error("url", redacted(url), 'a redis:// or rediss:// URL, or "" for none')
    secret = t.get("password_file", str, "")
    password_file = None
    if secret:
        password_file = Path(secret) if Path(secret).is_absolute() else base_dir / secret
        if not password_file.is_file():
            raise t.error("password_file", secret, "a file that holds the Redis password")
    keep = _duration(t, "keep", "15m", 60, 86_400)
    return QueueSettings(url=url, password_file=password_file, keep=keep)


def _agent(t: _Table) -> AgentSettings:
    t.check_keys({"host"})
    host = t.get("host", str, "")
    if host and not HOST_RE.match(host):
        raise t.error("host", host, "a host name: letters, digits, '.', '_' or '-', at most 63")
    if host in RESERVED_HOSTS:
        raise t.error("host", host, f"another name: {host!r} is {RESERVED_HOSTS[host]}")
    return AgentSettings(host=host)


# Names an agent may not report as: their Redis keys are the web processes' shared ones.
RESERVED_HOSTS = {"alerts": "where the web processes share silences and acks in Redis"}


_ALERT_KEYS = {
    "enabled", "rules_path", "webhook", "webhook_secret_file", "notify", "group_wait",
    "repeat", "max_per_hour", "quiet_hours", "heartbeat_url", "heartbeat_interval", "rule",
}  # fmt: skip
_QUIET_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def _alerts(t: _Table, base_dir: Path) -> AlertSettings:
    t.check_keys(_ALERT_KEYS)
    d = AlertSettings()
    folder = t.get("rules_path", str, "alerts.d")
    rules_path = None
    if folder:
        rules_path = Path(folder) if Path(folder).is_absolute() else base_dir / folder
        if rules_path.exists() and not rules_path.is_dir():
            raise t.error("rules_path", folder, "a folder of *.toml rule files")
        if not rules_path.exists():
            if "rules_path" in t.raw:
                raise t.error("rules_path", folder, "an existing folder of *.toml rule files")
            rules_path = None  # the default folder is optional
    webhook = t.get("webhook", str, "")
    if webhook and not re.match(r"^https?://[^/?#\s]+", webhook):
        raise t.error("webhook", _url_shown(webhook), 'an http:// or https:// URL, or "" for none')
    heartbeat = t.get("heartbeat_url", str, "")
    if heartbeat and not re.match(r"^https?://[^/?#\s]+", heartbeat):
        raise t.error(
            "heartbeat_url", _url_shown(heartbeat), 'an http:// or https:// URL, or "" for none'
        )
    secret_name = t.get("webhook_secret_file", str, "")
    secret_file, secret = None, b""
    if secret_name:
        secret_file = credentials.locate(secret_name, base_dir)
        token = _check_file(
            t, "webhook_secret_file", secret_name, lambda: credentials.read_token(secret_file)
        )
        secret = token.encode()
    notify = t.get("notify", list, [])
    for url in notify:
        if not isinstance(url, str) or not re.match(r"^[a-z][a-z0-9+.-]*://", url):
            raise t.error("notify", _url_shown(str(url)), 'Apprise URLs such as "ntfy://topic"')
    max_per_hour = t.get("max_per_hour", int, d.max_per_hour)
    if not 1 <= max_per_hour <= 10_000:
        raise t.error("max_per_hour", max_per_hour, "a number from 1 to 10000")
    rules = t.get("rule", list, [])
    for index, rule in enumerate(rules, 1):
        if not isinstance(rule, Mapping):
            raise SettingsError(
                f"{t.where('rule')} #{index}: expected a table ([[alerts.rule]]), "
                f"got {kind(rule, 'toml')}"
            )
    return AlertSettings(
        enabled=t.get("enabled", bool, True),
        rules_path=rules_path,
        webhook=webhook,
        webhook_secret=secret,
        webhook_secret_file=secret_file,
        notify=tuple(notify),
        group_wait=_duration(t, "group_wait", "30s", 0, 3600),
        repeat=_duration(t, "repeat", "4h", 60, 30 * 86_400),
        max_per_hour=max_per_hour,
        quiet_hours=_quiet_hours(t),
        heartbeat_url=heartbeat,
        heartbeat_interval=_duration(t, "heartbeat_interval", "60s", 5, 86_400),
        rules=tuple(RawRule(t.source, i, r) for i, r in enumerate(rules, 1)),
    )


def _quiet_hours(t: _Table) -> tuple[int, int] | None:
    text = t.get("quiet_hours", str, "")
    if not text:
        return None
    match = _QUIET_RE.match(text.replace(" ", ""))
    if not match:
        raise t.error("quiet_hours", text, 'a local time range such as "22:00-07:00", or ""')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise t.error("quiet_hours", text, "a range whose start and end differ")
    return start, end


def _url_shown(url: str) -> str:
    """A URL for an error message: its scheme and host only (the rest may hold a secret)."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)([^/?#@]*@)?([^/?#]*).*$", r"\1\3/…", url, flags=re.I)


HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def redacted(url: str) -> str:
    """A Redis URL with its secret shown as ``***`` (a password, or a user-only secret)."""
    return re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", re.sub(r"//([^:@/]+)@", r"//***@", url))
