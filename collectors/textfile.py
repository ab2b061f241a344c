"""Metrics that scripts drop into a folder as ``*.prom`` or ``*.json`` files.

Like node_exporter's textfile collector: a cron job writes ``backup.prom`` (Prometheus text
format) or ``backup.json`` (a flat object) and the dashboard shows its values, no Python needed.
A bad file is reported (a warning once per file version, ``textfile.files_bad``,
``textfile.scrape_error``) and skipped; it never stops the other files.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from prometheus_client.parser import text_string_to_metric_families

from collectors.base import MAX_SERIES, SERIES_RE, Collector, Series

log = logging.getLogger(__name__)

PREFIX = "textfile"
OWN_SERIES = (
    Series(f"{PREFIX}.files_ok", "files", "files read without a problem"),
    Series(f"{PREFIX}.files_bad", "files", "files with a problem (see the log)"),
    Series(f"{PREFIX}.scrape_error", "error", "1 if any file or the folder had a problem"),
)
MAX_FILES = 10_000
MAX_BYTES = 64 * 1024 * 1024
MAX_LABEL = 200
MAX_UNIT = 32
EXTENSIONS = (".prom", ".json")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")
_UNIT_SUFFIXES = (("_seconds", "s"), ("_bytes", "bytes"), ("_ratio", "ratio"), ("_percent", "%"))
_SPLIT_TYPES = ("histogram", "gaugehistogram", "summary")
_JSON_KEYS = {"value", "unit", "label"}

Version = tuple[int, int, int]  # inode, mtime in ns, size: a rename or a rewrite changes it


@dataclass(frozen=True)
class Entry:
    """One series a file provides and its value now (None: the file gave no finite number)."""

    series: Series
    value: float | None


@dataclass(frozen=True)
class FileReading:
    """What one version of one file gave: its series and the problems found in it."""

    version: Version | None
    entries: tuple[Entry, ...] = ()
    problems: tuple[str, ...] = ()


class TextfileCollector(Collector):
    """``textfile.<metric>[.<label>_<value>...]`` from ``*.prom``, ``textfile.<stem>.<key>``
    from ``*.json``, plus ``textfile.files_ok``, ``files_bad`` and ``scrape_error``."""

    name = "textfile"
    interval = 10.0
    enabled_by_default = False  # it needs a folder: ``enabled = true`` and ``path``
    defaults: ClassVar[Mapping[str, Any]] = {"path": "", "max_files": 100, "max_bytes": 1 << 20}

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []  # "file: problem", as found by the last collect()
        self._series: list[Series] = list(OWN_SERIES)
        self._cache: dict[str, FileReading] = {}
        self._logged: set[tuple[str, Version | None, str]] = set()

    def setup(self, options: Mapping[str, Any]) -> None:
        super().setup(options)
        check_folder(self.options["path"])  # setup() runs only when the collector is on
        check_range("max_files", self.options["max_files"], 1, MAX_FILES)
        check_range("max_bytes", self.options["max_bytes"], 1, MAX_BYTES)

    def describe(self) -> list[Series]:
        return list(self._series)

    def collect(self) -> dict[str, float | None]:
        folder = self.options["path"]
        problems: list[tuple[str, Version | None, str]] = []
        try:
            names = candidates(folder)
        except OSError as exc:
            names = []
            problems.append((folder, None, f"cannot list the folder: {exc.strerror or exc}"))
        merged = _Merge()
        readings: dict[str, FileReading] = {}
        for index, name in enumerate(names):
            path = os.path.join(folder, name)
            if index >= self.options["max_files"]:
                merged.bad += 1
                limit = self.options["max_files"]
                problems.append((path, None, f"not read: more than max_files = {limit} files"))
                continue
            reading = self._read(path)
            if reading is not None:
                readings[path] = reading
                problems.extend((path, reading.version, p) for p in merged.add(path, reading))
        self._cache = readings
        self._report(problems)
        self._series = merged.series
        return {
            **merged.values,
            f"{PREFIX}.files_ok": float(merged.ok),
            f"{PREFIX}.files_bad": float(merged.bad),
            f"{PREFIX}.scrape_error": float(bool(problems)),
        }

    def _read(self, path: str) -> FileReading | None:
        """This file's reading, parsed again only when it changed; None if it is gone."""
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return None  # renamed or deleted since the listing, or a dangling symlink
        except OSError as exc:
            return FileReading(None, problems=(f"cannot read: {exc.strerror or exc}",))
        if not stat.S_ISREG(info.st_mode):
            return None  # a folder or a pipe named *.prom
        version = _version(info)
        cached = self._cache.get(path)
        if cached is not None and cached.version == version:
            return cached
        try:
            found = read_bounded(path, self.options["max_bytes"])
        except FileNotFoundError:
            return None
        except OSError as exc:
            return FileReading(version, problems=(f"cannot read: {exc.strerror or exc}",))
        if found is None:
            return None  # replaced by something other than a file since the stat()
        version, data = found
        entries, problems = parse_file(path, data, self.options["max_bytes"])
        return FileReading(version, tuple(entries), tuple(problems))

    def _report(self, problems: list[tuple[str, Version | None, str]]) -> None:
        """Log each problem once while it lasts: once per file version, not once per run."""
        for key in problems:
            if key not in self._logged:
                log.warning("textfile: %s: %s", key[0], key[2])
        self._logged = set(problems)
        self.problems = [f"{path}: {text}" for path, _version, text in problems]


