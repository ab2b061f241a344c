"""``dashboard alerts list | test | backtest``, and what ``dashboard check`` says of rules.

Everything here runs offline, without the server: ``list`` reads instances' states from
the history file read-only, ``test`` sends one notification to each target (the
notifier's self-test), ``backtest`` replays the history file.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from dashboard.alerts.model import Key, State
from dashboard.alerts.rules import Rule, load_rules, unmatched
from dashboard.settings import Settings, SettingsError, parse_duration

EX_SOFTWARE = 1
EX_USAGE = 2


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """``dashboard alerts ACTION``; the caller adds ``--config`` to each action."""
    alerts = commands.add_parser("alerts", help="alert rules: list, test, backtest")
    actions = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the rules in force and their instances' states")
    test = actions.add_parser("test", help="send a test notification to each target")
    test.add_argument("--target", metavar="NAME", help="only this target (as the list names it)")
    backtest = actions.add_parser("backtest", help="replay stored history through the rules")
    backtest.add_argument("--rule", metavar="NAME", help="only this rule")
    backtest.add_argument("--since", default="7d", metavar="DURATION", help="how far back (7d)")
    backtest.add_argument(
        "--rules", type=Path, metavar="FILE", help="a rules file ([[rule]] tables) to try instead"
    )
    backtest.add_argument("--format", choices=("table", "json"), default="table")
    return alerts


def main(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout) -> int:
    """Run one ``dashboard alerts`` action; its exit code."""
    if args.action == "test":
        return _test(settings, args.target, out)
    rules = load_rules(settings, extra=getattr(args, "rules", None))
    if args.action == "list":
        return _list(settings, rules, out)
    return _backtest(args, settings, rules, out)


def _test(settings: Settings, target: str | None, out: TextIO) -> int:
    """The notifier's self-test (``dashboard.alerts.notify.selftest``), imported only now:
    it brings the delivery libraries."""
    import importlib

    try:
        selftest = importlib.import_module("dashboard.alerts.notify.selftest")
    except ModuleNotFoundError as exc:
        print(f"dashboard: alerts test: notifications are not installed ({exc})", file=sys.stderr)
        return EX_SOFTWARE
    code: int = selftest.send_test(settings, target, out)
    return code


def check_lines(settings: Settings, series: Mapping[str, Iterable[str]]) -> list[str]:
    """``dashboard check``: how many rules are in force, and globs that match nothing."""
    if not settings.alerts.enabled:
        return ["alerts: off ([alerts] enabled = false)"]
    rules = load_rules(settings)
    where = (
        f", and rule files in {settings.alerts.rules_path}" if settings.alerts.rules_path else ""
    )
    lines = [f"alerts: {len(rules)} rules in force (shipped defaults, {settings.source}{where})"]
    return [*lines, _targets_line(settings), *unmatched(rules, series)]


def _targets_line(settings: Settings) -> str:
    """Where notifications go; an Apprise URL that Apprise refuses is a settings error."""
    from dashboard.alerts.notify.targets import from_settings

    try:
        targets = from_settings(settings.alerts)
    except ValueError as exc:
        raise SettingsError(f"{settings.source} {exc}") from None
    if not targets:
        return "alerts: no notification target (set [alerts] webhook or notify)"
    return "alerts: notifications to " + ", ".join(t.name for t in targets)


# -- list ---------------------------------------------------------------------------------


def _list(settings: Settings, rules: list[Rule], out: TextIO) -> int:
    states = read_states(settings.history.path)
    for rule in rules:
        print(f"{rule.name}  {_describe(rule)}  ({rule.source})", file=out)
        for key, (state, since, value) in sorted(states.items()):
            if key.rule == rule.name:
                shown = "-" if value is None else f"{value:g}"
                print(f"    {key.host} {key.series}  {state} since {_time(since)}  value {shown}",
                      file=out)  # fmt: skip
    if not states:
        print("(no alert is pending or firing)", file=out)
    return 0


def _describe(rule: Rule) -> str:
    if rule.kind == "stale":
        return f"stale: {rule.series} on {rule.host} silent for {_dur(rule.first)}"
    limits = [f"{n} {v:g}" for n, v in (("warn", rule.warn), ("crit", rule.crit)) if v is not None]
    limits.append(f"clear {rule.clear_at:g}")
    what = f"{rule.aggregate} over {_dur(rule.window)}" if rule.kind == "threshold" else "failures"
    timing = f"for {_dur(rule.for_)} recover {_dur(rule.recover)}"
    below = " below" if rule.below else ""
    per_core = " per core" if rule.per_core else ""
    levels = " ".join(limits)
    return f"{rule.kind}: {rule.series}{per_core} on {rule.host}, {what}{below} {levels}, {timing}"


def read_states(path: Path | None) -> dict[Key, tuple[str, float, float | None]]:
    """Instances not at rest, read-only from the history file (none if it has none)."""
    if path is None or not path.is_file():
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT rule, host, series, state, since, value FROM alert_instances"
            ).fetchall()
    except sqlite3.Error:
        return {}  # no alert tables yet (or an unreadable file: `dashboard check` says)
    return {Key(r, h, s): (state, since, value) for r, h, s, state, since, value in rows
            if state != State.OK.value}  # fmt: skip


# -- backtest -------------------------------------------------------------------------------


def _backtest(args: argparse.Namespace, settings: Settings, rules: list[Rule], out: TextIO) -> int:
    from collectors.probe import hostname
    from dashboard.alerts.backtest import BacktestError, backtest

    try:
        span = parse_duration(args.since)
    except ValueError as exc:
        raise SettingsError(f"--since {args.since!r}: {exc}") from None
    if args.rules is not None:  # the edited file's rules are the ones being tried
        edited = {r.name for r in load_rules_file(args.rules)}
        rules = [r for r in rules if r.name in edited]
    if args.rule is not None:
        rules = [r for r in rules if r.name == args.rule]
        if not rules:
            from collectors.messages import did_you_mean

            names = [r.name for r in load_rules(settings, extra=args.rules)]
            print(f"dashboard: no rule named {args.rule!r}{did_you_mean(args.rule, names)}",
                  file=sys.stderr)  # fmt: skip
            return EX_USAGE
    now = time.time()
    try:
        report = backtest(settings, rules, now - span, now, settings.agent.host or hostname())
    except BacktestError as exc:
        print(f"dashboard: backtest: {exc}", file=sys.stderr)
        return EX_SOFTWARE
    if args.format == "json":
        json.dump(_as_json(report), out, indent=2)
        print(file=out)
    else:
        _table(report, out)
    return 0


def load_rules_file(path: Path) -> list[Rule]:
    from dashboard.alerts.rules import check_rules, read_rule_file

    return check_rules(read_rule_file(path))


def _as_json(report: Any) -> dict[str, Any]:
    return {
        "since": report.since,
        "until": report.until,
        "readings": report.readings,
        "spans": [vars(span) for span in report.spans],
        "rules": [
            {
                "name": o.rule.name,
                "kind": o.rule.kind,
                "fired": o.fired,
                "resolved": o.resolved,
                "notifications": {**o.notices, "total": sum(o.notices.values())},
                "transitions": [t.as_dict() for t in o.transitions],
            }
            for o in report.outcomes
        ],
        "skipped": [{"rule": name, "reason": why} for name, why in report.skipped],
        "note": GROUPING_NOTE,
    }


GROUPING_NOTE = (
    "notifications count notices as the engine offers them (repeat, flap damping and the "
    "resolve's wait applied); grouping by group_wait may merge some into fewer messages"
)


def _table(report: Any, out: TextIO) -> None:
    for span in report.spans:
        kind = "full resolution" if span.tier == "raw" else "rollup averages (beyond retention)"
        print(f"{_time(span.start)} .. {_time(span.end)}: {kind}", file=out)
    print(f"{report.readings:,} readings replayed", file=out)
    for outcome in report.outcomes:
        print(f"\nrule {outcome.rule.name}  {_describe(outcome.rule)}", file=out)
        for t in outcome.transitions:
            value = "-" if t.value is None else f"{t.value:.4g}"
            limit = "-" if t.threshold is None else f"{t.threshold:g}"
            print(f"  {_time(t.ts)}  {t.key.host} {t.key.series}  {t.previous.value} -> "
                  f"{t.state.value}  value {value}  threshold {limit}", file=out)  # fmt: skip
        n = outcome.notices
        print(f"  fired {outcome.fired}, resolved {outcome.resolved}; notifications "
              f"{sum(n.values())} (firing {n['firing']}, repeat {n['repeat']}, "
              f"resolved {n['resolved']})", file=out)  # fmt: skip
    for name, why in report.skipped:
        print(f"\nrule {name}: skipped: {why}", file=out)
    print(f"\nnote: {GROUPING_NOTE}", file=out)


def _time(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _dur(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
