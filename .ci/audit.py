"""Audit the installed environment for known vulnerabilities: `make audit`, part of `make test`.

pip-audit asks PyPI's JSON API for the advisories of each installed release. Where that
per-release page is not served (a mirror or proxy may serve only the project pages), pip-audit
skips the package and still prints "No known vulnerabilities found". This wrapper never lets
that pass: a skipped package installed at its latest release is checked against its project
page instead (which lists the advisories of the latest release); any package still unchecked
is named, and so is a service that cannot be reached.

Exit status: 1 a known vulnerability; 2 not every package could be checked, under CI (a fresh
.venv, every package at its latest release); 0 otherwise. Outside CI an unchecked package is
reported and does not fail the run: a .venv installed a while ago is behind, and only its
latest releases can be checked where the per-release pages are missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

# pip's own record of PyPI's address: the index pip installs from and pip-audit asks.
from pip._internal.models.index import PyPI

# Advisories accepted on purpose, each with the reason: {"GHSA-...": "why it cannot reach us"}.
IGNORED: dict[str, str] = {}
TIMEOUT = 15  # seconds per request
VULNERABLE, UNCHECKED = 1, 2


@dataclass
class Audit:
    """What the run found: each a line fit to print."""

    checked: int = 0
    from_pages: int = 0  # of those, checked against the project page
    vulnerable: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def summary(self) -> str:
        pages = f" ({self.from_pages} from their PyPI project page)" if self.from_pages else ""
        return (
            f"audit: {self.checked} packages checked{pages}, {len(self.vulnerable)} known "
            f"vulnerabilities, {len(self.unchecked)} packages not checked"
        )


def advisory(name: str, version: str, ids: Iterable[str], fixed: Iterable[str]) -> str:
    fix = ", ".join(fixed) or "no fixed release yet"
    return f"vulnerable: {name} {version}: {' / '.join(ids)} (fixed in {fix})"


def judge(
    report: Mapping[str, Any],
    installed: Callable[[str], str],
    page: Callable[[str], Mapping[str, Any]],
) -> Audit:
    """Classify pip-audit's JSON report; a skipped package is looked up with ``page``
    (its PyPI project page, which may raise OSError or ValueError)."""
    audit = Audit()
    for dep in report["dependencies"]:
        name = dep["name"]
        if "skip_reason" not in dep:
            audit.checked += 1
            for v in dep["vulns"]:
                ids = [v["id"], *v.get("aliases", [])]
                audit.vulnerable.append(advisory(name, dep["version"], ids, v["fix_versions"]))
        elif needs_page(dep):
            _from_page(audit, name, installed(name), dep["skip_reason"], page)
    return audit


def needs_page(dep: Mapping[str, Any]) -> bool:
    """Skipped by pip-audit, and not because it is the project itself (editable)."""
    return "skip_reason" in dep and "editable" not in dep["skip_reason"]


def _from_page(
    audit: Audit,
    name: str,
    version: str,
    why: str,
    page: Callable[[str], Mapping[str, Any]],
) -> None:
    try:
        project = page(name)
        latest = project["info"]["version"]
    except (OSError, ValueError, KeyError) as exc:
        audit.unchecked.append(f"not checked: {name} {version}: {why}; its project page: {exc}")
        return
    if latest != version:
        audit.unchecked.append(
            f"not checked: {name} {version}: {why}; its project page describes only the "
            f"latest release, {latest} (upgrade to it, or audit where PyPI serves every release)"
        )
        return
    audit.checked += 1
    audit.from_pages += 1
    for v in project.get("vulnerabilities") or []:
        ids = [v["id"], *v.get("aliases", [])]
        if v.get("withdrawn") is None and not IGNORED.keys() & set(ids):
            audit.vulnerable.append(advisory(name, version, ids, v.get("fixed_in", [])))


def project_page(name: str) -> Mapping[str, Any]:
    with urllib.request.urlopen(f"{PyPI.pypi_url}/{name}/json", timeout=TIMEOUT) as resp:
        page: Mapping[str, Any] = json.load(resp)
    return page


def run_pip_audit() -> Mapping[str, Any] | str:
    """pip-audit's JSON report of this environment, or why there is none (one line)."""
    ignore = [arg for vuln in IGNORED for arg in ("--ignore-vuln", vuln)]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "--local", "--skip-editable",
             "--vulnerability-service", "pypi", "--progress-spinner", "off",
             "--aliases", "on", "--timeout", str(TIMEOUT), "--format", "json",
             "--output", str(out), *ignore],
            capture_output=True, text=True,
        )  # fmt: skip
        if out.is_file() and out.stat().st_size:
            report: Mapping[str, Any] = json.loads(out.read_text())
            return report
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return f"pip-audit exited {done.returncode}: {lines[-1] if lines else 'no output'}"


def main() -> int:
    strict = bool(os.environ.get("CI"))
    for vuln, why in IGNORED.items():
        print(f"audit: ignoring {vuln}: {why}")
    report = run_pip_audit()
    if isinstance(report, str):
        print(f"audit: NOTHING WAS AUDITED (the advisory service could not be used): {report}")
        return _incomplete(strict)
    skipped = [dep["name"] for dep in report["dependencies"] if needs_page(dep)]
    with ThreadPoolExecutor(8) as pool:  # one request a package, a few at a time
        pages = {name: pool.submit(project_page, name) for name in skipped}
        audit = judge(report, metadata.version, lambda name: pages[name].result())
    for line in audit.vulnerable + audit.unchecked:
        print(f"audit: {line}")
    print(audit.summary())
    if audit.vulnerable:
        return VULNERABLE
    return _incomplete(strict) if audit.unchecked else 0


def _incomplete(strict: bool) -> int:
    if strict:
        return UNCHECKED
    print("audit: the result is incomplete; not an error outside CI (under CI=true it is)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
