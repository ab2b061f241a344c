"""The ``cgroups`` collector: CPU, memory, I/O and pids of each service, container and
session, from the kernel's cgroup counters (collectors.cgroups.tree), as series
``cgroups.<group>.<metric>``."""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from collectors.base import Collector, Sample, Series
from collectors.cgroups import names, tree
from collectors.cgroups.engine import Names
from collectors.cgroups.files import OpenFiles, read_once
from collectors.cgroups.netns import Traffic
from collectors.devices import check_names_option, unique_keys
from collectors.messages import quoted
from collectors.rates import Rates
from collectors.tables import TableFilter

OTHER = "other"  # the groups past max_groups, summed
# Where Docker and Podman listen by default; asked only while present.
DOCKER_SOCKET = "/var/run/docker.sock"
PODMAN_SOCKET = "/run/podman/podman.sock"
MAX_GROUPS_LIMIT = 5000
METRICS = (
    ("cpu_percent", "%", "CPU"),
    ("memory", "bytes", "memory"),
    ("memory_percent", "%", "memory of its limit (or of RAM)"),
    ("io_read_bytes_per_s", "bytes/s", "read"),
    ("io_write_bytes_per_s", "bytes/s", "written"),
    ("pids", "procs", "processes"),
)
# Containers in a network namespace of their own also have these (collectors.cgroups.netns).
NET_METRICS = (
    ("net_rx_bytes_per_s", "bytes/s", "received"),
    ("net_tx_bytes_per_s", "bytes/s", "sent"),
)
RATE_KEYS = ("cpu", "r", "w", "nr", "nt")


# The page's "Top services and containers" table: one row per group, filtered like processes.
HIGHEST = ("cpu", "memory", "pids", "read", "write")
TABLE = TableFilter("cgroups", (*HIGHEST, "name"), {"match": "", "sort": "cpu", "limit": 25},
                    ("name", "kind"), "name", highest=HIGHEST)  # fmt: skip


def ram_bytes() -> float:
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


