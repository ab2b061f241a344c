"""The command line: ``dashboard run | agent | check | collectors | service | alerts``.

``check`` exits non-zero on any problem it finds: 78 for settings or plugins, 1 for a history
file that cannot be used (``run`` starts anyway in both cases, without what is broken).

Settings are read with the standard library only, *before* anything imports threading or
sockets, because eventlet and gevent must monkey-patch first. Exit codes: 0 ok, 2 bad usage,
78 (EX_CONFIG) bad configuration, with a one-line reason and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dashboard import exits
from dashboard.settings import (
    LOG_LEVELS,
    Settings,
    SettingsError,
    load_settings,
    with_overrides,
)

DEFAULT_CONFIG = Path("settings.toml")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "service":  # writes a unit; never reads the settings it names
        from dashboard.service import unit as service

        return service.main(args)
    try:
        settings = _settings(args)
        if args.command in ("run", "check") and settings.alerts.enabled:
            from dashboard.alerts.rules import load_rules

            load_rules(settings)  # a bad rule stops the start (78), before anything runs
        if args.command == "alerts":
            from dashboard.alerts import command as alerts

            return alerts.main(args, settings)
    except SettingsError as exc:
        return exits.report(exc)
    if args.command == "run":
        _patch(settings.server.async_mode)
        from dashboard.service.server import serve

        return serve(settings, load=lambda: _settings(args))
    if args.command == "agent":  # plain threads: no event loop, nothing to patch
        from dashboard.service.agent import run_agent

        return run_agent(settings)
    return _offline(args.command, settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dashboard", description="Live operations dashboard.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="start the server")
    run.add_argument("--host", help="address to bind (overrides [server] host)")
    run.add_argument("--port", type=int, help="port to listen on (overrides [server] port)")
    agent = commands.add_parser("agent", help="collect and send to [queue] url (scale-out)")
    for sub in (run, agent):
        sub.add_argument(
            "--log-level",
            choices=LOG_LEVELS,
            help="debug, info, warning or error (overrides [server] log_level)",
        )
    check = commands.add_parser("check", help="validate the configuration and collectors")
    listing = commands.add_parser("collectors", help="list collectors and their series")
    alert_actions = _alerts_parser(commands)
    for sub in (run, agent, check, listing, *alert_actions):
        sub.add_argument(
            "--config",
            type=Path,
            metavar="PATH",
            help="settings file (default: ./settings.toml if present)",
        )
    _service_parser(commands)
    return parser


def _alerts_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    """``dashboard alerts list | test | backtest`` (dashboard/alerts/command.py)."""
    from dashboard.alerts import command

    alerts = command.add_parser(commands)
    actions = next(a for a in alerts._actions if isinstance(a, argparse._SubParsersAction))
    return list(actions.choices.values())


def _service_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``dashboard service print | install`` (dashboard/service.py)."""
    service = commands.add_parser("service", help="print or install the systemd unit")
    actions = service.add_subparsers(dest="action", required=True, metavar="ACTION")
    printing = actions.add_parser("print", help="write the unit to stdout")
    install = actions.add_parser(
        "install", help="write the unit (and settings, if absent) under /etc; needs root"
    )
    install.add_argument(
        "--root", type=Path, metavar="DIR", help="write under DIR instead of / (no root needed)"
    )
    for sub in (printing, install):
        sub.add_argument(
            "--config",
            type=Path,
            metavar="PATH",
            help="settings file the service reads (default: /etc/dashboard/settings.toml, "
            "or /etc/dashboard/agent.toml with --agent)",
        )
        sub.add_argument(
            "--agent", action="store_true", help="the agent's unit (dashboard-agent.service)"
        )


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    settings = load_settings(path)
    if args.command == "run":
        settings = with_overrides(settings, args.host, args.port, args.log_level)
    elif args.command == "agent":
        settings = with_overrides(settings, None, None, args.log_level)
    return settings


def _patch(async_mode: str) -> None:
    """Monkey-patch for the chosen async mode; must run before threading is imported."""
    if async_mode == "eventlet":
        import warnings

        # eventlet announces its maintenance-only status at import; RELIABILITY.md #6 covers it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import eventlet
        eventlet.monkey_patch()
    elif async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()


def _offline(command: str, settings: Settings) -> int:
    from dashboard.alerts.command import check_lines
    from dashboard.history.inspect import inspect_history
    from dashboard.pipeline.registry import load_registry
    from dashboard.web import assets
    from dashboard.workers import NativeWorkers

    try:
        registry = load_registry(settings, NativeWorkers("threading").call)
        assets.check()
    except exits.KNOWN as exc:
        return exits.report(exc)
    loaded = registry.loaded
    queue_problem = None
    if command == "check":
        enabled = sum(item.enabled for item in loaded)
        total = len(loaded) + len(registry.skipped)
        print(f"{settings.source}: ok ({enabled} of {total} collectors enabled)")
        for item in loaded:
            if item.origin != "built-in":
                print(f"plugin {item.collector.name!r} loaded from {item.origin}")
        for skipped in registry.skipped:
            print(f"plugin {skipped.name!r} is disabled, not imported ({skipped.origin})")
        for line in _security(settings):
            print(line)
        history = inspect_history(settings.history.path)
        print(f"history: {history}")
        try:
            lines = check_lines(settings, {i.collector.name: [s.name for s in i.series]
                                           for i in loaded})  # fmt: skip
        except SettingsError as exc:
            return exits.report(exc)
        print("\n".join(lines))
        queue_problem = _check_queue(settings)
    else:
        for item in loaded:
            state = "enabled" if item.enabled else "disabled"
            where = "" if item.origin == "built-in" else f"  (plugin: {item.origin})"
            print(f"{item.collector.name}  every {item.interval:g} s  {state}{where}")
            for series in item.series:
                print(f"    {series.name}  [{series.unit}]  {series.label}")
        for skipped in registry.skipped:
            print(f"{skipped.name}  disabled, not imported  (plugin: {skipped.origin})")
    for error in registry.errors:
        print(f"dashboard: {error} — the plugin is disabled", file=sys.stderr)
    if command == "check" and (registry.errors or queue_problem in ("auth", "tls")):
        return exits.EX_CONFIG  # check fails on any problem; run would start without them
    if command == "check" and (history.startswith("WARNING") or queue_problem):
        return exits.EX_SOFTWARE
    return 0


def _security(settings: Settings) -> list[str]:
    """What ``check`` says of login and TLS: where the token comes from, never the token."""
    auth, server = settings.auth, settings.server
    if auth.token_file is not None:
        login = f"auth: token from {auth.token_file}"
    elif auth.token:
        login = f"auth: token set in {settings.source}"
    else:
        login = "auth: off (no token; allowed on loopback only)"
    if server.tls:
        tls = f"tls: https and wss with {server.tls_cert} and {server.tls_key}"
    elif server.is_loopback:
        tls = "tls: off (plain http)"
    else:
        tls = (
            "tls: off: plain http on a non-loopback address, the token crosses the network "
            "in clear unless a TLS proxy is in front (docs/security.md)"
        )
    return [login, tls]


def _check_queue(settings: Settings) -> str | None:
    """Print one line on Redis (a problem on stderr); what is wrong, if anything."""
    if not settings.queue.enabled:
        return None
    from dashboard.fleet.connection import probe

    line, problem = probe(settings.queue)
    print(f"queue: {line}", file=sys.stderr if problem else sys.stdout)
    return problem
