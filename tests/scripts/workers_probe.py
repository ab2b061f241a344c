"""Run NativeWorkers under a monkey-patched async mode and report what the loop saw.

Usage: python workers_probe.py MODE. Prints one JSON line: the largest gap between heartbeats
of a green thread while a collector call blocked its OS thread for 1 s, and how a call that
outlives its timeout ended.
"""

import itertools
import json
import sys
import warnings

mode = sys.argv[1]
if mode == "eventlet":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import eventlet
    eventlet.monkey_patch()
    from eventlet.patcher import original

    blocking_sleep = original("time").sleep
    spawn, green_sleep = eventlet.spawn, eventlet.sleep
elif mode == "gevent":
    from gevent import monkey

    monkey.patch_all()
    import gevent

    blocking_sleep = monkey.get_original("time", "sleep")
    spawn, green_sleep = gevent.spawn, gevent.sleep
else:
    raise SystemExit(f"unknown mode {mode}")

import time  # noqa: E402  (after monkey-patching, on purpose)

from dashboard.workers import NativeWorkers  # noqa: E402

workers = NativeWorkers(mode)
beats: list[float] = []
running = True


def heartbeat() -> None:
    while running:
        beats.append(time.monotonic())
        green_sleep(0.01)


spawn(heartbeat)
green_sleep(0.05)
result = workers.call(lambda: (blocking_sleep(1.0), "done")[1], timeout=5)
started = time.monotonic()
try:
    workers.call(lambda: blocking_sleep(2.0), timeout=0.3)
    timeout_outcome = "returned"
except TimeoutError as exc:
    timeout_outcome = f"TimeoutError after {time.monotonic() - started:.2f} s: {exc}"
running = False
gaps = [b - a for a, b in itertools.pairwise(beats)]
print(json.dumps({"result": result, "max_gap": max(gaps), "beats": len(beats),
                  "timeout": timeout_outcome}))  # fmt: skip