class CgroupsCollector(Collector):
    """Series ``cgroups.<group>.cpu_percent`` (% of one core), ``memory`` (bytes),
    ``memory_percent``, ``io_read_bytes_per_s``, ``io_write_bytes_per_s`` and ``pids``; a
    container in a network namespace of its own also ``net_rx_bytes_per_s`` and
    ``net_tx_bytes_per_s`` (collectors.cgroups.netns). Where the standard root has no
    cgroup tree (a container, another OS) there are no groups and no error.

    Options: ``depth`` (0: services, containers and sessions; N: every group N levels deep
    or less), ``include`` / ``exclude`` (globs on group names; include empty: all),
    ``max_groups`` (the busiest kept; the rest summed as ``other``), ``root``, and
    ``docker_socket`` / ``podman_socket`` (the Engine API that names containers; "" for none).
    Rows: one per group (``name``, ``kind``, ``cpu``, ``memory``, ``memory_percent``,
    ``pids``, ``read``, ``write``); client filter ``{"match", "sort", "limit"}`` as processes,
    plus ``"top"`` (see parse_filter).
    """

    name = "cgroups"
    interval = 2.0
    defaults: ClassVar[Mapping[str, Any]] = {
        "depth": 0, "include": [], "exclude": [], "max_groups": 200, "root": str(tree.ROOT),
        "docker_socket": DOCKER_SOCKET, "podman_socket": PODMAN_SOCKET,
    }  # fmt: skip

    def __init__(self, clock: Callable[[], float] = time.monotonic, proc: str = "/proc") -> None:
        super().__init__()
        self.clock = clock
        self.traffic = Traffic(proc)
        self.layout: tree.Layout | None = None
        self.ram = ram_bytes()
        self._rates = Rates()
        self._series: list[Series] = []
        self.folded = 0  # groups summed as `other` at the last reading
        self.names = Names([])
        self.files = OpenFiles()  # counter files kept open between readings
        self._held: set[str] = set()  # the groups whose files were kept at the last reading
        self._where: dict[str, tree.Files] = {}  # each group's counter files, by path
        self._named_as: tuple[list[str], list[str]] = ([], [])  # group names -> their keys
        self._names_by_key: dict[str, dict[str, str]] = {}
        self._classified: dict[str, names.Group] = {}  # path -> its group, for the paths listed
        # The series described: (key, name, has network) of each group.
        self._labelled: tuple[tuple[str, str, bool], ...] = ()

    def setup(self, options: Mapping[str, Any]) -> None:
        super().setup(options)
        depth, most = self.options["depth"], self.options["max_groups"]
        if not 0 <= depth <= tree.MAX_DEPTH:
            raise ValueError(f"option 'depth' = {depth}: expected 0 (services, containers and "
                             f"sessions) or a depth from 1 to {tree.MAX_DEPTH}")  # fmt: skip
        if not 1 <= most <= MAX_GROUPS_LIMIT:
            raise ValueError(f"option 'max_groups' = {most}: expected 1 to {MAX_GROUPS_LIMIT}")
        for key in ("include", "exclude"):
            check_names_option(key, self.options[key], "['nginx', 'postgres*']")
        sockets = [self.options["docker_socket"], self.options["podman_socket"]]
        self.names = Names(sockets, optional={DOCKER_SOCKET, PODMAN_SOCKET} & set(sockets))
        self.layout = tree.detect(Path(self.options["root"]))
        if self.layout is None and self.options["root"] != str(tree.ROOT):
            raise ValueError(f"option 'root' = {self.options['root']!r}: no cgroup tree "
                             "readable there (cgroup v2, or v1's cpuacct or memory)")  # fmt: skip
        # The standard place without a tree (a container, another OS): no groups, no error,
        # as sensors on a host without any.

    def describe(self) -> list[Series]:
        return list(self._series)

    def collect(self) -> Sample:
        if self.layout is None:
            return Sample(values={}, rows=[])
        now = self.clock()
        readings = self._read(self.chosen(tree.groups(self.layout)))
        # Every group's rates, so a group moving in or out of `other` keeps its baseline.
        each = {path: self._measure(group, counters, now)
                for path, (group, counters) in readings.items()}  # fmt: skip
        self._rates.forget_missing({(p, m) for p in each for m in RATE_KEYS})
        kept, rest = self._split(each, readings)
        keys = dict(zip(kept, self._keys([readings[p][0].name for p in kept]), strict=True))
        values: dict[str, float | None] = {}
        for path, key in keys.items():
            named = self._series_names(key)
            values.update({named[m]: v for m, v in each[path].items()})
        if rest:
            summed = _summed([each[p] for p in rest], self.ram)
            values.update({f"{self.name}.{OTHER}.{m}": v for m, v in summed.items()})
        self.folded = len(rest)
        self._describe(keys, readings, each, bool(rest))
        return Sample(values=values, rows=[_row(readings[p][0], each[p]) for p in sorted(each)])

    def parse_filter(self, request: Any) -> Mapping[str, Any]:  # any JSON a client sent
        """The table's filter ``{"match", "sort", "limit"}`` plus ``"top"``: 0 (the default)
        sends every group's values; N only those of the groups among the N highest in any
        metric (the page draws 8 a chart: the rest would be bytes on every client's link)."""
        if not isinstance(request, Mapping):
            return TABLE.parse(request)  # its error names what was sent
        table = {k: v for k, v in request.items() if k != "top"}
        top = request.get("top", 0)
        if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MAX_GROUPS_LIMIT:
            raise ValueError(f"cgroups filter: 'top' must be an integer from 0 (every group) to "
                             f"{MAX_GROUPS_LIMIT}, got {quoted(top)}")  # fmt: skip
        return {**TABLE.parse(table), "top": top}

    def apply_filter(
        self, flt: Mapping[str, Any], values: Mapping[str, Any], rows: list[dict[str, Any]] | None
    ) -> tuple[Mapping[str, Any], list[dict[str, Any]] | None]:
        top = flt.get("top", 0)
        return (highest_values(values, top) if top else values), TABLE.apply(flt, rows or [])

    def chosen(self, paths: list[str]) -> list[names.Group]:
        """The groups the options ask for, by depth, then include and exclude."""
        depth = self.options["depth"]
        known = self._classified
        self._classified = {p: known.get(p) or names.classify(p) for p in paths}
        picked = list(self._classified.values())
        if depth:
            picked = [g for g in picked if g.path.count("/") < depth]
        else:
            picked = [g for g in picked if names.is_wanted(g)]
        picked = self._named(picked)
        include, exclude = self.options["include"], self.options["exclude"]
        return [
            g
            for g in picked
            if (not include or _matches(g.name, include)) and not _matches(g.name, exclude)
        ]

    def _named(self, groups: list[names.Group]) -> list[names.Group]:
        """Containers by their engine's name where it is known (else their short id)."""
        ids = [g.container_id for g in groups if g.container_id]
        known = self.names.lookup(ids) if ids else {}
        return [replace(g, name=known[g.container_id].name)
                if g.container_id in known else g for g in groups]  # fmt: skip

    def _read(self, groups: list[names.Group]) -> dict[str, tuple[names.Group, tree.Counters]]:
        layout = self.layout
        assert layout is not None
        out = {}
        for group in groups:
            where = self._where.get(group.path) or tree.files(layout, group.path)
            self._where[group.path] = where
            counters = tree.read(layout, group.path, self.files.read, where)
            if counters is not None:  # gone since the listing
                out[group.path] = (group, counters)
        if out.keys() != self._held:  # groups came or went: forget and close those gone
            self._held = set(out)
            self._where = {path: self._where[path] for path in out}
            self.files.keep_only(f for where in self._where.values() for f in where.folders)
        return out

    def _keys(self, group_names: list[str]) -> list[str]:
        """Series keys for the groups' names (made again only when the names change)."""
        if group_names != self._named_as[0]:
            self._named_as = (group_names, unique_keys(group_names))
        return self._named_as[1]

    def _series_names(self, key: str) -> dict[str, str]:
        """A group key's series names by metric suffix, made once."""
        named = self._names_by_key.get(key)
        if named is None:
            named = {m: f"{self.name}.{key}.{m}" for m, _u, _l in METRICS + NET_METRICS}
            if len(self._names_by_key) > 4 * MAX_GROUPS_LIMIT:  # groups come and go for years
                self._names_by_key.clear()
            self._names_by_key[key] = named
        return named

    def _split(self, each: Mapping[str, Mapping[str, float | None]],
               readings: Mapping[str, Any]) -> tuple[list[str], list[str]]:  # fmt: skip
        """The max_groups busiest (by CPU, then memory), and the rest."""
        most = self.options["max_groups"]
        if len(each) <= most:
            return sorted(each), []
        ranked = sorted(each, key=lambda p: (-(each[p]["cpu_percent"] or 0.0),
                                             -(each[p]["memory"] or 0.0), p))  # fmt: skip
        return sorted(ranked[:most]), ranked[most:]

    def _measure(self, group: names.Group, c: tree.Counters, now: float
                 ) -> dict[str, float | None]:  # fmt: skip
        """One group's values, by metric suffix."""
        path = group.path
        cpu = self._rate((path, "cpu"), c.cpu_ns, now)
        share_of = c.limit or self.ram
        values = {
            "cpu_percent": None if cpu is None else cpu / 1e7,  # ns per s -> % of one core
            "memory": c.memory,
            "memory_percent": None if c.memory is None else 100 * c.memory / share_of,
            "io_read_bytes_per_s": self._rate((path, "r"), c.read_bytes, now),
            "io_write_bytes_per_s": self._rate((path, "w"), c.write_bytes, now),
            "pids": c.pids,
        }
        if group.kind == names.CONTAINER:
            values.update(self._network(path, now))
        return values

    def _network(self, path: str, now: float) -> dict[str, float | None]:
        """A container's traffic, where it has a network namespace of its own."""
        assert self.layout is not None
        traffic = self.traffic.of(read_once(tree.procs_file(self.layout, path)))
        if traffic is None:
            return {}
        return {"net_rx_bytes_per_s": self._rate((path, "nr"), traffic[0], now),
                "net_tx_bytes_per_s": self._rate((path, "nt"), traffic[1], now)}  # fmt: skip

    def _rate(self, key: tuple[str, str], value: float | None, now: float) -> float | None:
        return None if value is None else self._rates.rate(key, value, now)

    def _describe(
        self,
        keys: Mapping[str, str],
        readings: Mapping[str, Any],
        each: Mapping[str, Mapping[str, float | None]],
        other: bool,
    ) -> None:
        """The series list, made again only when the groups changed, and replaced whole:
        describe() may run on another thread meanwhile."""
        labelled = tuple((key, readings[path][0].name, "net_rx_bytes_per_s" in each[path])
                         for path, key in keys.items())  # fmt: skip
        labelled += ((OTHER, "other groups", False),) if other else ()
        if labelled == self._labelled:
            return
        self._labelled = labelled
        self._series = [
            Series(f"{self.name}.{key}.{suffix}", unit, f"{name} {label}")
            for key, name, net in labelled
            for suffix, unit, label in METRICS + (NET_METRICS if net else ())
        ]


