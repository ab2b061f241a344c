"""The page's cost in headless Chromium: time to data, main-thread busy time, JS heap over time.

Starts a real server (default settings, chosen async mode), opens the dashboard in headless
Chromium and reads the Chrome DevTools Protocol ``Performance.getMetrics``, in three cases:

* ``live``: 1600x1000, every chart live at 1 Hz;
* ``hidden``: the same page with its tab hidden (tests/pageprobe.py HIDE_TAB: headless
  Chromium keeps every tab visible, so the page is shown what a hidden tab sees), then shown;
* ``phone``: 390x844, mobile emulation with touch.

For each: time to data (from ``page.goto`` until every chart in view has points to show),
busy (TaskDuration delta / wall-clock delta over --busy-seconds, with Script, Layout and
RecalcStyle durations per second, the renderer's, the whole browser's and the server's CPU %)
and chart redraws per second (``plotly_afterplot`` events). ``--baseline REV`` measures the
same cases against a checkout of REV too, in the same run, so before and after are read on
the same machine minutes apart. Then, for this checkout: when live busy is above the 5 %
target, a CPU profile names the hot spots; and the JS heap (JSHeapUsedSize every 30 s for
--minutes, raw and after a forced GC) with its slope.

    .venv/bin/python -m bench.page [--mode eventlet] [--minutes 30] [--busy-seconds 60]
        [--baseline ac412c2] [--cases live,hidden,phone]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, CDPSession, Page, ViewportSize, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, CostMeter, ServerProcess, children, make_server, save
from tests.pageprobe import COUNT_REDRAWS, HIDE_TAB, PLOTS, REDRAWS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1600, "height": 1000}
PHONE: ViewportSize = {"width": 390, "height": 844}
CASES = ("live", "hidden", "phone")

# The charts someone at the screen sees (the page draws only those, and those coming into view).
SEEN = (
    f"{PLOTS}.filter(gd => {{ const r = gd.getBoundingClientRect();"
    " return r.top < innerHeight && r.bottom > 0; })"
)
ALL_LIVE = (
    f"{SEEN}.length > 0 && {SEEN}.every(gd => Array.isArray(gd.data)"
    " && gd.data.some(t => t.x.length > 0))"
)
# Points in the fullest trace: the heap grows legitimately until the 300 s window is full.
POINTS = f"Math.max(0, ...{PLOTS}.flatMap(gd => (gd.data || []).map(t => t.x.length)))"
WINDOW_SECONDS = 300  # main.js WINDOW_SECONDS: traces stop growing once it is full
SETTLE_SECONDS = 5  # the history backfill draws right after time to data: not steady state
SNAPSHOT_SECONDS = 5  # busy is also reported per interval, to show its spread
HEAP_EVERY = 30
BUSY_TARGET = 5.0  # % of the main thread
FLAT_MB_PER_MIN = 0.1  # after the window is full, a steady page grows less than this
LOAD_TIMEOUT_MS = 60_000
MB = 2**20
PRINT_TOP = 12  # rows per profile table on screen; the JSON keeps more
IN_VIEWPORT = f"{SEEN}.length"
# Diagnosis only: time each public Plotly call per chart; the originals are put back after.
WRAP_PLOTLY = """() => {
  const stats = {}, originals = {};
  for (const name of ["extendTraces", "relayout", "react", "restyle", "addTraces", "newPlot"]) {
    const original = originals[name] = Plotly[name];
    Plotly[name] = function (gd, ...rest) {
      const t0 = performance.now();
      try { return original.call(this, gd, ...rest); } finally {
        const s = stats[`${name} ${gd.id || gd}`] ||= { calls: 0, ms: 0 };
        s.calls += 1;
        s.ms += performance.now() - t0;
      }
    };
  }
  window.__benchPlotly = { stats, originals };
}"""
UNWRAP_PLOTLY = """() => {
  const { stats, originals } = window.__benchPlotly;
  Object.assign(Plotly, originals);
  delete window.__benchPlotly;
  return stats;
}"""


CATCH_UP_SECONDS = 2.0  # after a hidden tab is shown: its redraws are counted this long


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    parser.add_argument("--minutes", type=float, default=10.0, help="heap sampling duration")
    parser.add_argument("--busy-seconds", type=float, default=60.0)
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated subset; '' for the heap only"
    )
    parser.add_argument(
        "--baseline", help="a git revision measured the same way first (its own checkout)"
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=10.0,
        help="CPU profile length when busy is above target (0: never)",
    )
    args = parser.parse_args()
    args.cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)} (known: {', '.join(CASES)})")
    return args


def main() -> None:
    args = parse_args()
    arm_watchdog(args)
    started = time.monotonic()
    result: dict[str, Any] = {"cases": {}}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            if args.baseline:
                with checkout(args.baseline) as root, running(args.mode, root) as server:
                    result["baseline"] = revision(root)
                    measure_cases(browser, server, args, result["cases"], "before")
            with running(args.mode, ROOT) as server:
                started = time.monotonic()
                measure_cases(browser, server, args, result["cases"], "after")
                result.update(measure_heap(browser, server, args, started))
        finally:
            browser.close()
    result["revision"] = revision(ROOT)
    result["params"] = {
        "mode": args.mode,
        "minutes": args.minutes,
        "busy_seconds": args.busy_seconds,
        "viewport": VIEWPORT,
        "phone": PHONE,
        "cases": args.cases,
        "profile_seconds": args.profile_seconds,
    }
    print(summary(result))
    print(f"saved {save('page', result)}")


def arm_watchdog(args: argparse.Namespace) -> None:
    """A hard bound on the whole run: SIGALRM raises, so the finally blocks still clean up."""
    per_case = 60 + args.busy_seconds + CATCH_UP_SECONDS
    builds = 2 if args.baseline else 1
    budget = (
        180 + builds * len(args.cases) * per_case + args.profile_seconds + 1.2 * 60 * args.minutes
    )

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"bench/page.py exceeded its {budget:.0f} s budget")

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(int(budget))


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """A detached worktree of ``rev`` (with this checkout's node_modules), removed after."""
    with tempfile.TemporaryDirectory(prefix="page-baseline-") as tmp:
        root = Path(tmp) / "src"
        git = ["git", "-C", str(ROOT)]
        subprocess.run([*git, "worktree", "add", "--detach", str(root), rev], check=True)
        try:
            (root / "node_modules").symlink_to(ROOT / "node_modules")
            yield root
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(root)], check=False)


