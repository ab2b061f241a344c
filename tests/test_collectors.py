"""The built-in collectors against recorded readings (tests/data/probe) and the real machine.

Expected numbers are worked out by hand from the fixtures; time only moves when the fake's
monotonic clock says so.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from collectors.base import NAME_RE, SERIES_RE, Collector, Sample
from collectors.builtin import BUILTIN
from collectors.cpu import CpuCollector
from collectors.devices import sanitize, unique_keys
from collectors.disk import DiskCollector
from collectors.filesystem import FilesystemCollector
from collectors.load import LoadCollector
from collectors.memory import MemoryCollector
from collectors.network import NetworkCollector
from collectors.probe import ProbeCollector, SystemProbe
from collectors.processes import DEFAULT_FILTER, ProcessesCollector
from collectors.sensors import SensorsCollector
from tests import golden
from tests.fakes import FakeProbe, record

DATA = Path(__file__).parent / "data" / "probe"
approx = pytest.approx


def recorded(name: str) -> FakeProbe:
    return FakeProbe.from_json(DATA / f"{name}.json")


PROBED = tuple(c for c in BUILTIN if issubclass(c, ProbeCollector))  # they read the machine


def ready(cls: type[Collector], probe: Any, **options: Any) -> Any:
    """A collector of ``cls`` reading ``probe``, set up with ``options``."""
    collector = cls(probe) if issubclass(cls, ProbeCollector) else cls()
    collector.setup(options)
    return collector


def series_names(collector: Collector) -> list[str]:
    return [series.name for series in collector.describe()]


def series_units(collector: Collector) -> dict[str, str]:
    return {series.name: series.unit for series in collector.describe()}


def checked_values(collector: Collector, result: Mapping[str, Any] | Sample) -> dict:
    """The values of one reading, after checking each is described, numeric and finite."""
    values = dict(result.values if isinstance(result, Sample) else result)
    assert set(values) <= set(series_names(collector))
    for name, value in values.items():
        assert isinstance(value, (int, float)) and not isinstance(value, bool), name
        assert math.isfinite(value), name
    return values


# --- golden cases: every recording replayed against its expected readings ---------------


@pytest.mark.parametrize("recording", golden.cases(), ids=lambda path: path.stem)
def test_a_recording_replays_to_its_expected_readings(recording: Path) -> None:
    expected = golden.expected_path(recording)
    assert expected.is_file(), f"no {expected.name}: write it with python -m tests.golden"
    want = json.loads(expected.read_text(encoding="utf-8"))
    got = golden.replay(recording)
    assert got["calls"] == want["calls"]
    assert sorted(got["collectors"]) == sorted(want["collectors"])
    for name, readings in want["collectors"].items():
        for call, (mine, theirs) in enumerate(zip(got["collectors"][name], readings, strict=True)):
            assert mine == theirs, f"{recording.stem}: {name}, call {call + 1}"


def test_every_recording_has_a_collector_that_reads_it() -> None:
    assert golden.cases(), "no recordings in tests/data/probe"
    for recording in golden.cases():
        assert golden.replay(recording)["collectors"], recording.name


# --- the set of built-ins -----------------------------------------------------------------


def test_builtin_order_names_and_intervals() -> None:
    assert [(cls.name, cls.interval) for cls in BUILTIN] == [
        ("cpu", 1.0), ("memory", 1.0), ("load", 1.0), ("disk", 1.0),
        ("filesystem", 10.0), ("network", 1.0), ("processes", 2.0), ("cgroups", 2.0),
        ("sensors", 5.0),
        ("textfile", 10.0),
    ]  # fmt: skip
    assert all(NAME_RE.match(cls.name) for cls in BUILTIN)


def test_only_the_probe_module_imports_psutil() -> None:
    root = Path(__file__).parent.parent
    sources = [*root.joinpath("collectors").glob("*.py"), root / "tests" / "fakes.py"]
    imports = re.compile(r"^\s*(import|from)\s+psutil\b", re.MULTILINE)
    importers = {p.name for p in sources if imports.search(p.read_text(encoding="utf-8"))}
    assert importers == {"probe.py"}


@pytest.mark.parametrize("cls", BUILTIN, ids=lambda cls: cls.name)
def test_unknown_option_is_rejected_by_name(cls: type[Collector]) -> None:
    with pytest.raises(ValueError, match="unknown option 'colour'"):
        ready(cls, FakeProbe({}), colour="red")


@pytest.mark.parametrize(
    ("cls", "typo", "meant"),
    [
        (DiskCollector, "excludes", "exclude"),
        (NetworkCollector, "exclud", "exclude"),
        (FilesystemCollector, "exclude_fstype", "exclude_fstypes"),
    ],
)
def test_misspelt_option_gets_a_did_you_mean(cls: type[Collector], typo: str, meant: str) -> None:
    with pytest.raises(ValueError, match=f"unknown option '{typo}'; did you mean '{meant}'"):
        ready(cls, FakeProbe({}), **{typo: []})


@pytest.mark.parametrize(
    ("cls", "option"),
    [(DiskCollector, "exclude"), (NetworkCollector, "exclude"),
     (FilesystemCollector, "exclude_fstypes")],
)  # fmt: skip
@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("loop", "expected a list, got a string"),
        ([3], "item 3 is not a non-empty string"),
        (["ok", ""], "item '' is not a non-empty string"),
        ([None], "item None is not a non-empty string"),
    ],
)
def test_bad_list_options_are_rejected(
    cls: type[Collector], option: str, value: Any, complaint: str
) -> None:
    with pytest.raises(ValueError, match=f"option '{option}'.*{complaint}"):
        ready(cls, FakeProbe({}), **{option: value})


@pytest.mark.parametrize(
    "cls", [CpuCollector, MemoryCollector, LoadCollector, FilesystemCollector, SensorsCollector]
)
def test_collectors_without_filters_refuse_one(cls: type[ProbeCollector]) -> None:
    with pytest.raises(ValueError, match="takes no filter"):
        cls(FakeProbe({})).parse_filter({})


def test_series_keys_are_sanitized_and_distinct() -> None:
    assert sanitize("cciss!c0d0") == "cciss_c0d0"
    assert sanitize("eth0.100") == "eth0_100"
    assert sanitize("/media/USB Stick") == "_media_USB_Stick"
    assert sanitize("wlp2s0-x_y") == "wlp2s0-x_y"
    assert sanitize("") == "_"
    assert sanitize("é" * 100) == "_" * 64
    assert unique_keys(["md/0", "md_0", "md:0", "sda"]) == ["md_0", "md_0_2", "md_0_3", "sda"]


# --- cpu ----------------------------------------------------------------------------------

CORE0 = {"user": 10, "nice": 0, "system": 5, "idle": 80, "iowait": 5, "irq": 0, "softirq": 0,
         "steal": 0, "guest": 0, "guest_nice": 0}  # fmt: skip
# +20 user, +5 nice, +10 system, +50 idle, +10 iowait, +3 softirq, +2 steal: 100 s, 40 busy.
CORE0_1 = {**CORE0, "user": 30, "nice": 5, "system": 15, "idle": 130, "iowait": 15,
           "softirq": 3, "steal": 2}  # fmt: skip
# No iowait key (counts 0). Guest time is already inside user: +50 user, +50 idle = 100 s.
CORE1 = {"user": 0, "system": 0, "idle": 100, "guest": 0}
CORE1_1 = {"user": 50, "system": 0, "idle": 150, "guest": 10}


def cpu_probe(*readings: list[dict]) -> FakeProbe:
    return FakeProbe({"cpu_count": [2], "cpu_times": list(readings)})


def test_cpu_first_call_is_empty_and_describe_lists_every_core() -> None:
    cpu = ready(CpuCollector, cpu_probe([CORE0, CORE1], [CORE0_1, CORE1_1]))
    assert series_units(cpu) == {
        "cpu.total": "%", "cpu.user": "%", "cpu.system": "%", "cpu.iowait": "%",
        "cpu.core0": "%", "cpu.core1": "%",
    }  # fmt: skip
    assert all(series.label for series in cpu.describe())
    assert cpu.collect() == {}


def test_cpu_second_call_gives_busy_percentages() -> None:
    cpu = ready(CpuCollector, cpu_probe([CORE0, CORE1], [CORE0_1, CORE1_1]))
    cpu.collect()
    assert cpu.collect() == approx({
        "cpu.core0": 40.0, "cpu.core1": 50.0,
        # over 200 core-seconds: 90 busy, 70 user, 10 system, 10 iowait
        "cpu.total": 45.0, "cpu.user": 35.0, "cpu.system": 5.0, "cpu.iowait": 5.0,
    })  # fmt: skip


def test_cpu_core_going_backwards_or_standing_still_gives_no_value() -> None:
    core0_2 = {**CORE0_1, "idle": 120}  # idle went backwards: a reset, and the new baseline
    core1_2 = {**CORE1_1, "user": 60, "idle": 200}  # +10 user, +50 idle
    core0_3 = {**core0_2, "user": 40, "idle": 130}  # +10 user, +10 idle
    cpu = ready(CpuCollector, cpu_probe(
        [CORE0, CORE1], [CORE0_1, CORE1_1], [core0_2, core1_2], [core0_3, core1_2]
    ))  # fmt: skip
    cpu.collect()
    cpu.collect()
    assert cpu.collect() == approx({
        "cpu.core1": 16.667, "cpu.total": 16.667, "cpu.user": 16.667,  # 1 s in 6, to 0.001 %
        "cpu.system": 0.0, "cpu.iowait": 0.0,
    })  # fmt: skip
    assert cpu.collect() == approx({
        "cpu.core0": 50.0, "cpu.total": 50.0, "cpu.user": 50.0,
        "cpu.system": 0.0, "cpu.iowait": 0.0,
    })  # fmt: skip


def test_cpu_cores_coming_online_are_described_after_the_next_collect() -> None:
    cpu = ready(CpuCollector, cpu_probe([CORE0, CORE1], [CORE0, CORE1, CORE0, CORE1]))
    cpu.collect()
    cpu.collect()
    assert "cpu.core3" in series_names(cpu)


# --- memory and load ----------------------------------------------------------------------


def test_memory_values_and_units() -> None:
    probe = FakeProbe({
        "virtual_memory": [{"total": 1000, "available": 250, "used": 600, "free": 100}],
        "swap_memory": [{"total": 200, "used": 50, "free": 150}],
    })  # fmt: skip
    memory = ready(MemoryCollector, probe)
    assert series_units(memory) == {
        "memory.used_percent": "%", "memory.used": "bytes", "memory.available": "bytes",
        "memory.swap_used_percent": "%", "memory.swap_used": "bytes",
    }  # fmt: skip
    # used is total - available (caches are reclaimable), not psutil's own "used"
    expected = {"memory.used_percent": 75.0, "memory.used": 750, "memory.available": 250,
                "memory.swap_used_percent": 25.0, "memory.swap_used": 50}  # fmt: skip
    assert memory.collect() == approx(expected)
    assert memory.collect() == approx(expected)


def test_memory_without_swap_reports_none_used() -> None:
    probe = FakeProbe({
        "virtual_memory": [{"total": 1000, "available": 1000}],
        "swap_memory": [{"total": 0, "used": 0, "free": 0}],
    })  # fmt: skip
    values = ready(MemoryCollector, probe).collect()
    assert values["memory.swap_used_percent"] == 0.0
    assert values["memory.used_percent"] == 0.0


def test_load_values_and_units() -> None:
    load = ready(LoadCollector, FakeProbe({"load_average": [[0.5, 1.25, 2.0]]}))
    assert series_units(load) == {"load.1m": "load", "load.5m": "load", "load.15m": "load"}
    assert load.collect() == {"load.1m": 0.5, "load.5m": 1.25, "load.15m": 2.0}


# --- disk ---------------------------------------------------------------------------------


def disk_series(*keys: str) -> list[str]:
    suffixes = ("read_bytes_per_s", "write_bytes_per_s", "read_iops", "write_iops")
    return [f"disk.{key}.{suffix}" for key in keys for suffix in suffixes]


def test_disk_setup_discovers_devices_minus_excluded_ones() -> None:
    disk = ready(DiskCollector, recorded("disk_new_device"))
    assert series_names(disk) == disk_series("cciss_c0d0", "sda", "sdb")
    units = series_units(disk)
    assert units["disk.sda.read_bytes_per_s"] == units["disk.sda.write_bytes_per_s"] == "bytes/s"
    assert units["disk.sda.read_iops"] == units["disk.sda.write_iops"] == "ops/s"
    labels = {s.name: s.label for s in disk.describe()}
    assert labels["disk.cciss_c0d0.read_bytes_per_s"] == "cciss!c0d0 read"


def test_disk_rates_and_a_device_appearing_then_one_vanishing() -> None:
    disk = ready(DiskCollector, recorded("disk_new_device"))
    assert disk.collect() == {}
    # 3rd reading, 2 s later; nvme0n1 is new, so described but without a rate yet
    assert disk.collect() == approx({
        **dict(zip(disk_series("sda"), [2000.0, 0.0, 10.0, 2.0], strict=True)),
        **dict(zip(disk_series("sdb"), [8192.0, 0.0, 2.0, 0.0], strict=True)),
        **dict(zip(disk_series("cciss_c0d0"), [0.0, 8192.0, 0.0, 2.0], strict=True)),
    })  # fmt: skip
    assert series_names(disk) == disk_series("cciss_c0d0", "nvme0n1", "sda", "sdb")
    # 4th reading, 4 s later; sdb is gone
    values = disk.collect()
    assert series_names(disk) == disk_series("cciss_c0d0", "nvme0n1", "sda")
    assert {k: v for k, v in values.items() if ".nvme0n1." in k} == approx(
        dict(zip(disk_series("nvme0n1"), [40960.0, 0.0, 10.0, 0.0], strict=True))
    )
    assert values["disk.sda.read_bytes_per_s"] == 0.0
    assert not any(".sdb." in name for name in values)


def test_disk_exclude_option() -> None:
    everything = ready(DiskCollector, recorded("disk_new_device"), exclude=[])
    assert series_names(everything) == disk_series("cciss_c0d0", "loop0", "sda", "sdb", "sr0")
    no_sd = ready(DiskCollector, recorded("disk_new_device"), exclude=["sd", "loop", "sr"])
    assert series_names(no_sd) == disk_series("cciss_c0d0")


def test_disk_counter_reset_gives_no_rate() -> None:
    before = {"sda": {"read_bytes": 9000, "write_bytes": 10, "read_count": 9, "write_count": 1}}
    after = {"sda": {"read_bytes": 100, "write_bytes": 20, "read_count": 1, "write_count": 2}}
    probe = FakeProbe({"disk_io": [before, before, after], "monotonic": [1.0, 2.0]})
    disk = ready(DiskCollector, probe)
    disk.collect()
    assert disk.collect() == {"disk.sda.write_bytes_per_s": 10.0, "disk.sda.write_iops": 1.0}


BAD_NAME_LISTS: list[tuple[Any, str]] = [
    ("not a dict", "expected an object"),
    (["sda"], "expected an object"),
    (None, "expected an object"),
    ({"KEY": "sda"}, "must be a list of names"),
    ({"KEY": {"sda": True}}, "must be a list of names"),
    ({"KEY": [1]}, "item 1 must be a name"),
    ({"KEY": [True]}, "item True must be a name"),
    ({"KEY": [""]}, "item '' must be a name"),
    ({"KEY": ["x" * 65]}, "must be a name of 1 to 64 characters"),
    ({"KEY": ["sd\na"]}, "contains control characters"),
    ({"KEY": ["sd\x7fa"]}, "contains control characters"),
    ({"KEY": [f"d{i}" for i in range(257)]}, "has 257 names, at most 256"),
    ({"KEY": [], "sort": "name"}, "unknown key 'sort'"),
]


@pytest.mark.parametrize(("cls", "key", "typo"), [
    (DiskCollector, "devices", "device"), (NetworkCollector, "interfaces", "interface"),
])  # fmt: skip
def test_device_filter_parsing(cls: type[ProbeCollector], key: str, typo: str) -> None:
    collector = cls(FakeProbe({}))
    assert collector.parse_filter({}) == {key: []}
    assert collector.parse_filter({key: ["b", "a", "b"]}) == {key: ["a", "b"]}
    assert collector.parse_filter({key: ["x" * 64] * 256}) == {key: ["x" * 64]}
    with pytest.raises(ValueError, match=f"unknown key '{typo}'; did you mean '{key}'"):
        collector.parse_filter({typo: []})
    for request, complaint in BAD_NAME_LISTS:
        if isinstance(request, dict):
            request = {key if k == "KEY" else k: v for k, v in request.items()}
        with pytest.raises(ValueError, match=f"{cls.name} filter: .*{complaint}"):
            collector.parse_filter(request)


def test_disk_apply_filter_keeps_the_named_devices() -> None:
    disk = ready(DiskCollector, recorded("disk_new_device"))
    disk.collect()
    values = disk.collect()
    # Real device names and series keys both work; unknown names select nothing.
    flt = disk.parse_filter({"devices": ["cciss!c0d0", "sdb", "nope"]})
    kept, rows = disk.apply_filter(flt, values, None)
    assert rows is None
    assert sorted(kept) == sorted(disk_series("cciss_c0d0", "sdb"))
    by_key, _ = disk.apply_filter(disk.parse_filter({"devices": ["cciss_c0d0"]}), values, None)
    assert by_key == {k: v for k, v in values.items() if k.startswith("disk.cciss_c0d0.")}
    assert disk.apply_filter(disk.parse_filter({}), values, None)[0] == values


# --- network ------------------------------------------------------------------------------

NIC_SUFFIXES = ("rx_bytes_per_s", "tx_bytes_per_s", "rx_packets_per_s", "tx_packets_per_s",
                "rx_errors_per_s", "tx_errors_per_s")  # fmt: skip


def nic_values(key: str, *numbers: float) -> dict[str, float]:
    return {f"network.{key}.{s}": n for s, n in zip(NIC_SUFFIXES, numbers, strict=True)}


def test_network_describe_skips_loopback_and_sanitizes_names() -> None:
    network = ready(NetworkCollector, recorded("network_counter_reset"))
    assert series_units(network) == {
        **{f"network.{k}.{s}": "bytes/s" for k in ("eth0", "eth0_100")
           for s in NIC_SUFFIXES[:2]},
        **{f"network.{k}.{s}": "packets/s" for k in ("eth0", "eth0_100")
           for s in NIC_SUFFIXES[2:4]},
        **{f"network.{k}.{s}": "errors/s" for k in ("eth0", "eth0_100")
           for s in NIC_SUFFIXES[4:]},
    }  # fmt: skip
    labels = {s.name: s.label for s in network.describe()}
    assert labels["network.eth0_100.rx_bytes_per_s"] == "eth0.100 received"


def test_network_rates_through_a_counter_reset() -> None:
    network = ready(NetworkCollector, recorded("network_counter_reset"))
    assert network.collect() == {}
    # eth0's counters all went backwards, except tx errors+drops (0 -> 0, a true 0/s)
    assert network.collect() == approx({
        **nic_values("eth0_100", 500, 100, 5, 1, 0, 0),
        "network.eth0.tx_errors_per_s": 0.0,
    })  # fmt: skip
    # one second later, rates again from the post-reset baseline
    assert network.collect() == approx({
        **nic_values("eth0_100", 500, 100, 5, 1, 0, 0),
        **nic_values("eth0", 2000, 1000, 20, 10, 2, 3),
    })  # fmt: skip


def test_network_exclude_option_and_filter() -> None:
    network = ready(NetworkCollector, recorded("network_counter_reset"), exclude=["eth0."])
    assert {name.split(".")[1] for name in series_names(network)} == {"eth0", "lo"}
    network.collect()
    values = network.collect()
    kept, _ = network.apply_filter(network.parse_filter({"interfaces": ["lo"]}), values, None)
    assert kept == approx(nic_values("lo", 100, 100, 1, 1, 0, 0))


# --- filesystem ---------------------------------------------------------------------------


def fs_series(*keys: str) -> list[str]:
    return [f"filesystem.{k}.{s}" for k in keys for s in ("used_percent", "used", "free")]


def test_filesystem_setup_skips_pseudo_filesystems_and_bind_mounts() -> None:
    filesystem = ready(FilesystemCollector, recorded("filesystem_mounts"))
    assert series_names(filesystem) == fs_series("root", "home", "media_USB_Stick", "mnt_nas")
    labels = {s.name: s.label for s in filesystem.describe()}
    assert labels["filesystem.media_USB_Stick.free"] == "/media/USB Stick free space"
    assert series_units(filesystem)["filesystem.root.used_percent"] == "%"
    assert series_units(filesystem)["filesystem.root.used"] == "bytes"
    assert series_units(filesystem)["filesystem.root.free"] == "bytes"


def test_filesystem_values_a_failing_mount_and_a_new_one() -> None:
    filesystem = ready(FilesystemCollector, recorded("filesystem_mounts"))
    # used % is of the space users can have (used + free), as df shows it
    assert filesystem.collect() == approx({
        "filesystem.root.used_percent": 200 / 3, "filesystem.root.used": 600,
        "filesystem.root.free": 300,
        "filesystem.home.used_percent": 25.0, "filesystem.home.used": 500,
        "filesystem.home.free": 1500,
        "filesystem.media_USB_Stick.used_percent": 25.0, "filesystem.media_USB_Stick.used": 2,
        "filesystem.media_USB_Stick.free": 6,
    })  # fmt: skip
    # the stale NFS mount raised: no values, and no longer described
    assert series_names(filesystem) == fs_series("root", "home", "media_USB_Stick")
    values = filesystem.collect()
    assert values["filesystem.home.used_percent"] == 50.0
    assert values["filesystem.srv_data.used_percent"] == 0.0
    assert series_names(filesystem) == fs_series("root", "home", "media_USB_Stick", "srv_data")


def test_filesystem_with_no_fstype_excluded_still_merges_bind_mounts_only() -> None:
    filesystem = ready(FilesystemCollector, recorded("filesystem_mounts"), exclude_fstypes=[])
    # the two tmpfs mounts share a placeholder device name but are different filesystems
    assert series_names(filesystem) == fs_series(
        "root", "dev_shm", "home", "media_USB_Stick", "mnt_nas", "run", "snap_core_123"
    )
    values = filesystem.collect()
    assert values["filesystem.run.used"] == 4
    assert values["filesystem.dev_shm.used"] == 40


def test_filesystem_root_key_clash_gets_a_suffix() -> None:
    partitions = [{"device": "/dev/sda1", "mountpoint": "/", "fstype": "ext4"},
                  {"device": "/dev/sdb1", "mountpoint": "/root", "fstype": "ext4"}]  # fmt: skip
    filesystem = ready(FilesystemCollector, FakeProbe({"partitions": [partitions]}))
    assert series_names(filesystem) == fs_series("root", "root_2")


# --- sensors ------------------------------------------------------------------------------

SENSOR_SERIES = ["sensors.acpitz_0", "sensors.acpitz_1", "sensors.coretemp_Package_id_0",
                 "sensors.coretemp_Core_0", "sensors.iwlwifi_1_0", "sensors.nvme_Composite",
                 "sensors.nvme_Composite_2"]  # fmt: skip


def test_sensors_describe_each_sensor_in_celsius() -> None:
    sensors = ready(SensorsCollector, recorded("sensors_host"))
    assert series_names(sensors) == SENSOR_SERIES
    assert set(series_units(sensors).values()) == {"°C"}
    labels = [series.label for series in sensors.describe()]
    assert labels[:3] == ["acpitz 0", "acpitz 1", "coretemp Package id 0"]


def test_sensors_values_skip_unreadable_sensors() -> None:
    sensors = ready(SensorsCollector, recorded("sensors_host"))
    assert sensors.collect() == {
        "sensors.acpitz_0": 28.0, "sensors.acpitz_1": 30.0,
        "sensors.coretemp_Package_id_0": 51.0, "sensors.coretemp_Core_0": 49.5,
        "sensors.nvme_Composite": 39.85, "sensors.nvme_Composite_2": 41.85,
    }  # fmt: skip
    assert series_names(sensors) == SENSOR_SERIES


def test_sensors_on_a_host_without_any() -> None:
    sensors = ready(SensorsCollector, FakeProbe({"temperatures": [{}]}))
    assert sensors.describe() == []
    assert sensors.collect() == {}


def test_sensors_appear_and_vanish_with_the_hardware() -> None:
    chip = {"k10temp": [{"label": "Tctl", "current": 60.0, "high": None, "critical": None}]}
    sensors = ready(SensorsCollector, FakeProbe({"temperatures": [{}, chip, {}]}))
    assert sensors.collect() == {"sensors.k10temp_Tctl": 60.0}
    assert series_names(sensors) == ["sensors.k10temp_Tctl"]
    assert sensors.collect() == {}
    assert sensors.describe() == []


# --- processes ----------------------------------------------------------------------------


def by_pid(sample: Sample) -> dict[int, Mapping[str, Any]]:
    assert sample.rows is not None
    return {row["pid"]: row for row in sample.rows}


def test_processes_first_call_has_no_cpu_but_everything_else() -> None:
    processes = ready(ProcessesCollector, recorded("processes_churn"))
    assert series_units(processes) == {"processes.count": "procs", "processes.running": "procs"}
    sample = processes.collect()
    assert isinstance(sample, Sample)
    assert sample.values == {"processes.count": 4, "processes.running": 1}
    assert by_pid(sample)[100] == {
        "pid": 100, "name": "python3", "user": "alice", "cpu": None, "memory": 250000,
        "memory_percent": 25.0, "status": "running",
    }  # fmt: skip
    assert by_pid(sample)[400]["memory"] is None
    assert by_pid(sample)[400]["memory_percent"] is None
    json.dumps(sample.rows, allow_nan=False)


def test_processes_cpu_follows_each_process_through_churn() -> None:
    processes = ready(ProcessesCollector, recorded("processes_churn"))
    processes.collect()
    second = processes.collect()  # 2 s later
    assert second.values == {"processes.count": 4, "processes.running": 2}
    cpu = {pid: row["cpu"] for pid, row in by_pid(second).items()}
    assert cpu == {1: approx(25.0), 100: approx(50.0), 300: None, 400: None}
    assert by_pid(second)[100]["memory_percent"] == approx(30.0)
    third = processes.collect()  # pid 100 now belongs to a new process
    cpu = {pid: row["cpu"] for pid, row in by_pid(third).items()}
    assert cpu == {1: approx(25.0), 100: None, 300: approx(50.0), 400: None}
    fourth = processes.collect()  # pid 200's old baseline was forgotten when it vanished
    cpu = {pid: row["cpu"] for pid, row in by_pid(fourth).items()}
    assert cpu == {1: 0.0, 200: None}
    assert fourth.values == {"processes.count": 2, "processes.running": 0}


def proc_row(pid: int, name: str = "x", user: str = "root", cpu: float | None = None,
             memory: int | None = None) -> dict[str, Any]:  # fmt: skip
    return {"pid": pid, "name": name, "user": user, "cpu": cpu, "memory": memory,
            "memory_percent": None, "status": "sleeping"}  # fmt: skip


ROWS = [
    proc_row(30, "Xorg", "root", cpu=5.0, memory=300),
    proc_row(7, "bash", "alice", cpu=None, memory=None),
    proc_row(12, "python3", "alice", cpu=40.0, memory=100),
    proc_row(400, "sshd", "root", cpu=0.0, memory=200),
    proc_row(5, "Postgres", "postgres", cpu=40.0, memory=None),
]


def test_process_filter_defaults_and_normalization() -> None:
    processes = ProcessesCollector(FakeProbe({}))
    assert processes.parse_filter({}) == DEFAULT_FILTER == {"match": "", "sort": "cpu", "limit": 25}
    assert processes.parse_filter({"sort": "name"}) == {**DEFAULT_FILTER, "sort": "name"}
    full = {"match": "Py", "sort": "memory", "limit": 200}
    assert processes.parse_filter(full) == full
    assert processes.parse_filter({"limit": 1, "match": "m" * 128})["limit"] == 1


@pytest.mark.parametrize(
    ("request_", "complaint"),
    [
        ("cpu", "expected an object"),
        ([("sort", "cpu")], "expected an object"),
        (None, "expected an object"),
        ({"sorting": "cpu"}, "unknown key 'sorting'; did you mean 'sort'"),
        ({"pattern": "x"}, "unknown key 'pattern'"),
        ({"match": 5}, "'match' must be plain text"),
        ({"match": None}, "'match' must be plain text"),
        ({"match": "a" * 129}, "'match' must be plain text of at most 128"),
        ({"match": "py\x00"}, "without control characters"),
        ({"match": "py\nthon"}, "without control characters"),
        ({"sort": "CPU"}, "'sort' must be one of cpu, memory, pid, name, got 'CPU'"),
        ({"sort": ["cpu"]}, "'sort' must be one of"),
        ({"limit": 0}, "'limit' must be an integer from 1 to 200, got 0"),
        ({"limit": 201}, "got 201"),
        ({"limit": -1}, "got -1"),
        ({"limit": True}, "got True"),
        ({"limit": 10.0}, "got 10.0"),
        ({"limit": "10"}, "got '10'"),
    ],
)
def test_process_filter_rejects(request_: Any, complaint: str) -> None:
    with pytest.raises(ValueError, match=f"processes filter: .*{re.escape(complaint)}"):
        ProcessesCollector(FakeProbe({})).parse_filter(request_)


def apply(flt: Mapping[str, Any]) -> list[int]:
    processes = ProcessesCollector(FakeProbe({}))
    values = {"processes.count": 5}
    kept_values, rows = processes.apply_filter(processes.parse_filter(flt), values, ROWS)
    assert kept_values is values
    return [row["pid"] for row in rows or []]


def test_process_filter_sorts() -> None:
    assert apply({"sort": "cpu"}) == [5, 12, 30, 400, 7]  # ties by pid, None last
    assert apply({"sort": "memory"}) == [30, 400, 12, 5, 7]
    assert apply({"sort": "pid"}) == [5, 7, 12, 30, 400]
    assert apply({"sort": "name"}) == [7, 5, 12, 400, 30]  # case-insensitive


def test_process_filter_matches_name_user_or_pid_and_limits() -> None:
    assert apply({"match": "ALICE", "sort": "pid"}) == [7, 12]
    assert apply({"match": "postg"}) == [5]
    assert apply({"match": "40", "sort": "pid"}) == [400]
    assert apply({"match": "nothing"}) == []
    assert apply({"limit": 2}) == [5, 12]
    assert ROWS[0]["pid"] == 30  # the input rows are left as they were


def test_process_filter_match_is_literal_text_not_a_regex() -> None:
    # Catastrophic backtracking would take ages on these names if "match" were a regex.
    rows = [proc_row(i, "a" * 5000 + "!") for i in range(200)] + [proc_row(999, "x(a+)+$y")]
    processes = ProcessesCollector(FakeProbe({}))
    flt = processes.parse_filter({"match": "(a+)+$"})
    started = time.perf_counter()
    _, kept = processes.apply_filter(flt, {}, rows)
    assert time.perf_counter() - started < 0.5
    assert [row["pid"] for row in kept or []] == [999]
    assert apply({"match": ".*"}) == []


# --- the fake and the recordings ----------------------------------------------------------


def test_fake_probe_replays_repeats_and_keeps_time() -> None:
    probe = FakeProbe({"_note": "ignored", "load_average": [[1, 1, 1], [2, 2, 2]],
                       "monotonic": [5.0, 6.0]})  # fmt: skip
    assert [probe.load_average()[0] for _ in range(3)] == [1, 2, 2]
    assert probe.calls["load_average"] == 3
    assert [probe.monotonic(), probe.monotonic()] == [5.0, 6.0]
    probe.now = 42.0
    assert probe.monotonic() == 42.0
    with pytest.raises(LookupError, match="no recorded readings for net_io"):
        probe.net_io()
    with pytest.raises(FileNotFoundError):
        probe.disk_usage("/nowhere")


def test_record_round_trips_through_the_fake() -> None:
    original = json.loads((DATA / "this_machine.json").read_text(encoding="utf-8"))
    data = record(recorded("this_machine"), calls=2, pause=0, max_processes=3)
    assert data["cpu_times"] == original["cpu_times"][:2]
    assert data["monotonic"] == original["monotonic"][:2]
    assert data["disk_usage"] == {m: usage[:2] for m, usage in original["disk_usage"].items()}
    # the three busiest processes of the first reading, kept in every reading
    busiest = sorted(original["processes"][0], key=lambda p: -p["cpu_seconds"])[:3]
    kept = [{p["pid"] for p in reading} for reading in data["processes"]]
    assert kept[0] == {p["pid"] for p in busiest}
    assert kept[1] <= kept[0]


@pytest.mark.parametrize("cls", PROBED, ids=lambda cls: cls.name)
def test_builtin_replays_this_machine(cls: type[Collector]) -> None:
    collector = ready(cls, recorded("this_machine"))
    results = [checked_values(collector, collector.collect()) for _ in range(3)]
    assert all(SERIES_RE.match(name) for name in series_names(collector))
    if cls.name != "sensors":  # this machine has no temperature sensors
        assert results[-1], "a third reading should have values"


# --- the real machine ---------------------------------------------------------------------


@pytest.mark.parametrize("cls", PROBED, ids=lambda cls: cls.name)
def test_builtin_on_the_real_machine(cls: type[ProbeCollector]) -> None:
    collector = cls(SystemProbe())
    collector.setup({})
    for _ in range(2):
        result = collector.collect()
        checked_values(collector, result)
        if isinstance(result, Sample):
            json.dumps(list(result.rows or []), allow_nan=False)
    assert all(SERIES_RE.match(name) for name in series_names(collector))
