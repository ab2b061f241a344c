"""No key is accepted and then ignored: a misspelt key in any table of settings.toml — the
dashboard's own tables and every built-in collector's, switched on or off — is refused,
naming the table and the key, and so is a table for a collector that does not exist."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest

from collectors.builtin import BUILTIN
from dashboard.pipeline.registry import load_registry
from dashboard.settings import SettingsError, parse_settings
from dashboard.workers import NativeWorkers

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = tomllib.loads((ROOT / "settings.toml").read_text())
OWN_TABLES = [name for name in SHIPPED if name != "collectors"]


def _load(raw: dict[str, Any]) -> None:
    settings = parse_settings(raw, source="s.toml")
    load_registry(settings, NativeWorkers("threading").call, eps=())  # this machine


def test_every_table_of_the_shipped_file_is_walked():
    assert set(OWN_TABLES) == {"server", "auth", "history", "plugins", "queue", "agent", "alerts"}
    assert set(SHIPPED["collectors"]) == {cls.name for cls in BUILTIN}


@pytest.mark.parametrize("table", OWN_TABLES)
def test_a_misspelt_key_in_any_of_the_dashboards_tables_is_refused(table):
    key = next(iter(SHIPPED[table]))
    typo = key[:-1] + "x" + key[-1]
    with pytest.raises(SettingsError) as err:
        _load({table: {typo: SHIPPED[table][key]}})
    assert f"s.toml [{table}] {typo}: unknown key; did you mean '{key}'?" in str(err.value)


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("cls", BUILTIN, ids=lambda cls: cls.name)
def test_a_misspelt_option_of_any_built_in_collector_is_refused(cls, enabled):
    table: dict[str, Any] = {"enabled": enabled, "intervl": 5}
    if cls.name == "textfile" and enabled:
        table["path"] = str(ROOT)  # it needs a folder to be switched on
    with pytest.raises(SettingsError) as err:
        _load({"collectors": {cls.name: table}})
    assert f"s.toml [collectors.{cls.name}]: unknown option 'intervl'" in str(err.value)
    assert "(known: " in str(err.value)


def test_a_table_for_a_collector_that_does_not_exist_is_refused():
    with pytest.raises(SettingsError, match=r"\[collectors\.prosesses\]: no collector named "
                       r"'prosesses'; did you mean 'processes'\?"):  # fmt: skip
        _load({"collectors": {"prosesses": {"interval": 2}}})


def test_an_unknown_table_is_refused():
    with pytest.raises(SettingsError, match=r"s\.toml autth: unknown key; did you mean 'auth'\?"):
        _load({"autth": {"token": "x"}})


def test_a_plugin_may_run_the_same_check_itself():
    from collectors import merge_options

    defaults = {"url": "http://127.0.0.1/nginx_status", "timeout": 2.0}
    assert merge_options(defaults, {"timeout": 3}) == {**defaults, "timeout": 3.0}
    with pytest.raises(ValueError) as err:
        merge_options(defaults, {"urll": "http://x"})
    assert str(err.value) == "unknown option 'urll'; did you mean 'url'? (known: timeout, url)"


def test_a_misspelt_key_in_an_alert_rule_is_refused_naming_the_rule():
    from dashboard.alerts.rules import load_rules

    rule = {"name": "disk", "series": "filesystem.*.used_percent", "warn": 90, "recovr": "1m"}
    with pytest.raises(SettingsError) as err:
        load_rules(parse_settings({"alerts": {"rule": [rule]}}, source="s.toml"))
    assert "s.toml rule #1 'disk': recovr: unknown key; did you mean 'recover'?" in str(err.value)


def test_the_rule_examples_commented_in_the_shipped_file_are_valid():
    """Uncommented, the [[alerts.rule]] examples in settings.toml load as they stand."""
    from dashboard.alerts.rules import load_rules

    text = (ROOT / "settings.toml").read_text()
    example = text[text.index("# [[alerts.rule]]") :].splitlines()
    lines = [line[2:] for line in itertools.takewhile(lambda x: x.startswith("#"), example)]
    raw = tomllib.loads("[alerts]\n" + "\n".join(lines))
    names = [r.name for r in load_rules(parse_settings(raw, source="s.toml"))]
    assert "swap-used" not in names and "filesystem-full" in names