def revision(root: Path) -> str:
    out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], text=True,
                         capture_output=True, check=False)  # fmt: skip
    return out.stdout.strip() or "unknown"


@contextlib.contextmanager
def running(mode: str, root: Path) -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory() as tmp:
        server = make_server(Path(tmp), async_mode=mode)
        server.root = root
        try:
            yield server.start()
        finally:
            server.stop()


def measure_cases(
    browser: Browser, server: ServerProcess, args: argparse.Namespace, out: dict, build: str
) -> None:
    for case in args.cases:
        print(f"measuring {case} ({build})", flush=True)
        out.setdefault(case, {})[build] = measure_case(browser, server, case, args.busy_seconds)


def open_page(browser: Browser, case: str) -> tuple[Any, Page, CDPSession]:
    if case == "phone":
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True
        )
    else:
        context = browser.new_context(viewport=VIEWPORT)
    if case == "hidden":
        context.add_init_script(HIDE_TAB)
    page = context.new_page()
    page.set_default_timeout(30_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "timeTicks"})
    return context, page, cdp


def measure_case(browser: Browser, server: ServerProcess, case: str, seconds: float) -> dict:
    context, page, cdp = open_page(browser, case)
    try:
        result: dict[str, Any] = {"time_to_data": time_to_data(page, server.url)}
        result["charts"] = page.evaluate(f"{PLOTS}.length")
        result["charts_in_viewport"] = page.evaluate(IN_VIEWPORT)
        result["scroll_width"] = page.evaluate("document.documentElement.scrollWidth")
        page.evaluate(COUNT_REDRAWS)
        time.sleep(SETTLE_SECONDS)
        if case == "hidden":
            page.evaluate("window.__hideTab(true)")
            time.sleep(1)
        before = page.evaluate(REDRAWS)
        result["busy"] = busy_window(cdp, seconds, server.pid)
        redraws = page.evaluate(REDRAWS) - before
        result["redraws_per_s"] = round(redraws / result["busy"]["wall_seconds"], 2)
        if case == "hidden":
            result["catch_up_redraws"] = catch_up(page)
        return result
    finally:
        context.close()


def catch_up(page: Page) -> int:
    """Redraws in the seconds after a hidden tab is shown again (one per chart is the goal)."""
    before = page.evaluate(REDRAWS)
    page.evaluate("window.__hideTab(false)")
    time.sleep(CATCH_UP_SECONDS)
    return int(page.evaluate(REDRAWS) - before)


