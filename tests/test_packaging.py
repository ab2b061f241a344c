"""A plain (non-editable) `pip install .` gives a server that renders its page and assets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.serverproc import ROOT, ServerProcess, free_port

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The project built as a wheel and installed (without deps) into a bare folder."""
    work = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the checkout's build/ (git-ignored) and copies what it finds
    # there: a stale one would put into the wheel a package the settings leave out.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(work / "dist"), str(ROOT)],
        check=True, timeout=300,
    )  # fmt: skip
    wheel = next((work / "dist").glob("dashboard-*.whl"))
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
         str(target), str(wheel)],
        check=True, timeout=300,
    )  # fmt: skip
    return target


def test_the_installed_package_serves_its_page_and_assets(installed, tmp_path):
    # Run from an empty folder with only the installed copy on the path, never the checkout.
    env = {**os.environ, "PYTHONPATH": str(installed)}
    config = tmp_path / "settings.toml"
    config.write_text('[server]\nasync_mode = "threading"\n')
    server = ServerProcess(config=config, port=free_port(), log=tmp_path / "server.log")
    cmd = [sys.executable, "-m", "dashboard", "run", "--config", str(config),
           "--port", str(server.port)]  # fmt: skip
    with server.log.open("ab") as log:
        server.proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        server.wait_ready()
        where = subprocess.run(
            [sys.executable, "-c", "import dashboard; print(dashboard.__file__)"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert where.startswith(str(installed))
        page = urllib.request.urlopen(server.url + "/", timeout=5).read().decode()
        assert "/vendor/socket.io.min.js" in page
        for path in ("/static/css/dashboard.css", "/static/js/main.js",
                     "/vendor/socket.io.min.js", "/vendor/plotly.min.js"):  # fmt: skip
            with urllib.request.urlopen(server.url + path, timeout=5) as resp:
                assert resp.status == 200 and resp.read(), path
    finally:
        assert server.stop() == 0


def test_the_wheel_carries_every_package_of_the_source_tree(installed):
    """A subpackage left out of [tool.setuptools.packages.find] would only fail at import."""
    source = {str(init.parent.relative_to(ROOT)) for top in ("dashboard", "collectors")
              for init in (ROOT / top).rglob("__init__.py")}  # fmt: skip
    shipped = {str(init.parent.relative_to(installed)) for top in ("dashboard", "collectors")
               for init in (installed / top).rglob("__init__.py")}  # fmt: skip
    assert "collectors/cgroups" in source
    assert source - shipped == set(), "packages missing from the wheel"


def test_the_wheel_carries_the_console_script(installed):
    script = installed / "bin" / "dashboard"
    assert script.is_file() and "dashboard.cli" in script.read_text()


def test_service_install_from_the_wheel_writes_the_documented_settings(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    root = tmp_path / "root"
    result = subprocess.run(
        [sys.executable, "-m", "dashboard", "service", "install", "--root", str(root)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    settings = (root / "etc" / "dashboard" / "settings.toml").read_text()
    assert "[collectors.cpu]" in settings and "# Default configuration" in settings  # the full file
    assert 'path = "/var/lib/dashboard/history.sqlite3"' in settings
    assert (root / "etc" / "systemd" / "system" / "dashboard.service").is_file()
