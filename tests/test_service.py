"""`dashboard service print | install` and the systemd unit they write.

No systemd runs here: the unit is checked offline with `systemd-analyze verify` and
`systemd-analyze security --offline=true`. Where systemd-analyze is missing those tests skip
locally with the reason and fail under CI=true (.ci/run installs Debian's systemd package).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import cli
from dashboard.service import unit as service
from dashboard.settings import load_settings
from tests.serverproc import ROOT

REPO_UNIT = ROOT / "deploy" / "dashboard.service"
REQUIRED = {
    "Type": "notify",
    "NotifyAccess": "main",
    "WatchdogSec": "30s",
    "Restart": "on-failure",
    "RestartPreventExitStatus": "78",
    "TimeoutStopSec": "20s",
    "DynamicUser": "yes",
    "StateDirectory": "dashboard",
    "ProtectSystem": "strict",
    "ProtectHome": "read-only",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "MemoryDenyWriteExecute": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter": "@system-service",
}
# Each would hide other users' processes, their owners or the network from the dashboard.
FORBIDDEN = ("ProtectProc", "ProcSubset", "PrivateUsers", "PrivateNetwork")
MAX_EXPOSURE = 2.0
REGENERATE = (
    ".venv/bin/python -c 'from dashboard.service import unit as s; "
    'print(s.render(s.CANONICAL_PYTHON, s.DEFAULT_CONFIG), end="")\' > deploy/dashboard.service'
)


def directives(unit: str) -> dict[str, list[str]]:
    """Key -> every value it is given, in order (sections do not matter here)."""
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        reason = "systemd-analyze is missing: install Debian's systemd package for unit checks"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def test_print_runs_this_interpreter_with_the_absolute_config(tmp_path, run_cli):
    result = run_cli("service", "print", "--config", "conf/settings.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = directives(result.stdout)
    expected = f"{sys.executable} -m dashboard run --config {tmp_path}/conf/settings.toml"
    assert found["ExecStart"] == [expected]
    for key, value in REQUIRED.items():
        assert value in found.get(key, []), key
    assert not set(FORBIDDEN) & set(found)
    assert found["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    assert result.stdout == service.render(sys.executable, tmp_path / "conf" / "settings.toml")


def test_print_defaults_to_etc_dashboard(run_cli):
    result = run_cli("service", "print")
    assert result.returncode == 0, result.stderr
    assert f"--config {service.DEFAULT_CONFIG}\n" in result.stdout


def test_exec_start_quotes_what_systemd_would_split_or_expand():
    line = service.exec_start("/opt/my venv/bin/py$thon", Path("/etc/da sh/a%b$HOME.toml"))
    assert line == (
        '"/opt/my venv/bin/py$thon" -m dashboard run --config "/etc/da sh/a%%b$$HOME.toml"'
    )
    assert service.exec_start("/usr/bin/python3", Path("/etc/x.toml")).startswith("/usr/bin/")


def test_the_repo_unit_is_the_template():
    expected = service.render(service.CANONICAL_PYTHON, service.DEFAULT_CONFIG)
    assert REPO_UNIT.read_text() == expected, f"regenerate it: {REGENERATE}"


def test_install_writes_the_unit_and_settings_and_says_what_next(tmp_path, run_cli):
    result = run_cli("service", "install", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    unit = tmp_path / "etc/systemd/system/dashboard.service"
    settings_file = tmp_path / "etc/dashboard/settings.toml"
    assert unit.read_text() == service.render(sys.executable, service.DEFAULT_CONFIG)
    assert result.stdout.splitlines()[-1] == f"next: {service.NEXT_COMMAND}"
    assert (unit.stat().st_mode & 0o777, settings_file.stat().st_mode & 0o777) == (0o644, 0o644)
    installed = load_settings(settings_file)
    assert installed.history.path == service.HISTORY_PATH
    # Everything else is the shipped defaults.
    shipped = load_settings(ROOT / "settings.toml")
    assert dataclasses.replace(installed, source="", history=shipped.history) == (
        dataclasses.replace(shipped, source="")
    )

    settings_file.write_text("[server]\nport = 5001\n")
    again = run_cli("service", "install", "--root", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert settings_file.read_text() == "[server]\nport = 5001\n"
    assert f"kept {settings_file}" in again.stdout
    assert "[history] path" in again.stderr  # beside the settings file: read-only for systemd


def test_install_honours_config(tmp_path, run_cli):
    result = run_cli(
        "service", "install", "--root", "root", "--config", "/srv/d.toml", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "root/srv/d.toml").is_file()
    unit = (tmp_path / "root/etc/systemd/system/dashboard.service").read_text()
    assert "--config /srv/d.toml\n" in unit


def test_settings_without_the_shipped_file_still_keep_history_in_the_state_dir(monkeypatch):
    monkeypatch.setattr(service, "SHIPPED_SETTINGS", (Path("/nonexistent/settings.toml"),))
    text = service.settings_text()
    assert 'path = "/var/lib/dashboard/history.sqlite3"' in text
    assert service._history_of(text) == str(service.HISTORY_PATH)


def test_install_without_root_exits_77_and_writes_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(service.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(service, "_SYSTEM_ROOT", tmp_path)
    assert cli.main(["service", "install"]) == service.EX_NOPERM
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "run it as root (sudo), or pass --root DIR" in err
    assert list(tmp_path.iterdir()) == []


def test_install_into_an_unusable_root_is_one_line(tmp_path, run_cli):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("service", "install", "--root", str(blocker))
    assert result.returncode == 1
    assert result.stderr.strip().endswith("Not a directory")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_service_usage_exits_2(run_cli):
    assert run_cli("service").returncode == 2
    assert run_cli("service", "print", "--root", "/tmp").returncode == 2


def test_systemd_analyze_verify_accepts_the_printed_unit(systemd_analyze, tmp_path):
    # A program path with a space and a $ checks the quoting too (verify needs it to exist).
    folder = tmp_path / "my venv"
    folder.mkdir()
    (folder / "py$thon").symlink_to(sys.executable)
    for python in (sys.executable, str(folder / "py$thon")):
        unit = tmp_path / "dashboard.service"
        unit.write_text(service.render(python, Path("/etc/da sh/settings.toml")))
        result = subprocess.run(
            [systemd_analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
        )
        ours = [line for line in result.stderr.splitlines() if "dashboard.service" in line]
        assert result.returncode == 0 and not ours, result.stderr


def test_systemd_analyze_security_exposure_is_at_most_2(systemd_analyze, tmp_path):
    unit = tmp_path / "dashboard.service"
    unit.write_text(service.render(sys.executable, service.DEFAULT_CONFIG))
    argv = [systemd_analyze, "security", "--offline=true", "--no-pager"]
    result = subprocess.run(
        [*argv, "--threshold=20", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    score = re.search(r"Overall exposure level for dashboard\.service: (\d+\.\d+)", result.stdout)
    assert score and float(score.group(1)) <= MAX_EXPOSURE, result.stdout


def test_the_agents_unit_runs_the_agent_with_the_same_sandbox(run_cli, tmp_path):
    agent = service.render(service.CANONICAL_PYTHON, service.AGENT.config, service.AGENT)
    assert (ROOT / "deploy" / "dashboard-agent.service").read_text() == agent
    web = service.render(service.CANONICAL_PYTHON, service.DEFAULT_CONFIG)
    differ = {k for k in set(directives(agent)) | set(directives(web))
              if directives(agent).get(k) != directives(web).get(k)}  # fmt: skip
    assert differ == {"Description", "ExecStart", "SyslogIdentifier", "StateDirectory"}
    assert "-m dashboard agent --config /etc/dashboard/agent.toml" in agent
    result = run_cli("service", "install", "--agent", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "etc/systemd/system/dashboard-agent.service").is_file()
    settings = load_settings(tmp_path / "etc/dashboard/agent.toml")
    assert settings.history.path == Path("/var/lib/dashboard-agent/history.sqlite3")
    assert "set [queue] url in it, then systemctl daemon-reload" in result.stdout


def test_systemd_analyze_accepts_the_agents_unit_and_scores_it(systemd_analyze, tmp_path):
    unit = tmp_path / "dashboard-agent.service"
    unit.write_text(service.render(sys.executable, service.AGENT.config, service.AGENT))
    verify = subprocess.run(
        [systemd_analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0 and "dashboard-agent" not in verify.stderr, verify.stderr
    result = subprocess.run(
        [systemd_analyze, "security", "--offline=true", "--no-pager", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for dashboard-agent\.service: (\d+\.\d+)",
                      result.stdout)  # fmt: skip
    assert result.returncode == 0 and score and float(score.group(1)) <= MAX_EXPOSURE