def measure_heap(
    browser: Browser, server: ServerProcess, args: argparse.Namespace, started: float
) -> dict[str, Any]:
    """The live page over --minutes: heap samples, and a CPU profile first if it is busy."""
    context, page, cdp = open_page(browser, "live")
    try:
        out: dict[str, Any] = {"time_to_data": time_to_data(page, server.url)}
        time.sleep(SETTLE_SECONDS)
        out["busy"] = busy_window(cdp, min(args.busy_seconds, 30.0), server.pid)
        if out["busy"]["busy_percent"] > BUSY_TARGET and args.profile_seconds > 0:
            out["profile"] = profile_hotspots(page, cdp, args.profile_seconds)
        out["heap"] = heap_series(page, cdp, args.minutes, started)
        return out
    finally:
        context.close()


def time_to_data(page: Page, url: str) -> dict[str, float]:
    """Seconds from goto to every chart showing data, as seen here and by the page itself."""
    t0 = time.monotonic()
    page.goto(url, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    # Poll on a timer, not per animation frame: the check must not add frames of its own.
    handle = page.wait_for_function(
        f"() => ({ALL_LIVE}) && performance.now()", polling=50, timeout=LOAD_TIMEOUT_MS
    )
    seconds = time.monotonic() - t0
    dcl = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    return {
        "seconds": round(seconds, 3),
        "page_ms": round(handle.json_value(), 1),
        "dom_content_loaded_ms": round(dcl, 1),
    }


def metrics(cdp: CDPSession) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def busy_window(cdp: CDPSession, seconds: float, server_pid: int) -> dict[str, Any]:
    """Main-thread time per wall second from Performance metrics, with CPU % beside it."""
    meters = cpu_meters(server_pid)
    snapshots = [metrics(cdp)]
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(SNAPSHOT_SECONDS, left))
        snapshots.append(metrics(cdp))
    per_interval = [rates(a, b)["busy_percent"] for a, b in itertools.pairwise(snapshots)]
    return {
        **rates(snapshots[0], snapshots[-1]),
        "per_interval_busy_percent": per_interval,
        "cpu_percent": read_cpu(meters),
    }


def rates(first: dict[str, float], last: dict[str, float]) -> dict[str, float]:
    """Busy % and the durations (ms per wall second) between two metric snapshots."""
    wall = last["Timestamp"] - first["Timestamp"]
    out = {"busy_percent": round(100 * (last["TaskDuration"] - first["TaskDuration"]) / wall, 2)}
    for key in ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration"):
        out[f"{key}_ms_per_s"] = round(1000 * (last[key] - first[key]) / wall, 2)
    for key in ("LayoutCount", "RecalcStyleCount"):
        out[f"{key}_per_s"] = round((last[key] - first[key]) / wall, 2)
    out["wall_seconds"] = round(wall, 1)
    return out


def cpu_meters(server_pid: int) -> dict[str, list[CostMeter]]:
    browser_pid, renderers = chromium_pids()
    return {
        "server": [CostMeter(server_pid)],
        "browser_tree": [CostMeter(browser_pid)],
        "renderers": [CostMeter(pid) for pid in renderers],
    }


def read_cpu(meters: dict[str, list[CostMeter]]) -> dict[str, float]:
    """CPU % of one core per group; the page's renderer is the busiest one (the others are the
    initial about:blank and Chromium's own UI renderers, idle here)."""
    cpu = {name: [m.read().cpu_percent for m in group] for name, group in meters.items()}
    return {
        "server": round(cpu["server"][0], 2),
        "page_renderer": round(max(cpu["renderers"], default=float("nan")), 2),
        "all_renderers": round(sum(cpu["renderers"]), 2),
        "browser_tree": round(cpu["browser_tree"][0], 2),
    }


def chromium_pids() -> tuple[int, list[int]]:
    """The browser's main process and its renderers, among this process's descendants."""
    main_pid, renderers = 0, []
    for pid in children(os.getpid()):
        try:
            # Chromium's children rewrite their title: argv becomes one space-joined string.
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            continue
        if not argv or not argv[0].endswith(b"/chromium"):
            continue
        if b"--type=renderer" in argv:
            renderers.append(pid)
        elif not any(arg.startswith(b"--type=") for arg in argv):
            main_pid = main_pid or pid
    if not main_pid:
        raise RuntimeError("no chromium process found among this process's children")
    return main_pid, renderers


