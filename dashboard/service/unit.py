"""``dashboard service print | install``: the systemd unit, and putting it in place.

The unit has one source, ``UNIT`` below. ``deploy/dashboard.service`` is ``UNIT`` rendered for
the canonical paths (``CANONICAL_PYTHON``, ``DEFAULT_CONFIG``); tests/test_service.py keeps the
two identical. Under the unit's sandbox the only writable folder is ``/var/lib/dashboard``
(``StateDirectory=``), so the settings file ``install`` writes keeps history there.

Exit codes: 0 ok; 2 bad usage (argparse); 77 (EX_NOPERM) ``install`` not run as root without
``--root``, or a target not writable; 1 any other error writing the files. One line on stderr,
no traceback. This module imports only the standard library and ``dashboard.settings``.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dashboard.settings import SettingsError, load_settings

EX_OK = 0
EX_SOFTWARE = 1
EX_NOPERM = 77  # sysexits.h: "you did not have sufficient permission"

CANONICAL_PYTHON = "/opt/dashboard/.venv/bin/python"  # the interpreter deploy/ names


@dataclass(frozen=True)
class Role:
    """Which service: the web dashboard (``run``) or an agent (``agent``, scale-out)."""

    name: str  # the unit's name, its StateDirectory and its log identifier
    command: str
    description: str
    config: Path  # the settings file it reads by default
    credentials: str = ""  # commented LoadCredential= lines the unit suggests

    @property
    def unit_path(self) -> Path:
        return Path(f"/etc/systemd/system/{self.name}.service")

    @property
    def state_dir(self) -> Path:
        return Path("/var/lib") / self.name

    @property
    def history_path(self) -> Path:
        return self.state_dir / "history.sqlite3"

    @property
    def next_command(self) -> str:
        edit = "set [queue] url in it, then " if self.command == "agent" else ""
        return f"{edit}systemctl daemon-reload && systemctl enable --now {self.name}"


# The transient user cannot read a root-only file in /etc; systemd hands the service a
# private copy of each credential, and a bare file name in the settings is read from there
# (dashboard/credentials.py). `dashboard check` run from a shell finds the same name in
# /etc/dashboard, the settings file's folder.
WEB_CREDENTIALS = """\

# Secrets, readable by this service only: uncomment for [auth] token_file = "token",
# [server] tls_cert = "tls.crt", tls_key = "tls.key" and [alerts] webhook_secret_file =
# "webhook.key" (bare names: read from the copies systemd makes in $CREDENTIALS_DIRECTORY).
# README.md, "TLS and secrets".
#LoadCredential=token:/etc/dashboard/token
#LoadCredential=tls.crt:/etc/dashboard/tls.crt
#LoadCredential=tls.key:/etc/dashboard/tls.key
#LoadCredential=webhook.key:/etc/dashboard/webhook.key
"""
WEB = Role(
    "dashboard",
    "run",
    "Live operations dashboard",
    Path("/etc/dashboard/settings.toml"),
    WEB_CREDENTIALS,
)
AGENT = Role(
    "dashboard-agent",
    "agent",
    "Live operations dashboard agent (sends this host's metrics to Redis)",
    Path("/etc/dashboard/agent.toml"),
)
# The web service's, as before roles: deploy/dashboard.service and the tests use them.
DEFAULT_CONFIG, UNIT_PATH = WEB.config, WEB.unit_path
STATE_DIR, HISTORY_PATH, NEXT_COMMAND = WEB.state_dir, WEB.history_path, WEB.next_command

_PACKAGE = Path(__file__).resolve().parent.parent  # the dashboard package
# The shipped settings.toml: inside a wheel under dashboard/assets/ (as assets.py finds the
# page's files), in a source checkout at the top level.
SHIPPED_SETTINGS = (_PACKAGE / "assets" / "settings.toml", _PACKAGE.parent / "settings.toml")
_SYSTEM_ROOT = Path("/")  # where `install` writes without --root (tests point it elsewhere)

UNIT = """\
# The live operations dashboard as a sandboxed system service.
# Written by `dashboard service print` or `dashboard service install`: ExecStart names the
# Python that ran the command. README.md, "Running as a systemd service", explains it.

[Unit]
Description=@DESCRIPTION@
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=@EXEC_START@
ExecReload=/bin/kill -HUP $MAINPID
WatchdogSec=30s
Restart=on-failure
# 78 (EX_CONFIG) is a configuration error: restarting would only fail again.
RestartPreventExitStatus=78
TimeoutStopSec=20s
SyslogIdentifier=@NAME@
Environment=PYTHONUNBUFFERED=1
# Every websocket client holds a descriptor; the default soft limit is 1024.
LimitNOFILE=65536
@CREDENTIALS@
# A transient user with no privileges; history lives in /var/lib/@NAME@.
DynamicUser=yes
StateDirectory=@NAME@
UMask=0077
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=

# The sandbox. psutil still sees every process and mount: no ProtectProc=invisible or
# ProcSubset=pid, no PrivateUsers= (other users' processes would belong to "nobody"), and
# ProtectHome=read-only, not yes (an empty mount over /home would hide its disk usage).
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
DevicePolicy=closed
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
ProtectClock=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
KeyringMode=private
RemoveIPC=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
"""


def render(python: str, config: Path, role: Role = WEB) -> str:
    """The unit for this interpreter and settings file (both absolute)."""
    unit = UNIT.replace("@EXEC_START@", exec_start(python, config, role))
    unit = unit.replace("@CREDENTIALS@", role.credentials)
    return unit.replace("@DESCRIPTION@", role.description).replace("@NAME@", role.name)


def exec_start(python: str, config: Path, role: Role = WEB) -> str:
    args = ["-m", "dashboard", role.command, "--config", str(config)]
    return " ".join([_quote(python, program=True), *(_quote(arg) for arg in args)])


def _quote(arg: str, program: bool = False) -> str:
    """One command-line word as systemd reads it: quoted where needed, % doubled, and $
    doubled except in the program's path (systemd expands no variables there)."""
    arg = arg.replace("%", "%%") if program else arg.replace("%", "%%").replace("$", "$$")
    if arg and not re.search(r"[\s\"'\\;]", arg):
        return arg
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\t", "\\t")):
        arg = arg.replace(raw, escaped)
    return f'"{arg}"'


