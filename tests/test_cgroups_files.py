"""collectors/cgroups/files.py: counter files kept open and read again with pread, on real
files and (as root) on this machine's real cgroup tree, where a removed group's open file
reads as ENODEV."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from collectors.cgroups.files import OpenFiles, budget


def test_an_open_file_reads_its_new_content(tmp_path: Path):
    counter = tmp_path / "cpu.stat"
    counter.write_text("usage_usec 1\n")
    files = OpenFiles()
    assert files.read(str(counter)) == b"usage_usec 1\n"
    counter.write_text("usage_usec 22\n")  # the same file, rewritten as the kernel does
    assert files.read(str(counter)) == b"usage_usec 22\n"
    assert len(files) == 1


def test_missing_and_unreadable_files_are_none_and_not_kept(tmp_path: Path):
    files = OpenFiles()
    assert files.read(str(tmp_path / "nope")) is None
    assert files.read(str(tmp_path)) is None  # a folder: EISDIR
    assert len(files) == 0


def test_past_its_budget_files_are_read_and_closed(tmp_path: Path):
    paths = []
    for i in range(5):
        (tmp_path / f"f{i}").write_text(str(i))
        paths.append(str(tmp_path / f"f{i}"))
    files = OpenFiles(most=2)
    assert [files.read(p) for p in paths] == [b"0", b"1", b"2", b"3", b"4"]
    assert len(files) == 2
    assert [files.read(p) for p in paths] == [b"0", b"1", b"2", b"3", b"4"]


def test_the_budget_is_a_share_of_the_open_files_limit():
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert 0 < budget() <= max(1, soft // 4)


def test_keep_only_closes_the_files_of_other_folders(tmp_path: Path):
    for group in ("a", "b"):
        (tmp_path / group).mkdir()
        (tmp_path / group / "pids.current").write_text("1\n")
    files = OpenFiles()
    for group in ("a", "b"):
        files.read(str(tmp_path / group / "pids.current"))
    opened = len(os.listdir("/proc/self/fd"))
    files.keep_only([str(tmp_path / "a")])
    assert len(files) == 1
    assert len(os.listdir("/proc/self/fd")) == opened - 1
    files.close()
    assert len(files) == 0


def test_a_dropped_reader_closes_its_files(tmp_path: Path):
    (tmp_path / "x").write_text("1")
    files = OpenFiles()
    files.read(str(tmp_path / "x"))
    opened = len(os.listdir("/proc/self/fd"))
    del files  # a collector replaced on reload
    assert len(os.listdir("/proc/self/fd")) == opened - 1


def test_a_removed_and_remade_real_group_reads_none_then_afresh(writable_cgroups):
    layout = writable_cgroups
    roots = layout.roots
    root = roots["unified"] if layout.version == 2 else roots.get("memory", roots["cpuacct"])
    folder = root / f"dashboard-files-{uuid.uuid4().hex[:8]}"
    counter = str(folder / ("memory.max" if layout.version == 2 else "memory.limit_in_bytes"))
    try:
        folder.mkdir()
    except OSError as exc:
        pytest.skip(f"this machine's cgroup tree takes no new group: {exc}")
    files = OpenFiles()
    try:
        assert files.read(counter) is not None
        assert len(files) == 1
        folder.rmdir()
        assert files.read(counter) is None  # ENODEV on the open file, then no such file
        assert len(files) == 0
        folder.mkdir()
        assert files.read(counter) is not None
    finally:
        files.close()
        if folder.exists():
            folder.rmdir()