def profile_hotspots(page: Page, cdp: CDPSession, seconds: float, top: int = 40) -> dict[str, Any]:
    """A sampling CPU profile (functions with the most self and inclusive time) and the time
    each public Plotly call took, per chart, over the same seconds."""
    page.evaluate(WRAP_PLOTLY)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 500})  # microseconds
    cdp.send("Profiler.start")
    time.sleep(seconds)
    profile = cdp.send("Profiler.stop")["profile"]
    cdp.send("Profiler.disable")
    calls = page.evaluate(UNWRAP_PLOTLY)
    self_ms, total_ms, by_file = tally(profile)

    def ranked(table: dict[str, float]) -> list[dict[str, Any]]:
        best = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [{"function": name, "ms_per_s": round(ms / seconds, 2)} for name, ms in best]

    return {
        "seconds": seconds,
        "self": ranked(self_ms),
        "inclusive": ranked(total_ms),
        "by_file": ranked(by_file),
        "plotly_calls": plotly_calls(calls, seconds),
    }


def plotly_calls(stats: dict[str, dict[str, float]], seconds: float) -> list[dict[str, Any]]:
    """Calls per second and ms per call of each Plotly function on each chart, costliest first."""
    rows = [
        {
            "call": key,
            "per_s": round(s["calls"] / seconds, 2),
            "ms_each": round(s["ms"] / s["calls"], 2),
            "ms_per_s": round(s["ms"] / seconds, 2),
        }
        for key, s in stats.items()
    ]
    return sorted(rows, key=lambda row: -row["ms_per_s"])


def tally(profile: dict) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Self ms per function, inclusive ms per function (once per stack), self ms per file."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}
    self_ms: dict[str, float] = defaultdict(float)
    total_ms: dict[str, float] = defaultdict(float)
    by_file: dict[str, float] = defaultdict(float)
    for node_id, delta_us in zip(profile["samples"], profile["timeDeltas"], strict=False):
        frame = nodes[node_id]["callFrame"]
        if frame["functionName"] == "(idle)":
            continue
        ms = delta_us / 1000
        self_ms[label(frame)] += ms
        by_file[frame["url"].rsplit("/", 1)[-1] or frame["functionName"]] += ms
        for name in stack_labels(node_id, nodes, parent):
            total_ms[name] += ms
    return self_ms, total_ms, by_file


def stack_labels(node_id: int, nodes: dict[int, dict], parent: dict[int, int]) -> set[str]:
    """Every function on a sample's stack, once each (recursion must not count twice)."""
    names = set()
    while node_id in nodes:
        frame = nodes[node_id]["callFrame"]
        if frame["functionName"] != "(root)":
            names.add(label(frame))
        node_id = parent.get(node_id, -1)
    return names


def label(frame: dict) -> str:
    name = frame["functionName"] or "(anonymous)"
    file = frame["url"].rsplit("/", 1)[-1]
    # Line and column (both 0-based in CDP) tell minified plotly functions apart.
    return f"{name} {file}:{frame['lineNumber'] + 1}:{frame['columnNumber'] + 1}" if file else name


def heap_series(page: Page, cdp: CDPSession, minutes: float, started: float) -> dict[str, Any]:
    """JSHeapUsedSize every HEAP_EVERY s, raw and after a forced GC, with least-squares slopes.

    Busy % between samples comes for free: from one sample's after-GC metrics to the next
    sample's raw ones, so the forced GC is never counted as page work."""
    samples: list[dict[str, Any]] = []
    previous: dict[str, float] | None = None
    deadline = time.monotonic() + 60 * minutes
    while True:
        raw = metrics(cdp)
        cdp.send("HeapProfiler.collectGarbage")
        points = page.evaluate(POINTS)
        after = metrics(cdp)
        busy = rates(previous, raw)["busy_percent"] if previous else None
        samples.append(heap_sample(raw, after, points, busy, started))
        previous = after
        if time.monotonic() + HEAP_EVERY > deadline + 1:
            break
        time.sleep(HEAP_EVERY)
    return {"samples": samples, **heap_figures(samples)}


def heap_sample(
    raw: dict[str, float], after: dict[str, float], points: int, busy: float | None, started: float
) -> dict[str, Any]:
    return {
        "server_age_s": round(time.monotonic() - started, 1),
        "raw_mb": round(raw["JSHeapUsedSize"] / MB, 3),
        "gc_mb": round(after["JSHeapUsedSize"] / MB, 3),
        "total_mb": round(after["JSHeapTotalSize"] / MB, 3),
        "nodes": after["Nodes"],
        "listeners": after["JSEventListeners"],
        "points": points,
        "busy_percent_since_last": busy,
    }


