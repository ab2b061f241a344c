"""The cgroup tree reader and namer: recorded trees (v2 and v1) replayed from
tests/data/cgroups, names of every kind of group, groups that vanish mid-read, and this
machine's own cgroups with a busy child moved into groups the test makes (as root)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from collectors.base import Sample
from collectors.cgroups import names, netns, tree
from collectors.cgroups.collector import METRICS, CgroupsCollector

DATA = Path(__file__).parent / "data" / "cgroups"
RECORDED = sorted(DATA.glob("v[12]-*.json"))  # trees; docker-containers.json is an answer
HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize("recorded", RECORDED, ids=[p.stem for p in RECORDED])
def test_a_recorded_tree_reads_as_expected(recorded: Path, cgroup_tree):
    recording = json.loads(recorded.read_text())
    layout = tree.detect(cgroup_tree(recorded.stem))
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


def test_a_group_removed_while_read_is_left_out(cgroup_tree):
    root = cgroup_tree("v2-systemd-docker")
    layout = tree.detect(root)
    assert layout is not None
    assert tree.read(layout, "system.slice/gone.service") is None
    folder = root / "system.slice" / "nginx.service"
    (folder / "memory.current").unlink()  # a controller turned off for it: no value
    counters = tree.read(layout, "system.slice/nginx.service")
    assert counters is not None and counters.memory is None and counters.pids == 5


def test_bad_counter_files_are_no_value_not_an_error(cgroup_tree):
    root = cgroup_tree("v2-systemd-docker")
    layout = tree.detect(root)
    assert layout is not None
    folder = root / "system.slice" / "nginx.service"
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

# Waits to be moved into its group (memory is charged to the group it is in when touched),
# touches 64 MiB, says so, then spins one core.
BUSY = (
    "import sys\nsys.stdin.readline()\nx = bytearray(64 * 2**20)\nprint('ready', flush=True)\n"
    "while True:\n    x[0] = (x[0] + 1) % 256\n"
)


@pytest.fixture
def own_group(real_cgroup) -> Iterator[tuple[tree.Layout, str]]:
    """A group of the test's own in every controller this machine has, holding one busy
    child (64 MiB touched, one core spinning); removed after."""
    name = f"dashboard-test-{uuid.uuid4().hex[:8]}"
    child = subprocess.Popen([sys.executable, "-c", BUSY], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        layout = real_cgroup(name, child.pid)
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "ready"
        yield layout, name
    finally:
        child.kill()
        child.communicate(timeout=5)  # reaps it and closes its pipes


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


# -- the collector --------------------------------------------------------------------------

NGINX = "system.slice/nginx.service"


class Ticks:
    """An injected monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def recorded_host(cgroup_tree) -> Path:
    return cgroup_tree("v2-systemd-docker")


def collector_on(root: Path, **options) -> tuple[CgroupsCollector, Ticks]:
    ticks = Ticks()
    made = CgroupsCollector(clock=ticks)
    made.setup({"root": str(root), **options})
    return made, ticks


def bump(root: Path, path: str, **files: str) -> None:
    for name, text in files.items():
        (root / path / name.replace("__", ".")).write_text(text)


def test_the_collector_turns_counters_into_rates_and_shares(recorded_host: Path):
    made, ticks = collector_on(recorded_host)
    first = made.collect().values
    assert first["cgroups.nginx.cpu_percent"] is None  # a rate needs two readings
    assert first["cgroups.nginx.memory"] == 48234496
    assert first["cgroups.nginx.pids"] == 5
    container = f"cgroups.{HEX[:12]}"
    assert first[f"{container}.memory_percent"] == 50.0, "of its limit"
    assert first["cgroups.nginx.memory_percent"] == pytest.approx(100 * 48234496 / made.ram)
    ticks.now += 2.0
    bump(recorded_host, NGINX, cpu__stat="usage_usec 3500000\n",
         io__stat="8:0 rbytes=3145728 wbytes=2097152\n")  # fmt: skip
    second = made.collect().values
    assert second["cgroups.nginx.cpu_percent"] == pytest.approx(50.0), "1 s of CPU in 2 s"
    assert second["cgroups.nginx.io_read_bytes_per_s"] == pytest.approx((3145728 - 1049600) / 2)
    assert second["cgroups.nginx.io_write_bytes_per_s"] == 0.0
    names_ = {s.name for s in made.describe()}
    assert {f"cgroups.{g}.{m}" for g in ("nginx", HEX[:12], "session-3-uid1000")
            for m, _u, _l in METRICS} == names_  # fmt: skip


