"""The unit's LoadCredential= lines for the token and the TLS pair: shown (commented) by
`dashboard service print`, accepted by systemd-analyze once uncommented, exposure still
<= 2.0, and the settings they go with read the copies systemd makes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from dashboard.service import unit as service
from tests import test_service
from tests.tlsserver import Certificates

MAX_EXPOSURE = test_service.MAX_EXPOSURE
systemd_analyze = test_service.systemd_analyze  # the fixture: skips (or fails under CI) without it

LINES = [
    "#LoadCredential=token:/etc/dashboard/token",
    "#LoadCredential=tls.crt:/etc/dashboard/tls.crt",
    "#LoadCredential=tls.key:/etc/dashboard/tls.key",
]


def test_service_print_shows_how_to_load_the_token_and_the_tls_pair(run_cli):
    result = run_cli("service", "print")
    assert result.returncode == 0, result.stderr
    assert all(line in result.stdout.splitlines() for line in LINES)
    agent = run_cli("service", "print", "--agent").stdout
    assert "LoadCredential" not in agent  # its Redis password: docs/scale-out.md


def test_with_the_credentials_loaded_the_unit_verifies_and_stays_at_most_2(
    systemd_analyze,
    tmp_path,
):
    text = service.render(sys.executable, service.DEFAULT_CONFIG)
    for line in LINES:
        text = text.replace(line, line[1:])
    unit = tmp_path / "dashboard.service"
    unit.write_text(text)
    verify = subprocess.run(
        [systemd_analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    ours = [line for line in verify.stderr.splitlines() if "dashboard.service" in line]
    assert verify.returncode == 0 and not ours, verify.stderr
    security = subprocess.run(
        [systemd_analyze, "security", "--offline=true", "--no-pager", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for dashboard\.service: (\d+\.\d+)", security.stdout)
    assert security.returncode == 0 and score and float(score.group(1)) <= MAX_EXPOSURE


def test_the_settings_read_what_systemd_hands_the_service(run_cli, tmp_path):
    """As systemd runs it: the originals in /etc/dashboard (here: a folder like it), private
    copies under the credential names in $CREDENTIALS_DIRECTORY; and `check` from a shell,
    without it, finds the originals by the same names."""
    etc, copies = tmp_path / "etc", tmp_path / "run-credentials"
    made = Certificates.make(tmp_path / "made")
    etc.mkdir()
    (etc / "token").write_text("unit-token-0123456789abcdef\n")
    shutil.copy(made.cert, etc / "tls.crt")
    shutil.copy(made.key, etc / "tls.key")
    shutil.copytree(etc, copies)
    config = etc / "settings.toml"
    config.write_text(
        '[server]\ntls_cert = "tls.crt"\ntls_key = "tls.key"\n'
        '[auth]\ntoken_file = "token"\n[history]\npath = ""\n'
    )
    argv = [sys.executable, "-m", "dashboard", "check", "--config", str(config)]
    env = {"CREDENTIALS_DIRECTORY": str(copies), "PATH": "/usr/bin:/bin"}
    root = Path(__file__).resolve().parent.parent
    service_view = subprocess.run(
        argv, cwd=root, capture_output=True, text=True, timeout=60, env=env
    )
    assert service_view.returncode == 0, service_view.stderr
    assert f"auth: token from {copies / 'token'}" in service_view.stdout
    assert f"tls: https and wss with {copies / 'tls.crt'} and {copies / 'tls.key'}" in (
        service_view.stdout
    )
    shell_view = run_cli("check", config=config)
    assert f"auth: token from {etc / 'token'}" in shell_view.stdout
    assert "unit-token" not in service_view.stdout + shell_view.stdout + shell_view.stderr