def heap_figures(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """First/last/max and slopes; "steady" uses only samples taken once the window is full."""
    gc = [s["gc_mb"] for s in samples]
    ages = [s["server_age_s"] / 60 for s in samples]
    steady = [s for s in samples if s["server_age_s"] >= WINDOW_SECONDS + SETTLE_SECONDS]
    steady_slope = slope([(s["server_age_s"] / 60, s["gc_mb"]) for s in steady])
    steady_busy = [s["busy_percent_since_last"] for s in steady[1:]]
    return {
        "first_gc_mb": gc[0],
        "last_gc_mb": gc[-1],
        "max_gc_mb": max(gc),
        "max_raw_mb": max(s["raw_mb"] for s in samples),
        "slope_mb_per_min": slope(list(zip(ages, gc, strict=True))),
        "steady_samples": len(steady),
        "steady_slope_mb_per_min": steady_slope if len(steady) >= 3 else None,
        "flat": None if len(steady) < 3 else abs(steady_slope or 0) <= FLAT_MB_PER_MIN,
        "steady_busy_percent": round(sum(steady_busy) / len(steady_busy), 2)
        if steady_busy
        else None,
    }


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x (MB per minute here)."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return None
    return round(sum((x - mean_x) * (y - mean_y) for x, y in points) / var, 4)


def summary(result: dict[str, Any]) -> str:
    heap = result["heap"]
    verdict = {True: "flat", False: "NOT flat", None: "not measured (needs --minutes >= 6)"}
    steady_busy = heap["steady_busy_percent"]
    steady_busy = "n/a" if steady_busy is None else f"{steady_busy:.2f} %"
    lines = case_lines(result["cases"], result.get("baseline"), result.get("revision", "?"))
    lines += [
        f"JS heap after GC: {heap['first_gc_mb']:.2f} -> {heap['last_gc_mb']:.2f} MB "
        f"(max {heap['max_gc_mb']:.2f}, raw max {heap['max_raw_mb']:.2f}) over "
        f"{len(heap['samples'])} samples; slope {heap['slope_mb_per_min']} MB/min",
        f"  once the {WINDOW_SECONDS} s window is full: slope {heap['steady_slope_mb_per_min']} "
        f"MB/min over {heap['steady_samples']} samples -> {verdict[heap['flat']]}; "
        f"busy between samples {steady_busy}",
    ]
    return "\n".join(lines + profile_lines(result.get("profile")))


def case_lines(cases: dict[str, dict], baseline: str | None, revision: str) -> list[str]:
    lines = []
    for case, builds in cases.items():
        for build in ("before", "after"):
            if build not in builds:
                continue
            m = builds[build]
            busy = m["busy"]
            spread = busy["per_interval_busy_percent"]
            name = baseline if build == "before" else revision
            extra = (
                f", {m['catch_up_redraws']} redraws on showing" if "catch_up_redraws" in m else ""
            )
            lines += [
                f"{case} [{build}: {name}]: main thread busy {busy['busy_percent']:.2f} % over "
                f"{busy['wall_seconds']} s (per {SNAPSHOT_SECONDS} s: {min(spread):.2f}.."
                f"{max(spread):.2f} %); {m['redraws_per_s']} redraws/s{extra}",
                f"  time to data {m['time_to_data']['seconds']:.2f} s; {m['charts']} charts, "
                f"{m['charts_in_viewport']} in the viewport; scrollWidth {m['scroll_width']}",
                f"  per second: script {busy['ScriptDuration_ms_per_s']:.1f} ms, layout "
                f"{busy['LayoutDuration_ms_per_s']:.1f} ms ({busy['LayoutCount_per_s']}/s), style "
                f"{busy['RecalcStyleDuration_ms_per_s']:.1f} ms; CPU % of one core: "
                + ", ".join(f"{k} {v:.1f}" for k, v in busy["cpu_percent"].items()),
            ]
    return lines


def profile_lines(profile: dict[str, Any] | None) -> list[str]:
    if not profile:
        return []
    calls = profile["plotly_calls"]
    lines = [
        f"CPU profile over {profile['seconds']} s (ms per second); Plotly calls "
        f"{sum(c['per_s'] for c in calls):.1f}/s, {sum(c['ms_per_s'] for c in calls):.1f} ms/s:"
    ]
    lines += [
        f"    {c['ms_per_s']:7.2f}  {c['call']} ({c['per_s']}/s, {c['ms_each']} ms each)"
        for c in calls[:PRINT_TOP]
    ]
    for kind in ("by_file", "self", "inclusive"):
        lines.append(f"  {kind}:")
        lines += [
            f"    {row['ms_per_s']:7.2f}  {row['function']}" for row in profile[kind][:PRINT_TOP]
        ]
    return lines


if __name__ == "__main__":
    main()
