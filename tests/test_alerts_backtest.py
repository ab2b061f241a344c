"""`dashboard alerts backtest` against a history file the test writes through the real
History class: full resolution inside retention, rollup averages before it."""

from __future__ import annotations

import json
import time

import pytest

from dashboard.history.tiers import History
from dashboard.settings import HistorySettings

DISK = "filesystem.root.used_percent"


def write_history(path, now: float) -> None:
    """Three hours of a filesystem filling up twice: once two and a half hours ago (only in
    the rollup tier by now) and once half an hour ago (full resolution)."""
    clock = [now - 3 * 3600]
    history = History(HistorySettings(path=path, retention=3600.0), clock=lambda: clock[0])
    history.open()
    history.register("filesystem", 10.0)
    ts = now - 3 * 3600
    while ts < now - 20:
        ago = now - ts
        full = 150 * 60 < ago < 170 * 60 or 20 * 60 < ago < 40 * 60
        history.append("filesystem", ts, {DISK: 97.0 if full else 60.0})
        history.append("agent1/filesystem", ts, {DISK: 50.0})
        ts += 10
        clock[0] = ts
    history.flush()
    clock[0] = now
    history.maintain()
    history.close()


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "h.sqlite3"
    write_history(path, time.time())
    text = f'[history]\npath = "{path}"\nretention = "1h"\n[alerts]\ngroup_wait = "30s"\n'
    (tmp_path / "settings.toml").write_text(text)
    return tmp_path / "settings.toml"


def test_backtest_prints_each_fire_and_resolve_and_the_notices(run_cli, config):
    result = run_cli("alerts", "backtest", "--rule", "filesystem-full", "--since", "4h",
                     config=config)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "rollup averages (beyond retention)" in out and "full resolution" in out
    assert out.count("pending -> critical") == 2 and out.count("critical -> ok") == 2
    # The second episode starts within `repeat` (4 h) of the first one's notice: damped.
    assert "fired 2, resolved 2; notifications 2 (firing 1, repeat 0, resolved 1)" in out
    assert "grouping by group_wait may merge some" in out
    assert "agent1" not in out  # its disk never filled


def test_backtest_tries_an_edited_rule_from_a_file_as_json(run_cli, config, tmp_path):
    edited = tmp_path / "edited.toml"
    edited.write_text('[[rule]]\nname = "filesystem-full"\nseries = "filesystem.*.used_percent"\n'
                      'warn = 40\nfor = "1m"\nrecover = "1m"\n')  # fmt: skip
    result = run_cli("alerts", "backtest", "--rules", str(edited), "--since", "2h",
                     "--format", "json", config=config)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [s["tier"] for s in report["spans"]] == ["rollup", "raw"]
    (rule,) = report["rules"]
    assert rule["name"] == "filesystem-full"
    hosts = {t["host"] for t in rule["transitions"] if t["state"] == "warning"}
    assert len(hosts) == 2 and "agent1" in hosts  # the edited floor of 40 catches both
    assert rule["notifications"]["total"] == rule["notifications"]["firing"] + rule[
        "notifications"]["resolved"]  # fmt: skip
    first = rule["transitions"][0]
    assert {"rule", "host", "series", "from", "state", "value", "threshold", "ts"} <= set(first)

    missing = run_cli("alerts", "backtest", "--rule", "filesystem-ful", config=config)
    assert missing.returncode == 2
    assert "no rule named 'filesystem-ful'; did you mean 'filesystem-full'?" in missing.stderr
