"""Alert rules: where they come from, what a bad one says, what `dashboard check` reports,
and a SIGHUP that reloads them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from dashboard.alerts.model import Key, State
from dashboard.alerts.rules import check_rule, load_rules, unmatched
from dashboard.pipeline.validate import Reading
from dashboard.settings import RawRule, SettingsError, parse_settings
from tests.toy import Toy

GOOD = {"name": "full", "series": "filesystem.*.used_percent", "warn": 90, "crit": 95}


def settings(rules: list[dict[str, Any]] | None = None, folder: Path | None = None, **alerts: Any):
    table: dict[str, Any] = {"rule": rules or [], **alerts}
    if folder is not None:
        table["rules_path"] = str(folder)
    return parse_settings({"alerts": table}, source="s.toml")


def error(table: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as err:
        load_rules(settings([table]))
    return str(err.value)


def test_the_shipped_defaults_are_on_and_quiet_here():
    names = [r.name for r in load_rules(settings())]
    assert names == ["filesystem-full", "memory-used", "swap-used", "load-per-core",
                     "collector-failing", "host-stale"]  # fmt: skip
    full = load_rules(settings())[0]
    assert (full.warn, full.crit, full.clear, full.for_, full.recover) == (90, 95, 88, 120, 60)


def test_a_rule_replaces_one_of_its_name_and_enabled_false_turns_it_off(tmp_path):
    (tmp_path / "10-disk.toml").write_text(
        '[[rule]]\nname = "filesystem-full"\nseries = "filesystem.*.used_percent"\n'
        'warn = 80\n\n[[rule]]\nname = "swap-used"\nenabled = false\n'
    )
    (tmp_path / "20-more.toml").write_text(
        '[[alerts.rule]]\nname = "cpu-hot"\nseries = "cpu.total"\nwarn = 95\nfor = "10m"\n'
    )
    (tmp_path / "notes.txt").write_text("not a rules file")
    rules = {r.name: r for r in load_rules(settings([{**GOOD, "name": "mine"}], tmp_path))}
    assert "swap-used" not in rules
    assert rules["filesystem-full"].warn == 80 and rules["filesystem-full"].crit is None
    assert rules["filesystem-full"].source == str(tmp_path / "10-disk.toml")
    assert rules["cpu-hot"].for_ == 600 and "mine" in rules


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({**GOOD, "recovr": "1m"}, "recovr: unknown key; did you mean 'recover'? (known: aggr"),
        ({**GOOD, "windw": "1m"}, "windw: unknown key; did you mean 'window'?"),
        ({**GOOD, "aggregate": "mean"},
         "aggregate = 'mean': expected one of 'avg', 'min', 'max', 'last'"),
        ({**GOOD, "kind": "stail"},
         "kind = 'stail': expected one of 'threshold', 'stale', 'failing'; did you mean 'stale'?"),
        ({**GOOD, "crit": 80}, "crit = 80.0: expected a number above warn (90)"),
        ({**GOOD, "clear": 92}, "clear = 92.0: expected at most the mildest threshold (90)"),
        ({**GOOD, "below": True}, "crit = 95.0: expected a number below warn"),
        ({**GOOD, "window": "2h"}, "window = '2h': expected a duration from 1 s to 3600 s"),
        ({**GOOD, "for": "soon"}, "for = 'soon': expected a duration such as"),
        ({**GOOD, "warn": "90"}, "warn = '90': expected a number"),
        ({**GOOD, "summary": "{host} at {vlaue}"},
         "summary = '{host} at {vlaue}': expected only the placeholders {host}, {series}, "
         "{value}, {unit}, {threshold}; {vlaue} is not one; did you mean 'value'?"),
        ({"name": "full", "series": "cpu.total"}, "warn: missing; a rule needs warn, crit or both"),
        ({"name": "full", "kind": "stale", "series": "cpu"},
         'series: unknown key; a stale rule takes collector = "<glob>" instead'),
        ({"name": "full", "kind": "stale", "warn": 3},
         "warn: unknown key (it belongs to other kinds of rule, not 'stale')"),
    ],
)  # fmt: skip
def test_a_bad_rule_names_the_file_rule_key_value_and_what_was_expected(table, expected):
    assert "s.toml rule #1 'full': " + expected in error(table)
    assert "s.toml rule #1: name: missing" in error({"series": "cpu.total", "warn": 1})


def test_the_same_name_twice_in_one_file_is_an_error_and_so_is_a_stray_table(tmp_path):
    message = error_of(settings([GOOD, {**GOOD, "warn": 80}]))
    assert "s.toml rule #2 'full': name = 'full': expected a name not used by rule #1" in message
    (tmp_path / "a.toml").write_text('[rules]\nname = "x"\n')
    message = error_of(settings(folder=tmp_path))
    assert f"{tmp_path / 'a.toml'} rules: unknown key; did you mean 'rule'?" in message
    (tmp_path / "a.toml").write_text(
        '[[rule]]\nname = "x"\nseries = "cpu.total"\nwarn = 5\nagregate = "max"\n'
    )
    message = error_of(settings(folder=tmp_path))
    assert (
        f"{tmp_path / 'a.toml'} rule #1 'x': agregate: unknown key; did you mean 'aggregate'?"
        in message
    )


def error_of(s) -> str:
    with pytest.raises(SettingsError) as err:
        load_rules(s)
    return str(err.value)


def test_a_glob_matching_no_known_series_is_a_warning():
    rules = load_rules(settings([{**GOOD, "name": "typo", "series": "filesytem.*.used_percent"}]))
    series = {"filesystem": ["filesystem.root.used_percent"], "memory": ["memory.used_percent",
              "memory.swap_used_percent"], "load": ["load.15m"], "cpu": ["cpu.total"]}  # fmt: skip
    warnings = unmatched(rules, series)
    assert len(warnings) == 1
    assert (
        "s.toml rule 'typo': series glob 'filesytem.*.used_percent' matches no series"
        in warnings[0]
    )


@pytest.mark.timeout(120)
def test_check_reports_rules_and_exits_78_on_a_bad_one(run_cli, tmp_path):
    history = f'[history]\npath = "{tmp_path / "h.sqlite3"}"\n'
    good = history + '[[alerts.rule]]\nname = "typo"\nseries = "cpu.totl"\nwarn = 90\n'
    result = run_cli("check", config=good)
    assert result.returncode == 0, result.stderr
    assert "alerts: 7 rules in force" in result.stdout
    assert "WARNING: " in result.stdout and "rule 'typo': series glob 'cpu.totl'" in result.stdout
    bad = history + '[[alerts.rule]]\nname = "x"\nseries = "cpu.total"\nwarn = 90\nfro = "1m"\n'
    for command in ("check", "run"):  # an agent evaluates no rules: the web processes do
        result = run_cli(command, config=bad)
        assert result.returncode == 78, (command, result.stderr)
        assert result.stderr.count("\n") == 1
        assert "rule #1 'x': fro: unknown key; did you mean 'for'?" in result.stderr


def test_sighup_reloads_rules_keeping_the_state_of_those_that_stay(
    tmp_path, clock, monkeypatch, caplog
):
    from dashboard import create_app
    from dashboard.pipeline import registry as registry_module
    from dashboard.service import reload

    base = {"server": {"async_mode": "threading"}, "history": {"path": ""}}
    rule = {"name": "toy-high", "series": "toy.a", "warn": 10, "crit": 20}
    current = {**base, "alerts": {"rule": [rule, {**rule, "name": "other"}]}}
    app = create_app(current, collectors=(Toy,), clock=clock)
    runtime = app.extensions["dashboard"]
    monkeypatch.setattr(reload, "load_registry", lambda s, call: registry_module.load_registry(
        s, call, classes=(Toy,), eps=()))  # fmt: skip
    runtime.alerts.open()
    topic = runtime.hub.topic("toy")
    runtime.alerts.observe(topic, Reading(clock.now, {"toy.a": 25.0}, None))
    runtime.evaluate_alerts()
    key = Key("toy-high", runtime.hub.host, "toy.a")
    assert {a.key: a.state for a in runtime.alerts.alerts()}[key] is State.CRITICAL
    reloader = reload.Reloader(runtime, lambda: parse_settings(current), lambda name: None)

    current = {**base, "alerts": {"rule": [{**rule, "crit": 30}], "group_wait": "5s"}}
    with caplog.at_level(logging.INFO, logger="dashboard"):
        reloader()
    assert "rule other removed; rule toy-high changed" in caplog.text
    assert "need a restart to take effect: [alerts] group_wait" in caplog.text
    states = {a.key.rule: a.state for a in runtime.alerts.alerts()}
    assert states["toy-high"] is State.CRITICAL and "other" not in states
    assert runtime.alerts.rules["toy-high"].crit == 30

    current = {**base, "alerts": {"rule": [{**rule, "crit": 5}]}}
    reloader()
    assert (
        "reload refused: <settings> rule #1 'toy-high': crit = 5.0: expected a number above warn"
        in caplog.text
    )
    assert runtime.alerts.rules["toy-high"].crit == 30


def test_check_rule_reads_kinds():
    stale = check_rule(RawRule("t", 1, {"name": "s", "kind": "stale", "collector": "cpu",
                                        "for": "5m", "severity": "warning"}))  # fmt: skip
    assert (stale.series, stale.warn, stale.crit) == ("cpu", 300, None)
    failing = check_rule(RawRule("t", 1, {"name": "f", "kind": "failing"}))
    assert (failing.warn, failing.clear_at) == (3, 1)
