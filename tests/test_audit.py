"""`make audit` (.ci/audit.py): what it makes of pip-audit's report, and an unreachable service."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import urllib.error

import pytest

from tests.serverproc import ROOT, free_port


def _load():
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ci_audit"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


audit = _load()
NOT_FOUND = "Dependency not found on PyPI and could not be audited: flask (3.1.3)"


def page(version, vulnerabilities=()):
    return {"info": {"version": version}, "vulnerabilities": list(vulnerabilities)}


def never(name):
    raise AssertionError(f"{name}'s page was not to be asked for")


def test_pip_audit_findings_name_the_advisory_and_the_fixed_release():
    report = {"dependencies": [
        {"name": "werkzeug", "version": "3.0.0", "vulns": [
            {"id": "GHSA-q34m-jh98-gwm2", "aliases": ["CVE-2024-49767"], "fix_versions": ["3.0.6"]},
        ]},
        {"name": "flask", "version": "3.1.3", "vulns": []},
    ]}  # fmt: skip
    result = audit.judge(report, never, never)
    assert result.vulnerable == [
        "vulnerable: werkzeug 3.0.0: GHSA-q34m-jh98-gwm2 / CVE-2024-49767 (fixed in 3.0.6)"
    ]
    assert (result.checked, result.unchecked) == (2, [])


def test_a_skipped_latest_release_is_checked_against_its_project_page():
    report = {"dependencies": [{"name": "flask", "skip_reason": NOT_FOUND}]}
    advisories = [
        {"id": "PYSEC-1", "aliases": [], "fixed_in": [], "withdrawn": None},
        {"id": "PYSEC-2", "aliases": ["CVE-2"], "fixed_in": ["9"], "withdrawn": "2026-01-01"},
    ]
    result = audit.judge(report, lambda name: "3.1.3", lambda name: page("3.1.3", advisories))
    assert result.vulnerable == ["vulnerable: flask 3.1.3: PYSEC-1 (fixed in no fixed release yet)"]
    assert (result.checked, result.from_pages, result.unchecked) == (1, 1, [])


def test_a_skipped_release_behind_the_latest_is_named_as_not_checked():
    report = {"dependencies": [{"name": "flask", "skip_reason": NOT_FOUND}]}
    result = audit.judge(report, lambda name: "3.1.2", lambda name: page("3.1.3"))
    assert result.checked == 0 and result.vulnerable == []
    [line] = result.unchecked
    assert line.startswith(f"not checked: flask 3.1.2: {NOT_FOUND}; ")
    assert "only the latest release, 3.1.3" in line


def test_an_unreachable_project_page_is_named_as_not_checked():
    def refused(name):
        raise urllib.error.URLError("[Errno 111] Connection refused")

    report = {"dependencies": [{"name": "flask", "skip_reason": NOT_FOUND}]}
    result = audit.judge(report, lambda name: "3.1.3", refused)
    assert result.unchecked == [
        f"not checked: flask 3.1.3: {NOT_FOUND}; its project page: "
        "<urlopen error [Errno 111] Connection refused>"
    ]


def test_the_editable_project_itself_is_not_looked_up():
    editable = {"name": "dashboard", "skip_reason": "distribution marked as editable"}
    report = {"dependencies": [editable]}
    result = audit.judge(report, never, never)
    assert (result.checked, result.vulnerable, result.unchecked) == (0, [], [])


@pytest.mark.parametrize(("ci", "status"), [("true", 2), ("", 0)])
def test_an_unreachable_service_is_said_to_have_audited_nothing(tmp_path, ci, status):
    """Every request goes to a proxy on a loopback port nobody listens on."""
    proxy = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "CI": ci, "HTTPS_PROXY": proxy, "https_proxy": proxy,
           "PIP_CACHE_DIR": str(tmp_path)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "audit.py")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == status, done.stdout + done.stderr
    first, *rest = done.stdout.splitlines()
    assert first.startswith("audit: NOTHING WAS AUDITED (the advisory service could not be used): ")
    assert "Connection refused" in first and "Traceback" not in done.stdout + done.stderr
    lenient = "audit: the result is incomplete; not an error outside CI (under CI=true it is)"
    assert rest == ([] if ci else [lenient])