def test_a_counter_going_backwards_gives_no_rate_then_recovers(recorded_host: Path):
    made, ticks = collector_on(recorded_host, include=["nginx"])
    made.collect()
    ticks.now += 1
    bump(recorded_host, NGINX, cpu__stat="usage_usec 10\n")  # the group was made anew
    assert made.collect().values["cgroups.nginx.cpu_percent"] is None
    ticks.now += 1
    bump(recorded_host, NGINX, cpu__stat="usage_usec 500010\n")
    assert made.collect().values["cgroups.nginx.cpu_percent"] == pytest.approx(50.0)


def test_a_group_that_appears_is_described_and_one_that_goes_stops(recorded_host: Path):
    made, ticks = collector_on(recorded_host)
    made.collect()
    assert not any(s.name.startswith("cgroups.postgresql.") for s in made.describe())
    bump_dir = recorded_host / "system.slice" / "postgresql.service"
    bump_dir.mkdir()
    (bump_dir / "memory.current").write_text("1048576\n")
    ticks.now += 1
    assert made.collect().values["cgroups.postgresql.memory"] == 1048576
    assert any(s.name == "cgroups.postgresql.memory" for s in made.describe())
    for child in bump_dir.iterdir():
        child.unlink()
    bump_dir.rmdir()
    ticks.now += 1
    assert "cgroups.postgresql.memory" not in made.collect().values
    assert not any(s.name.startswith("cgroups.postgresql.") for s in made.describe())


def test_past_max_groups_the_rest_is_summed_as_other(recorded_host: Path):
    made, _ticks = collector_on(recorded_host, max_groups=1)
    values = made.collect().values
    # The container holds the most memory (no CPU rate yet): it stays; the rest are summed.
    assert values[f"cgroups.{HEX[:12]}.memory"] == 268435456
    assert values["cgroups.other.memory"] == 48234496 + 8388608
    assert values["cgroups.other.pids"] == 5 + 2
    assert made.folded == 2
    assert "cgroups.nginx.memory" not in values


def chosen(made: CgroupsCollector) -> list[str]:
    assert made.layout is not None
    return [g.name for g in made.chosen(tree.groups(made.layout))]