def settings_text(role: Role = WEB) -> str:
    """The settings file ``install`` writes: the shipped defaults, history in the role's
    state directory.

    Where the shipped file is not installed (a wheel built without it), a short file that
    sets only the history path: every other key has its default anyway.
    """
    wanted = f'path = "{role.history_path}"'
    header = _HEADER.replace("@NAME@", role.name)
    for candidate in SHIPPED_SETTINGS:
        try:
            text = candidate.read_text(encoding="utf-8")
        except OSError:
            continue
        text, count = re.subn(
            r'^path = "history\.sqlite3" *#.*$',
            f'{wanted}  # the unit\'s StateDirectory; "" = memory only',
            text,
            count=1,
            flags=re.MULTILINE,
        )
        if count and _history_of(text) == str(role.history_path):
            return header + text
    return (
        header + '# Every key is optional; README.md, "Settings", lists them with their defaults.'
        f'\n[history]\n{wanted}  # the unit\'s StateDirectory; "" = memory only\n'
    )


_HEADER = (
    "# Written by `dashboard service install`. The service reads this file at start; after\n"
    "# editing it, `systemctl restart @NAME@`. History stays in /var/lib/@NAME@, the\n"
    "# only folder the service may write to.\n\n"
)


def _history_of(text: str) -> object:
    try:
        return tomllib.loads(text).get("history", {}).get("path")
    except tomllib.TOMLDecodeError:
        return None


def main(args: argparse.Namespace) -> int:
    """``dashboard service print | install`` (arguments parsed by dashboard.cli)."""
    python = os.path.abspath(sys.executable)
    role = AGENT if getattr(args, "agent", False) else WEB
    config = Path(os.path.abspath(args.config or role.config))
    if args.action == "print":
        sys.stdout.write(render(python, config, role))
        _warn(python, config, config if config.is_file() else None, None, role)
        return EX_OK
    return install(python, config, args.root, role)


def install(python: str, config: Path, root: Path | None, role: Role = WEB) -> int:
    if root is None and os.geteuid() != 0:
        print(
            "dashboard: service install writes to /etc: run it as root (sudo), "
            "or pass --root DIR to write under DIR instead",
            file=sys.stderr,
        )
        return EX_NOPERM
    base = Path(os.path.abspath(root)) if root is not None else _SYSTEM_ROOT
    unit_file = base / role.unit_path.relative_to("/")
    settings_file = base / config.relative_to("/")
    try:
        unit_file.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        _write(unit_file, render(python, config, role))
        print(f"wrote {unit_file}")
        if settings_file.exists():
            print(f"kept {settings_file} (it exists already)")
        else:
            settings_file.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            _write(settings_file, settings_text(role))
            print(f"wrote {settings_file} (history in {role.history_path})")
    except OSError as exc:
        where = exc.filename or unit_file
        print(f"dashboard: cannot install the service: {where}: {exc.strerror}", file=sys.stderr)
        return EX_NOPERM if isinstance(exc, PermissionError) else EX_SOFTWARE
    _warn(python, config, settings_file, root, role)
    print(f"next: {role.next_command}")
    return EX_OK


def _write(path: Path, text: str) -> None:
    """Write ``text`` readable by everyone (the service runs as a transient user)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _warn(
    python: str, config: Path, settings_file: Path | None, root: Path | None, role: Role = WEB
) -> None:
    """Problems that would stop the service although the unit is right: one line each."""
    problems = [_unreachable(python)]
    if settings_file is not None:
        problems.append(_history_problem(config, settings_file, root, role))
    for problem in filter(None, problems):
        print(f"dashboard: warning: {problem}", file=sys.stderr)


def _unreachable(python: str) -> str | None:
    """Whether the service's transient user could run ``python`` and import the dashboard."""
    targets = (Path(python), Path(python).resolve(), _PACKAGE / "__init__.py")
    for target in targets:
        for folder in reversed(target.parents):
            try:
                mode = folder.stat().st_mode
            except OSError:
                continue
            if not mode & stat.S_IXOTH:
                return (
                    f"{folder} is closed to other users, so the service's transient user "
                    f"cannot run {python}: install the dashboard where everyone may read it, "
                    "e.g. python3 -m venv /opt/dashboard/.venv"
                )
    return None


def _history_problem(
    config: Path, settings_file: Path, root: Path | None, role: Role = WEB
) -> str | None:
    try:
        settings = load_settings(settings_file)
    except SettingsError as exc:
        return f"{exc} (the service would exit 78 and not restart)"
    path = settings.history.path
    if path is None:
        return None
    if root is not None and path.is_relative_to(os.path.abspath(root)):
        path = Path("/") / path.relative_to(os.path.abspath(root))
    if path.is_relative_to(role.state_dir):
        return None
    return (
        f"{config} [history] path: {path} is read-only for the service; "
        f'set path = "{role.history_path}" to keep history'
    )
