"""Blocking collector calls run in native threads: the event loop keeps beating meanwhile."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.serverproc import ROOT

SCRIPT = ROOT / "tests" / "scripts" / "workers_probe.py"


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_a_blocking_call_never_stalls_the_loop(mode):
    env = {"PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(SCRIPT), mode]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
                         env=env)  # fmt: skip
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["result"] == "done"
    # The loop beat every ~10 ms throughout a 1 s blocking call (on the loop: one 1 s gap).
    assert report["beats"] > 50 and report["max_gap"] < 0.5, report
    assert report["timeout"].startswith("TimeoutError after 0.3"), report


def test_threading_mode_times_out_too():
    import time

    from dashboard.workers import NativeWorkers

    workers = NativeWorkers("threading")
    assert workers.call(lambda: 42, timeout=1) == 42
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"timed out after 0\.2 s"):
        workers.call(lambda: time.sleep(2), timeout=0.2)
    assert time.monotonic() - started < 1
    with pytest.raises(ZeroDivisionError):
        workers.call(lambda: 1 / 0, timeout=1)
