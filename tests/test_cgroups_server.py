"""Services' and containers' series go where every series goes, with no special case: a real
server reading a written cgroup tree keeps them in history (``/api/history/cgroups`` and its
CSV), exports them on ``/metrics``, and fires an alert rule written over them."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

MiB = 2**20
RULE = """
[[alerts.rule]]
name = "group-memory"
series = "cgroups.*.memory_percent"
aggregate = "last"
window = "2s"
warn = 80
"""


def write_groups(root: Path) -> None:
    """Two services: `hot` uses 90 MiB of its 100 MiB limit, `calm` 10 MiB of 100 MiB."""
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu io memory pids\n")
    for name, used in (("hot", 90), ("calm", 10)):
        folder = root / "system.slice" / f"{name}.service"
        folder.mkdir(parents=True)
        for file, text in {
            "cpu.stat": "usage_usec 5\n",
            "memory.current": f"{used * MiB}\n",
            "memory.max": f"{100 * MiB}\n",
            "memory.stat": "inactive_file 0\n",
            "pids.current": "2\n",
            "io.stat": "",
        }.items():
            (folder / file).write_text(text)  # fmt: skip


def test_group_series_have_history_exports_and_alerts(server_factory, tmp_path, wait_until):
    write_groups(tmp_path / "cgroup")
    server = server_factory(settings=f'[collectors.cgroups]\nroot = "{tmp_path / "cgroup"}"\n'
                            + RULE)  # fmt: skip
    history = wait_until(
        lambda: (h := server.get_json("/api/history/cgroups?seconds=60"))["ts"] and h,
        "a cgroups sample in history")  # fmt: skip
    assert history["values"]["cgroups.hot.memory"][-1] == 90 * MiB
    assert history["values"]["cgroups.calm.memory_percent"][-1] == 10.0
    with urllib.request.urlopen(server.url + "/api/history/cgroups?seconds=60&format=csv") as r:
        assert "cgroups.hot.memory_percent" in r.read().decode().splitlines()[0]
    with urllib.request.urlopen(server.url + "/metrics") as r:
        metrics = r.read().decode()
    assert re.search(r'^dashboard_cgroups_hot_memory_percent\{host="[^"]+"\} 90\.0$', metrics, re.M)
    firing = wait_until(
        lambda: [a for a in server.get_json("/api/alerts")["alerts"] if a["state"] != "ok"],
        "the rule firing")  # fmt: skip
    assert [(a["series"], a["state"]) for a in firing] == [("cgroups.hot.memory_percent",
                                                            "warning")]  # fmt: skip
