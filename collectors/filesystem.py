"""Space used and free on each mounted filesystem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from collectors.base import Series
from collectors.devices import check_names_option, unique_keys
from collectors.probe import Probe, ProbeCollector

PSEUDO_FSTYPES = (
    "tmpfs", "devtmpfs", "overlay", "squashfs", "proc", "sysfs", "cgroup", "cgroup2", "devpts",
    "mqueue", "debugfs", "tracefs", "securityfs", "pstore", "bpf", "autofs", "fusectl",
    "configfs", "nsfs", "ramfs", "hugetlbfs", "efivarfs", "binfmt_misc",
)  # fmt: skip


def mount_key(mountpoint: str) -> str:
    """The series key of a mount, before sanitizing: "root" for "/", else the path sans "/"."""
    return "root" if mountpoint == "/" else mountpoint.lstrip("/")


def is_shared_device(device: str) -> bool:
    """Whether a device name identifies one filesystem, so a second mount of it is a bind.

    Pseudo filesystems carry placeholder names ("tmpfs", "none") shared by distinct mounts.
    """
    return device.startswith("/") or ":" in device


class FilesystemCollector(ProbeCollector):
    """Per mount: ``filesystem.<key>.used_percent``, ``used``, ``free``; key "root" is "/"."""

    name = "filesystem"
    interval = 10.0
    defaults: ClassVar[Mapping[str, Any]] = {"exclude_fstypes": list(PSEUDO_FSTYPES)}

    def __init__(self, probe: Probe | None = None) -> None:
        super().__init__(probe)
        self._series: list[Series] = []

    def setup(self, options: Mapping[str, Any]) -> None:
        super().setup(options)
        check_names_option("exclude_fstypes", self.options["exclude_fstypes"], "['tmpfs']")
        # Only partitions() here: disk_usage() may hang on a dead network mount.
        self._series = self._describe(self._mounts())

    def describe(self) -> list[Series]:
        return list(self._series)

    def collect(self) -> dict[str, float]:
        values: dict[str, float] = {}
        seen: dict[str, str] = {}
        for mountpoint, key in self._mounts().items():
            try:
                usage = self.probe.disk_usage(mountpoint)
            except OSError:
                continue  # unmounted since partitions() or unreadable: skip it this time
            seen[mountpoint] = key
            values.update(usage_values(f"filesystem.{key}", usage))
        self._series = self._describe(seen)
        return values

    def _mounts(self) -> dict[str, str]:
        """Mountpoint -> series key of the real filesystems, one mount per device."""
        excluded = set(self.options["exclude_fstypes"])
        chosen: dict[str, str] = {}  # device -> mountpoint
        unshared: list[str] = []
        for part in self.probe.partitions():
            device, mountpoint = part["device"], part["mountpoint"]
            if part["fstype"] in excluded:
                continue
            if not is_shared_device(device):
                unshared.append(mountpoint)
            elif device not in chosen or len(mountpoint) < len(chosen[device]):
                chosen[device] = mountpoint  # the shortest path, so "/" beats a bind of it
        mountpoints = sorted({*chosen.values(), *unshared})
        return dict(zip(mountpoints, unique_keys([mount_key(m) for m in mountpoints]), strict=True))

    def _describe(self, mounts: dict[str, str]) -> list[Series]:
        return [
            Series(f"filesystem.{key}.{suffix}", unit, f"{mountpoint} {label}")
            for mountpoint, key in mounts.items()
            for suffix, unit, label in (
                ("used_percent", "%", "used"),
                ("used", "bytes", "used space"),
                ("free", "bytes", "free space"),
            )
        ]


def usage_values(prefix: str, usage: Mapping[str, float]) -> dict[str, float]:
    """Used/free bytes and used % of the space available to users, as df reports it."""
    used, free = usage["used"], usage["free"]
    values = {f"{prefix}.used": used, f"{prefix}.free": free}
    # Blocks reserved for root are neither used nor free to users, so not part of total here.
    if used + free > 0:
        values[f"{prefix}.used_percent"] = 100 * used / (used + free)
    return values
