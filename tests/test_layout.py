"""The shape of the code: each name defined once, subpackages that import nothing heavy (the
command line monkey-patches before threading or sockets load), and the plugin API's paths.

Who may import whom is checked by ``lint-imports`` (``make lint``), from the layers in
pyproject.toml.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.serverproc import ROOT

SOURCES = sorted(
    [*ROOT.joinpath("dashboard").rglob("*.py"), *ROOT.joinpath("collectors").rglob("*.py")]
)


def defined_twice(body: list[ast.stmt]) -> list[str]:
    names = Counter(
        node.name
        for node in body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )
    return sorted(name for name, count in names.items() if count > 1)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_or_class_defines_a_function_twice(path: Path) -> None:
    """A second ``def`` silently replaces the first (``server.py`` had ``_check_port`` twice)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    twice = {"<module>": defined_twice(tree.body)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            twice[node.name] = defined_twice(node.body)
    assert {scope: names for scope, names in twice.items() if names} == {}


HEAVY = {"flask", "flask_socketio", "socketio", "engineio", "eventlet", "gevent", "psutil"}
HEAVY |= {"apscheduler", "threading", "socket", "sqlite3", "prometheus_client"}


def test_the_command_line_and_every_subpackage_import_nothing_heavy() -> None:
    """eventlet and gevent must monkey-patch before threading and sockets are imported: the
    command line reads settings first, so nothing on that path may import them."""
    modules = ["dashboard", "dashboard.cli", "dashboard.settings", "dashboard.exits"]
    modules += [f"dashboard.{p.name}" for p in ROOT.joinpath("dashboard").iterdir()
                if (p / "__init__.py").is_file()]  # fmt: skip
    code = (
        f"import importlib, json, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(set({sorted(HEAVY)!r}) & set(sys.modules))))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)  # fmt: skip
    assert json.loads(result.stdout) == []


def test_the_plugin_api_keeps_its_paths_and_is_typed() -> None:
    from collectors import Collector, Sample, Series
    from dashboard.testing import BadOutput, Reading, collect_once

    assert all((Collector, Sample, Series, BadOutput, Reading, collect_once))
    assert ROOT.joinpath("collectors", "py.typed").is_file()
    assert ROOT.joinpath("dashboard", "py.typed").is_file()