def test_depth_include_and_exclude_choose_the_groups(recorded_host: Path):
    made, _ticks = collector_on(recorded_host, depth=1)
    assert set(chosen(made)) == {"init.scope", "system", "user"}
    made, _ticks = collector_on(recorded_host, exclude=["session-*"])
    assert set(chosen(made)) == {"nginx", HEX[:12]}
    made, _ticks = collector_on(recorded_host, include=["ngin?"])
    assert chosen(made) == ["nginx"]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"depth": 13}, "option 'depth' = 13"),
        ({"max_groups": 0}, "option 'max_groups' = 0: expected 1 to 5000"),
        ({"include": "nginx"}, "option 'include'"),
        ({"exclude": [1]}, "exclude"),
        ({"maxgroups": 5}, "did you mean 'max_groups'"),
    ],
)
def test_bad_options_say_which_and_why(recorded_host: Path, options, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        collector_on(recorded_host, **options)


def test_a_root_given_without_a_tree_is_a_clear_setup_error(tmp_path: Path):
    with pytest.raises(ValueError, match=r"option 'root' = .*: no cgroup tree readable there"):
        collector_on(tmp_path)


def test_no_tree_at_the_standard_place_is_no_groups_and_no_error(monkeypatch):
    monkeypatch.setattr(tree, "detect", lambda _base: None)  # a container without /sys/fs/cgroup
    made = CgroupsCollector()
    made.setup({})
    assert made.describe() == []
    assert made.collect() == Sample(values={}, rows=[])


def test_the_collector_reads_a_busy_child_in_its_own_group(own_group):
    _layout, name = own_group
    made = CgroupsCollector()
    made.setup({"depth": 1, "include": [name]})
    made.collect()
    started = time.monotonic()
    time.sleep(1.0)  # the measured interval: one second of the child's spinning
    values = made.collect().values
    assert time.monotonic() - started >= 1.0
    cpu = values[f"cgroups.{name}.cpu_percent"]  # its name is its key: only safe characters
    assert cpu is not None and 60 <= cpu <= 105, f"one core spinning, read as {cpu} %"
    assert values[f"cgroups.{name}.memory"] >= 64 * 2**20


def test_rows_are_a_table_filtered_like_processes(recorded_host: Path):
    made, ticks = collector_on(recorded_host)
    made.collect()
    ticks.now += 2.0
    bump(recorded_host, NGINX, cpu__stat="usage_usec 3500000\n")
    rows = [dict(r) for r in made.collect().rows or []]
    assert {r["name"]: r["kind"] for r in rows} == {
        "nginx": "service", HEX[:12]: "container", "session-3-uid1000": "session"}  # fmt: skip

    def shown(request: dict) -> list[str]:
        _values, cut = made.apply_filter(made.parse_filter(request), {}, rows)
        return [r["name"] for r in cut or []]

    assert made.parse_filter({}) == {"match": "", "sort": "cpu", "limit": 25, "top": 0}
    assert shown({})[0] == "nginx"  # the busiest: the others used no CPU meanwhile
    assert shown({"sort": "memory", "limit": 1}) == [HEX[:12]]
    assert shown({"match": "SERV"}) == ["nginx"]  # the kind matches too
    assert shown({"sort": "name"}) == sorted(shown({"sort": "name"}), key=str.casefold)
    with pytest.raises(ValueError, match="cgroups filter: 'sort' must be one of"):
        made.parse_filter({"sort": "age"})


# -- a container's network ------------------------------------------------------------------

NET_DEV = (
    "Inter-|   Receive                            |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets ...\n"
    "    lo: {lo} 10 0 0 0 0 0 0 {lo} 10 0 0 0 0 0 0\n"
    "  eth0: {rx} 20 0 0 0 0 0 0 {tx} 20 0 0 0 0 0 0\n"
)


def fake_proc(root: Path, pids: dict[int, str]) -> Path:
    """A /proc with the collector's own net/dev and each pid's: "host", the same file (a
    hard link: one namespace, one inode), else one of its own."""
    (root / "self" / "net").mkdir(parents=True)
    (root / "self" / "net" / "dev").write_text(NET_DEV.format(rx=1, tx=1, lo=1))
    for pid, namespace in pids.items():
        (root / str(pid) / "net").mkdir(parents=True)
        own = root / str(pid) / "net" / "dev"
        if namespace == "host":
            os.link(root / "self" / "net" / "dev", own)
        else:
            own.write_text("")
    return root


def net_dev(proc: Path, pid: int, rx: int, tx: int, lo: int = 999) -> None:
    (proc / str(pid) / "net" / "dev").write_text(NET_DEV.format(rx=rx, tx=tx, lo=lo))


def test_a_container_in_its_own_namespace_has_its_traffic(recorded_host: Path, tmp_path: Path):
    proc = fake_proc(tmp_path / "proc", {4242: "own", 77: "host"})
    container = f"system.slice/docker-{HEX}.scope"
    bump(recorded_host, container, cgroup__procs="4242\n4243\n")
    bump(recorded_host, NGINX, cgroup__procs="77\n")  # a service: the host's namespace
    net_dev(proc, 4242, rx=1000, tx=5000)
    ticks = Ticks()
    made = CgroupsCollector(clock=ticks, proc=str(proc))
    made.setup({"root": str(recorded_host)})
    first = made.collect().values
    key = f"cgroups.{HEX[:12]}"
    assert first[f"{key}.net_rx_bytes_per_s"] is None  # a rate needs two readings
    ticks.now += 2.0
    net_dev(proc, 4242, rx=3000, tx=9000, lo=10**9)  # loopback is left out
    second = made.collect().values
    assert second[f"{key}.net_rx_bytes_per_s"] == 1000.0
    assert second[f"{key}.net_tx_bytes_per_s"] == 2000.0
    described = {s.name for s in made.describe()}
    assert f"{key}.net_tx_bytes_per_s" in described
    assert not any(name.startswith("cgroups.nginx.net_") for name in described | set(second))


def test_a_container_whose_processes_are_gone_has_no_traffic(recorded_host: Path, tmp_path: Path):
    proc = fake_proc(tmp_path / "proc", {})
    bump(recorded_host, f"system.slice/docker-{HEX}.scope", cgroup__procs="4242\n")
    made = CgroupsCollector(proc=str(proc))
    made.setup({"root": str(recorded_host)})
    values = made.collect().values
    assert not any(".net_" in name for name in values)
    assert f"cgroups.{HEX[:12]}.memory" in values


def test_net_dev_garbage_is_no_value():
    assert netns.counters(None) is None
    assert netns.counters(b"header\nheader\n eth0: x y\nnot a line\n") == (0.0, 0.0)


# A child in a network namespace of its own with a veth pair, sending a known number of
# bytes out of one end when told; each frame counts as sent on v0 and received on v1.
SENDER = (
    "import socket, sys\nsys.stdin.readline()\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "for _ in range(2000):\n    s.sendto(b'x' * 1000, ('10.9.0.2', 9))\n"
    "print('sent', flush=True)\nsys.stdin.readline()\n"
)
NET_SETUP = (
    "ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up && "
    "ip addr add 10.9.0.1/24 dev v0 && "
    'ip neigh add 10.9.0.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent && exec "$0" -c "$1"'
)
FRAME = 1000 + 8 + 20 + 14  # payload, UDP, IPv4 and Ethernet headers


def test_a_real_container_namespace_counts_what_its_process_sends(real_cgroup, wait_until):
    for tool in ("unshare", "ip"):
        if not shutil.which(tool):
            if os.environ.get("CI") == "true":
                pytest.fail(f"a network namespace needs {tool}, which .ci/system-deps installs")
            pytest.skip(f"a network namespace needs {tool}")
    scope = f"docker-{uuid.uuid4().hex * 2}.scope"  # named as Docker's systemd driver names them
    short = scope[len("docker-") :][:12]
    child = subprocess.Popen(["unshare", "--net", "sh", "-c", NET_SETUP, sys.executable, SENDER],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        real_cgroup(scope, child.pid)
        ticks = Ticks()
        made = CgroupsCollector(clock=ticks)
        made.setup({"include": [short], "docker_socket": "", "podman_socket": ""})
        key = f"cgroups.{short}"
        # Until the child has set its namespace up, it is still in the host's.
        wait_until(lambda: f"{key}.net_tx_bytes_per_s" in made.collect().values,
                   "the child in a namespace of its own")  # fmt: skip
        ticks.now += 1.0
        made.collect()  # a baseline with the rates' clock moved on
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "sent"
        ticks.now += 1.0  # so each rate is the bytes counted since the reading before
        values = made.collect().values
        assert values[f"{key}.net_tx_bytes_per_s"] == pytest.approx(2000 * FRAME, rel=0.02)
        assert values[f"{key}.net_rx_bytes_per_s"] == pytest.approx(2000 * FRAME, rel=0.02)
    finally:
        child.kill()
        child.communicate(timeout=5)


# -- cgroup v2 for real: the unified tree, or a cgroup2 mount beside v1 (a hybrid machine) ---


@pytest.fixture
def cgroup2(writable_cgroups, tmp_path: Path) -> Iterator[Path]:
    """A real cgroup2 hierarchy: /sys/fs/cgroup where it is unified, else the cgroup2 mount a
    hybrid machine has (or one this test makes)."""
    mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    found = [Path(m[1]) for m in mounts if len(m) > 2 and m[2] == "cgroup2"]
    if found:
        yield found[0]
        return
    point = tmp_path / "cgroup2"
    point.mkdir()
    mounted = subprocess.run(["mount", "-t", "cgroup2", "none", str(point)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"no cgroup2 hierarchy here and none can be mounted: {mounted.stderr}")
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)], check=False)