def highest_values(values: Mapping[str, Any], top: int) -> dict[str, Any]:
    """The values of the groups among the ``top`` highest in any metric (``other`` counts as
    a group): what a chart of the ``top`` highest lines of each metric draws."""
    by_metric: dict[str, list[tuple[float, str]]] = {}
    for name, value in values.items():
        if value is not None:  # no reading (yet): it ranks nowhere
            key, metric = _key_and_metric(name)
            by_metric.setdefault(metric, []).append((-value, key))
    keep = {key for ranked in by_metric.values() for _v, key in sorted(ranked)[:top]}
    return {name: v for name, v in values.items() if _key_and_metric(name)[0] in keep}


def _key_and_metric(series: str) -> tuple[str, str]:
    """``cgroups.<key>.<metric>`` -> (key, metric); keys hold no dots (devices.sanitize)."""
    _collector, key, metric = series.split(".", 2)
    return key, metric


def _row(group: names.Group, v: Mapping[str, float | None]) -> dict[str, Any]:
    return {"name": group.name, "kind": group.kind, "cpu": v["cpu_percent"],
            "memory": v["memory"], "memory_percent": v["memory_percent"], "pids": v["pids"],
            "read": v["io_read_bytes_per_s"], "write": v["io_write_bytes_per_s"]}  # fmt: skip


def _matches(name: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, glob) for glob in globs)


def _summed(parts: list[Mapping[str, float | None]], ram: float) -> dict[str, float | None]:
    """The `other` groups as one: each metric added (None where none had it); its memory
    share is of RAM (the groups' limits differ)."""

    def total(metric: str) -> float | None:
        known = [v for part in parts if (v := part[metric]) is not None]
        return sum(known) if known else None

    out = {suffix: total(suffix) for suffix, _unit, _label in METRICS}
    memory = out["memory"]
    out["memory_percent"] = None if memory is None or not ram else 100 * memory / ram
    return out
