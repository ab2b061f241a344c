"""The cgroup tree reader and namer: recorded trees (v2 and v1) replayed from
tests/data/cgroups, names of every kind of group, groups that vanish mid-read, and this
machine's own cgroups with a busy child moved into groups the test makes (as root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from collectors.cgroups import names, tree

DATA = Path(__file__).parent / "data" / "cgroups"
RECORDED = sorted(DATA.glob("*.json"))
HEX = "0123456789abcdef" * 4


def materialize(recording: dict, base: Path) -> Path:
    for rel, text in recording["files"].items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return base


@pytest.mark.parametrize("recorded", RECORDED, ids=[p.stem for p in RECORDED])
def test_a_recorded_tree_reads_as_expected(recorded: Path, tmp_path: Path):
    recording = json.loads(recorded.read_text())
    layout = tree.detect(materialize(recording, tmp_path))
    assert layout is not None and layout.version == recording["version"]
    found = tree.groups(layout)
    assert found == recording["expected"]["groups"]
    wanted = {p: names.classify(p) for p in found if names.is_wanted(names.classify(p))}
    assert sorted(wanted) == sorted(recording["expected"]["wanted"])
    for path, expected in recording["expected"]["wanted"].items():
        group = wanted[path]
        assert (group.name, group.kind) == (expected["name"], expected["kind"]), path
        counters = tree.read(layout, path)
        assert counters is not None and asdict(counters) == expected["counters"], path


@pytest.mark.parametrize(
    ("path", "name", "kind", "runtime"),
    [
        ("system.slice/nginx.service", "nginx", "service", None),
        ("user.slice/user-1000.slice/user@1000.service", "user@1000", "service", None),
        ("user.slice/user-1000.slice/session-c2.scope", "session-c2-uid1000", "session", None),
        (f"system.slice/docker-{HEX}.scope", HEX[:12], "container", "docker"),
        (f"machine.slice/libpod-{HEX}.scope", HEX[:12], "container", "podman"),
        (
            f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
            f"cri-containerd-{HEX}.scope",
            HEX[:12],
            "container",
            "containerd",
        ),
        (f"kubepods/besteffort/pod1/{HEX}", HEX[:12], "container", "containerd"),
        (f"docker/{HEX}", HEX[:12], "container", "docker"),
        ("system.slice", "system", "slice", None),
        ("init.scope", "init.scope", "other", None),
        ("", "root", "other", None),
    ],
)
def test_every_kind_of_group_is_named(path, name, kind, runtime):
    group = names.classify(path)
    assert (group.name, group.kind, group.runtime) == (name, kind, runtime)
    assert names.is_wanted(group) == (kind in ("service", "container", "session"))


def test_a_group_removed_while_read_is_left_out(tmp_path: Path):
    recording = json.loads((DATA / "v2-systemd-docker.json").read_text())
    layout = tree.detect(materialize(recording, tmp_path))
    assert layout is not None
    assert tree.read(layout, "system.slice/gone.service") is None
    folder = tmp_path / "system.slice" / "nginx.service"
    (folder / "memory.current").unlink()  # a controller turned off for it: no value
    counters = tree.read(layout, "system.slice/nginx.service")
    assert counters is not None and counters.memory is None and counters.pids == 5


def test_bad_counter_files_are_no_value_not_an_error(tmp_path: Path):
    recording = json.loads((DATA / "v2-systemd-docker.json").read_text())
    layout = tree.detect(materialize(recording, tmp_path))
    assert layout is not None
    folder = tmp_path / "system.slice" / "nginx.service"
    (folder / "pids.current").write_text("not a number\n")
    (folder / "io.stat").write_text("8:0 rbytes=x wbytes=\ngarbage\n")
    (folder / "cpu.stat").write_text("")
    counters = tree.read(layout, "system.slice/nginx.service")
    assert counters is not None
    assert counters.pids is None and counters.cpu_ns is None
    assert (counters.read_bytes, counters.write_bytes) == (0.0, 0.0)


def test_no_cgroup_tree_is_none(tmp_path: Path):
    assert tree.detect(tmp_path) is None
    assert tree.detect(tmp_path / "missing") is None


def test_five_thousand_groups_are_listed(tmp_path: Path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    for i in range(5000):
        (tmp_path / "system.slice" / f"s{i}.service").mkdir(parents=True)
    layout = tree.detect(tmp_path)
    assert layout is not None and len(tree.groups(layout)) == 5001


# -- this machine's cgroups ----------------------------------------------------------------

BUSY = "import time\nx = bytearray(64 * 2**20)\nwhile True:\n    x[0] = (x[0] + 1) % 256\n"


@pytest.fixture
def own_group() -> Iterator[tuple[tree.Layout, str]]:
    """A group of the test's own in every controller this machine has, holding one busy
    child (64 MiB touched, one core spinning); removed after."""
    layout = tree.detect()
    if layout is None:
        pytest.skip("no readable cgroup tree on this machine")
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("making cgroups needs root, and CI runs as root")
        pytest.skip("making cgroups needs root")
    name = f"dashboard-test-{uuid.uuid4().hex[:8]}"
    roots = list(layout.roots.values())
    if layout.version == 2:
        (roots[0] / "cgroup.subtree_control").read_text()  # the controllers must be on
    made = []
    child = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        for root in roots:
            folder = root / name
            folder.mkdir()
            made.append(folder)
            (folder / "cgroup.procs").write_text(str(child.pid))
        yield layout, name
    finally:
        child.kill()
        child.wait(5)
        for folder in made:
            for _ in range(50):  # the kernel empties a group just after its last task exits
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)


def test_a_busy_child_in_its_own_group_reads_as_what_it_does(own_group):
    layout, name = own_group
    first = tree.read(layout, name)
    started = time.monotonic()
    time.sleep(1.0)  # the measured interval itself: one second of the child's spinning
    second = tree.read(layout, name)
    elapsed = time.monotonic() - started
    assert first is not None and second is not None
    assert first.cpu_ns is not None and second.cpu_ns is not None
    cpu_percent = 100 * (second.cpu_ns - first.cpu_ns) / 1e9 / elapsed
    assert 60 <= cpu_percent <= 105, f"one core spinning, read as {cpu_percent:.1f} %"
    assert second.memory is not None and second.memory >= 64 * 2**20
    assert second.pids in (None, 1.0)  # None where this machine has no pids controller
    assert name in tree.groups(layout)