def test_a_busy_child_in_a_real_v2_group_reads_as_what_it_does(cgroup2: Path, real_cgroup):
    name = f"dashboard-v2-{uuid.uuid4().hex[:8]}"
    child = subprocess.Popen([sys.executable, "-c", BUSY], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        real_cgroup(name, child.pid, roots=[cgroup2])
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "ready"
        made = CgroupsCollector()
        made.setup({"root": str(cgroup2), "depth": 1, "include": [name]})
        assert made.layout is not None and made.layout.version == 2
        made.collect()
        time.sleep(1.0)  # the measured interval: one second of the child's spinning
        values = made.collect().values
        cpu = values[f"cgroups.{name}.cpu_percent"]
        assert cpu is not None and 60 <= cpu <= 105, f"one core spinning, read as {cpu} %"
        memory = values[f"cgroups.{name}.memory"]
        # A hybrid machine's cgroup2 tree has the memory controller on v1's side: no value.
        if "memory" in (cgroup2 / "cgroup.subtree_control").read_text().split():
            assert memory is not None and memory >= 64 * 2**20
        else:
            assert memory is None
    finally:
        child.kill()
        child.communicate(timeout=5)


def test_the_top_filter_sends_only_the_highest_groups_of_each_metric(recorded_host: Path):
    made, ticks = collector_on(recorded_host)
    assert made.parse_filter({})["top"] == 0
    assert made.parse_filter({"top": 1, "sort": "memory"}) == {
        "match": "", "sort": "memory", "limit": 25, "top": 1}  # fmt: skip
    for bad in (-1, 5001, 1.5, True, "8"):
        with pytest.raises(ValueError, match="'top' must be an integer from 0"):
            made.parse_filter({"top": bad})
    made.collect()
    ticks.now += 2.0
    bump(recorded_host, NGINX, cpu__stat="usage_usec 3500000\n",
         io__stat="8:0 rbytes=3145728 wbytes=2097152\n")  # fmt: skip
    everything = dict(made.collect().values)
    values, _rows = made.apply_filter(made.parse_filter({"top": 1}), everything, [])
    groups = {name.split(".")[1] for name in values}
    # nginx leads CPU and I/O; the container memory, its share and pids; the session
    # leads nothing, so none of its values are sent.
    assert groups == {"nginx", HEX[:12]}
    assert all(values[name] == everything[name] for name in values)
    assert made.apply_filter(made.parse_filter({}), everything, [])[0] == everything