class _Merge:
    """The files' series put together in file order; the first file to claim a name keeps it."""

    def __init__(self) -> None:
        self.series: list[Series] = list(OWN_SERIES)
        self.values: dict[str, float | None] = {}
        self.owner: dict[str, str] = {s.name: "the collector's own series" for s in OWN_SERIES}
        self.ok = self.bad = 0

    def add(self, path: str, reading: FileReading) -> list[str]:
        """Take a file's entries; return its problems (its own plus clashes and the cap)."""
        problems = list(reading.problems)
        for entry in reading.entries:
            name = entry.series.name
            if name in self.owner:
                where = "this file" if self.owner[name] == path else self.owner[name]
                problems.append(f"series {name!r} also comes from {where}; skipped")
            elif len(self.series) >= MAX_SERIES:
                problems.append(f"series {name!r} and later ones skipped: at most {MAX_SERIES}")
                break
            else:
                self.owner[name] = path
                self.series.append(entry.series)
                self.values[name] = entry.value
        if problems:
            self.bad += 1
        else:
            self.ok += 1
        return problems


def check_folder(path: str) -> None:
    """Raise ValueError unless ``path`` is an absolute path to a readable folder."""
    expected = "expected the absolute path of a folder of *.prom and *.json files"
    if not path or not os.path.isabs(path):
        raise ValueError(f"option 'path' = {path!r}: {expected}")
    if not os.path.isdir(path):
        raise ValueError(f"option 'path' = {path!r}: no such folder; {expected}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ValueError(f"option 'path' = {path!r}: this user cannot read the folder")


def check_range(option: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"option {option!r} = {value!r}: expected an integer from {low} to {high}")


def candidates(folder: str) -> list[str]:
    """The file names to read, sorted: ``*.prom`` and ``*.json``, hidden ones left out."""
    return sorted(
        name
        for name in os.listdir(folder)
        if name.endswith(EXTENSIONS) and not name.startswith(".")
    )


def read_bounded(path: str, max_bytes: int) -> tuple[Version, bytes] | None:
    """Up to ``max_bytes + 1`` bytes of a regular file (symlinks followed); None otherwise."""
    # O_NONBLOCK: a pipe swapped in after the listing must not block the worker thread.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        return _version(info), _read_up_to(fd, max_bytes + 1)
    finally:
        os.close(fd)


def _read_up_to(fd: int, limit: int) -> bytes:
    """Read ``fd`` to its end or ``limit`` bytes. Plain ``os.read``: eventlet's green
    ``os.fdopen`` closes the descriptor even with ``closefd=False`` (every read then failed
    with "Bad file descriptor" under eventlet)."""
    chunks, left = [], limit
    while left > 0:
        chunk = os.read(fd, min(left, 65_536))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _version(info: os.stat_result) -> Version:
    return info.st_ino, info.st_mtime_ns, info.st_size


def parse_file(path: str, data: bytes, max_bytes: int) -> tuple[list[Entry], list[str]]:
    """The entries and problems of one file's bytes; a file that cannot be parsed gives none."""
    if len(data) > max_bytes:
        return [], [f"larger than max_bytes = {max_bytes} bytes; not read"]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [f"not UTF-8 text (byte {exc.start}); not read"]
    if path.endswith(".prom"):
        return parse_prom(text)
    stem = os.path.basename(path).removesuffix(".json")
    return parse_json(stem, text)


def parse_prom(text: str) -> tuple[list[Entry], list[str]]:
    """Prometheus text format: one entry per sample; histogram buckets are left out."""
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # the parser raises ValueError mostly, but not only
        return [], [f"not Prometheus text format: {type(exc).__name__}: {exc}; not read"]
    entries: list[Entry] = []
    problems: list[str] = []
    for family in families:
        for sample in family.samples:
            if _left_out(family.type, sample.name):
                continue
            labels = {k: v for k, v in sample.labels.items() if v != ""}  # "" means no label
            pairs = sorted(labels.items())
            shown = show_sample(sample.name, pairs)
            name = series_name(sample.name, *(f"{k}_{v}" for k, v in pairs))
            if name is None:
                problems.append(f"{shown}: too long for a series name; skipped")
                continue
            unit = prom_unit(family.name, family.type, sample.name)
            series = Series(name, unit, prom_label(family, sample.name, labels))
            value, problem = finite(sample.value)
            if problem:
                problems.append(f"{shown} = {problem}; published as no value")
            entries.append(Entry(series, value))
    return entries, problems


def show_sample(name: str, pairs: list[tuple[str, str]]) -> str:
    """A sample as written in the file (``name{k="v"}``), cut to fit a log line."""
    labels = ",".join(f"{k}={json.dumps(v)}" for k, v in pairs)
    return (f"{name}{{{labels}}}" if labels else name)[:100]


def _left_out(kind: str, sample: str) -> bool:
    """Histogram buckets (one series per bucket) and creation times are not charted."""
    if kind in ("histogram", "gaugehistogram") and sample.endswith("_bucket"):
        return True
    return kind in ("counter", *_SPLIT_TYPES) and sample.endswith("_created")


def prom_unit(family: str, kind: str, sample: str) -> str:
    """The unit a metric's name gives (Prometheus naming): ``_seconds`` -> "s" and so on."""
    if kind in _SPLIT_TYPES and sample.endswith("_count"):
        return "count"
    return name_unit(family, counter=kind == "counter")


def name_unit(name: str, counter: bool = False) -> str:
    base = name.removesuffix("_total")
    for suffix, unit in _UNIT_SUFFIXES:
        if base.endswith(suffix):
            return unit
    return "count" if counter or name.endswith("_total") else "value"


def prom_label(family: Any, sample: str, labels: Mapping[str, str]) -> str:
    """The HELP text (or the name), then what tells this sample from its siblings."""
    label = family.documentation or sample
    extra = []
    if family.documentation and family.type in _SPLIT_TYPES and sample != family.name:
        extra.append(sample.removeprefix(family.name).lstrip("_"))  # "sum", "count"
    extra.extend(f"{k}={v}" for k, v in sorted(labels.items()))
    if extra:
        label += f" ({', '.join(extra)})"
    return label[:MAX_LABEL]


def parse_json(stem: str, text: str) -> tuple[list[Entry], list[str]]:
    """``{"name": number}`` or ``{"name": {"value": number, "unit": str, "label": str}}``."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return [], [f"not valid JSON: {exc}; not read"]
    if not isinstance(doc, dict):
        return [], ['expected a JSON object such as {"name": 1.5}; not read']
    entries: list[Entry] = []
    problems: list[str] = []
    for key, item in doc.items():
        name = series_name(stem, key)
        if name is None:
            problems.append(f"{key[:60]!r}: too long for a series name; skipped")
            continue
        entry, problem = json_entry(name, key, item)
        if problem:
            problems.append(f"{key[:60]!r}: {problem}")
        if entry is not None:
            entries.append(entry)
    return entries, problems


def json_entry(name: str, key: str, item: Any) -> tuple[Entry | None, str | None]:
    """One JSON member as an entry (or None to skip it) and what was wrong with it."""
    unit, label = name_unit(key), key
    if isinstance(item, dict):
        unknown = sorted(set(item) - _JSON_KEYS)
        if unknown:
            return None, f"unknown key {unknown[0]!r} (known: label, unit, value); skipped"
        unit, label = item.get("unit", unit), item.get("label", label)
        if not isinstance(unit, str) or not 0 < len(unit) <= MAX_UNIT:
            return None, f"unit {unit!r}: expected a string of 1 to {MAX_UNIT} characters; skipped"
        if not isinstance(label, str):
            return None, f"label {label!r}: expected a string; skipped"
        item = item.get("value")
    if item is not None and (isinstance(item, bool) or not isinstance(item, (int, float))):
        return None, f"{json.dumps(item)[:40]} is not a number; skipped"
    series = Series(name, unit, label[:MAX_LABEL])
    if item is None:
        return Entry(series, None), None  # null: declared, no value this time
    value, problem = finite(item)
    return Entry(series, value), problem and f"{problem}; published as no value"


def finite(value: float | int) -> tuple[float | None, str | None]:
    """The value as a finite float, or None and why not (NaN, infinities, huge integers)."""
    try:
        number = float(value)
    except OverflowError:
        return None, "too large a number"
    if not math.isfinite(number):
        return None, f"{number!r} is not a finite number"
    return number, None


def series_name(*parts: str) -> str | None:
    """``textfile.<part>.<part>...`` with characters a series name cannot hold made ``_``.

    None when the result is too long (over 128 characters): cutting it could merge two series.
    """
    name = ".".join((PREFIX, *(_UNSAFE.sub("_", part) or "_" for part in parts)))
    return name if SERIES_RE.match(name) else None
