"""Render bench/results/*.json into docs/benchmarks.md and plotly charts (docs/benchmarks/)."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

# Changes made because a benchmark showed a cost, with the figures before and after.
IMPROVEMENTS = Path(__file__).with_name("improvements.md")
# Hand-written remarks about the published run (what else was going on, what was tried).
NOTES = Path(__file__).with_name("notes.md")


def render(results: Path, docs: Path) -> Path:
    data = {p.stem: json.loads(p.read_text()) for p in sorted(results.glob("*.json"))}
    charts = docs / "benchmarks"
    charts.mkdir(parents=True, exist_ok=True)
    parts = [
        _header(data), _summary(data), _idle(data), _watch(data), _fanout(data, charts),
        _history(data), _page(data, charts), _alerts(data), _snapshots(data), _collectors(data),
        _improvements(),
        _notes(),
    ]  # fmt: skip
    out = docs / "benchmarks.md"
    out.write_text("\n".join(p for p in parts if p))
    return out


def _header(data: dict[str, Any]) -> str:
    when = sorted({d.get("measured_at", "?") for d in data.values()})
    return f"""# Benchmarks

Figures from one run of `make bench` (= `.venv/bin/python -m bench.run_all`) on {_machine()},
each benchmark alone on the machine, one after another ({when[0]} to {when[-1]}).
Every process is a real one on 127.0.0.1; CPU is % of **one** core from `/proc/<pid>/stat`
(utime + stime of the process and all its children), memory is RSS. Benchmarks report
figures: they never pass or fail (the machines are shared and noisy), and the targets below
come from issue #3. Re-render this page from the saved JSON with
`.venv/bin/python -m bench.run_all --render`.
"""


def _machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB, Python "
            f"{platform.python_version()}")  # fmt: skip


def _row(data: dict[str, Any], bench: str, name_part: str) -> dict[str, Any] | None:
    for row in data.get(bench, {}).get("rows", []):
        if name_part in row["name"]:
            return row
    return None


def _summary(data: dict[str, Any]) -> str:
    lines = ["## Targets", "", "| target | measured | holds |", "|---|---|---|"]
    idle = _row(data, "idle", "dashboard")
    if idle:
        ok = idle["cpu_percent"] <= 1.0 and idle["rss_mb"] <= 80
        lines.append(f"| idle ≤ 1 % of one core, ≤ 80 MB RSS | {idle['cpu_percent']:.2f} %, "
                     f"{idle['rss_mb']:.0f} MB | {_yes(ok)} |")  # fmt: skip
    watch = _row(data, "watch", "dashboard")
    if watch:
        extra = watch["cpu_percent"] - watch["idle_cpu_percent"]
        kb = watch["bytes_per_s"] / 1024
        lines.append(f"| one watching client ≤ 0.3 % of one core, ≤ 10 KB/s | +{extra:.2f} % "
                     f"over idle, {kb:.1f} KB/s | {_yes(extra <= 0.3 and kb <= 10)} |")  # fmt: skip
    for mode, best in _fanout_best(data).items():
        ok = best is not None and best >= 1000
        lines.append(f"| fan-out: 1,000 clients at 1 Hz, p99 ≤ 100 ms, nothing lost ({mode}) | "
                     f"{best or 0:,} clients | {_yes(ok)} |")  # fmt: skip
    hist = data.get("history")
    if hist:
        per = hist["bytes_per_sample"]
        target = hist["target_bytes_per_sample"]
        lines.append(f"| history ≤ {target:g} bytes per sample at full resolution, default "
                     f"collectors | {per['raw_chunks']:.2f} B of chunk data, {per['file']:.2f} B "
                     f"of file | {_yes(max(per.values()) <= target)} |")  # fmt: skip
    page = data.get("page")
    if page:
        for case, target, words in PAGE_TARGETS:
            after = page.get("cases", {}).get(case, {}).get("after")
            if after:
                busy = after["busy"]["busy_percent"]
                lines.append(f"| page ≤ {target:g} % main-thread busy, {words} | {busy:.2f} % "
                             f"| {_yes(busy <= target)} |")  # fmt: skip
        heap = page["heap"]
        lines.append(f"| page heap flat over {page['params']['minutes']:g} minutes | "
                     f"{_heap_text(heap)} | {_yes(bool(heap.get('flat')))} |")  # fmt: skip
    alerts = data.get("alerts")
    if alerts and "medians" in alerts:
        extra = alerts["medians"]["on"]["cpu_percent"] - alerts["medians"]["off"]["cpu_percent"]
        p50 = alerts["latency"]["p50_s"]
        lines.append(f"| 1,000 alert instances at 1 Hz ≤ 2 % of one core | {extra:+.2f} % | "
                     f"{_yes(extra <= 2)} |")  # fmt: skip
        lines.append(f"| threshold held for `for` → webhook POST, p50 < 1.5 s | {p50} s | "
                     f"{_yes(p50 is not None and p50 < 1.5)} |")  # fmt: skip
    snap = data.get("snapshots")
    if snap and "share_percent" in snap:
        share, target = snap["share_percent"]["day_file"], snap["target_share_percent"]
        lines.append(f"| process snapshots < {target:g} % of the history file | "
                     f"{_mib(snap['day']['file_bytes'])} a day, {share:.1f} % of a day's file | "
                     f"{_yes(share < target)} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _fanout_best(data: dict[str, Any]) -> dict[str, int | None]:
    """Largest N per mode with p99 ≤ 100 ms, nothing lost, everyone connected."""
    best: dict[str, int | None] = {}
    for step in data.get("fanout", {}).get("steps", []):
        best.setdefault(step["mode"], None)
        if _step_ok(step):
            best[step["mode"]] = max(best[step["mode"]] or 0, step["clients"])
    return best


def _step_ok(step: dict[str, Any]) -> bool:
    return (step.get("p99_ms", 1e9) <= 100 and not step.get("lost")
            and step.get("connected") == step["clients"] and not step.get("dropped"))  # fmt: skip


def _idle(data: dict[str, Any]) -> str:
    idle = data.get("idle")
    if not idle:
        return ""
    lines = ["## 1. Idle cost", "", "Default collectors, no client, measured over "
             f"{idle['params']['seconds']:.0f} s after {idle['params']['settle']:.0f} s to "
             "settle. Command: `.venv/bin/python -m bench.idle`.", "",
             "| server | CPU % of one core | RSS |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {r['name']} | {r['cpu_percent']:.2f} | {r['rss_mb']:.0f} MB |"
              for r in idle["rows"]]  # fmt: skip
    lines += ["", *[f"- {note}" for note in idle.get("notes", [])]]
    lines.append(
        "- Glances refreshes its stats only when asked, so its idle web server is "
        "cheap; ours samples every collector on schedule (that is what gives every "
        "new page its history at once)."
    )
    return "\n".join(lines) + "\n"


def _collectors(data: dict[str, Any]) -> str:
    """The cgroups collector's cost per run by group count, beside the other built-ins'."""
    cost = data.get("cgroups")
    if not cost or "written" not in cost:
        return ""
    lines = ["## Collector cost per run", "",
             "Wall time of one `collect()` in the collector's worker thread, median (max) of "
             f"{cost['runs']} runs after the first. Command: `.venv/bin/python -m bench.cgroups`.",
             "", "`cgroups`, by number of groups (goal: ≤ "
             f"{cost['goal_ms_at_200']:g} ms at 200):", "",
             "| groups | written v2 tree: first run | then | this kernel's tree: first run "
             "| then |",
             "|---|---|---|---|---|"]  # fmt: skip
    for mine, real in zip(cost["written"], cost["kernel"], strict=True):
        kernel = (
            f"skipped: {real['skipped']} | |"
            if "skipped" in real
            else f"{real['first_ms']:.1f} ms | {real['median_ms']:.1f} ({real['max_ms']:.1f}) ms"
        )
        lines.append(f"| {mine['groups']:,} | {mine['first_ms']:.1f} ms | {mine['median_ms']:.1f} "
                     f"({mine['max_ms']:.1f}) ms | {kernel} |")  # fmt: skip
    real = next((r for r in cost["kernel"] if "version" in r), None)
    if real:
        lines += [
            "",
            f"This kernel's tree is cgroup v{real['version']} "
            f"({', '.join(real['trees'])}); its groups are empty, and every file is "
            "written by the kernel as it is read. Past 200 groups the rest are summed "
            "as `other` (`max_groups`), so 1,000 groups send as many series as 200.",
        ]
    lines += [
        "",
        "The other built-ins on this machine's real readings:",
        "",
        "| collector | interval | cost per run |",
        "|---|---|---|",
    ]
    lines += [f"| `{r['collector']}` | {r['interval']:g} s | {r['median_ms']:.2f} "
              f"({r['max_ms']:.2f}) ms |" for r in cost["others"]]  # fmt: skip
    return "\n".join(lines) + "\n"


def _watch(data: dict[str, Any]) -> str:
    watch = data.get("watch")
    if not watch:
        return ""
    lines = ["## 2. Cost per watching client", "",
             "One client for "
             f"{watch['params']['seconds']:.0f} s: ours subscribed to every namespace (push), "
             "Glances polled for `/api/4/all` once a second over one keep-alive connection. "
             "Bytes are counted both ways by a loopback proxy. Command: "
             "`.venv/bin/python -m bench.watch`.", "",
             "| server | CPU % of one core (idle) | extra for the client | on the wire |",
             "|---|---|---|---|"]  # fmt: skip
    for r in watch["rows"]:
        extra = r["cpu_percent"] - r["idle_cpu_percent"]
        lines.append(f"| {r['name']} | {r['cpu_percent']:.2f} ({r['idle_cpu_percent']:.2f}) | "
                     f"+{extra:.2f} | {r['bytes_per_s'] / 1024:.1f} KB/s |")  # fmt: skip
    ours = _row(data, "watch", "dashboard")
    if ours:
        lines += ["", f"Delay from a sample's timestamp to its arrival at this client: p50 "
                      f"{ours['delay_p50_ms']} ms, p99 {ours['delay_p99_ms']} ms over "
                      f"{ours['samples']} samples."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _fanout(data: dict[str, Any], charts: Path) -> str:
    fan = data.get("fanout")
    if not fan:
        return ""
    params = fan["params"]
    lines = ["## 3. Fan-out", "",
             f"N clients subscribed to `/cpu` (1 Hz) for {params['seconds']:.0f} s per step, "
             f"from {params['workers']} load-generator processes of lean asyncio websocket "
             "clients on the same 2 cores. A mode stops at the first step with p99 > 100 ms, "
             "a lost sample or a client that cannot connect. Command: "
             "`.venv/bin/python -m bench.fanout`. Chart: "
             "[docs/benchmarks/fanout.html](benchmarks/fanout.html).", "",
             "| mode | clients | connected | p50 ms | p99 ms | max ms | lost | server CPU % | "
             "load generator CPU % | machine CPU % |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for s in fan["steps"]:
        lines.append(f"| {s['mode']} | {s['clients']:,} | {s['connected']:,} | "
                     f"{s.get('p50_ms')} | {s.get('p99_ms')} | {s.get('max_ms')} | "
                     f"{s.get('lost')} | {s.get('server_cpu')} | {s.get('loadgen_cpu')} | "
                     f"{s.get('machine_cpu')} |")  # fmt: skip
    _fanout_chart(fan["steps"], charts / "fanout.html")
    return "\n".join(lines) + "\n"


def _fanout_chart(steps: list[dict[str, Any]], path: Path) -> None:
    fig = go.Figure()
    for mode in dict.fromkeys(s["mode"] for s in steps):
        mine = [s for s in steps if s["mode"] == mode]
        fig.add_scatter(x=[s["clients"] for s in mine], y=[s.get("p99_ms") for s in mine],
                        mode="lines+markers", name=f"{mode} p99")  # fmt: skip
        fig.add_scatter(x=[s["clients"] for s in mine], y=[s.get("server_cpu") for s in mine],
                        mode="lines+markers", name=f"{mode} server CPU %", yaxis="y2",
                        line={"dash": "dot"})  # fmt: skip
    fig.add_hline(y=100, line_dash="dash", annotation_text="p99 target 100 ms")
    fig.update_layout(title="Fan-out at 1 Hz: delivery delay p99 and server CPU",
                      xaxis_title="clients", yaxis_title="p99 delay (ms)",
                      yaxis2={"title": "server CPU % of one core", "overlaying": "y",
                              "side": "right"})  # fmt: skip
    _write(fig, path)


def _history(data: dict[str, Any]) -> str:
    hist = data.get("history")
    if not hist:
        return "## 4. History\n\nNot measured yet: `.venv/bin/python -m bench.history`.\n"
    params, per, proj = hist["params"], hist["bytes_per_sample"], hist["projection"]
    record = params["record_seconds"]
    hours = params["simulated_hours"]
    by_interval: dict[float, list[str]] = {}
    for name, r in hist["recording"].items():
        if r["readings"]:
            by_interval.setdefault(r["interval"], []).append(f"`{name}`")
    recorded = [f"{', '.join(names)} every {interval:g} s"
                for interval, names in sorted(by_interval.items())]  # fmt: skip
    silent = [f"`{n}`" for n, r in hist["recording"].items() if not r["readings"]]
    target = hist["target_bytes_per_sample"]
    over = [f"{r['name']} ({r['bytes_per_sample']:.2f} B)" for r in hist["collectors"]
            if (r["bytes_per_sample"] or 0) > target]  # fmt: skip
    holds = max(per.values()) <= target
    lines = ["## 4. History", "",
             f"The default collectors' real readings, recorded on this machine for {record:.0f} s "
             f"({'; '.join(recorded)}"
             + (f"; {', '.join(silent)} had no series here" if silent else "") + "), "
             f"tiled over {hours:g} h and written through the real `History` class into a fresh "
             "SQLite file with an injected clock (no sleeping): `append` in time order, "
             f"`flush` every {params['flush_interval']:g} s and `maintain` every "
             f"{params['maintain_every']:g} s of simulated time, as the server's scheduler "
             "calls them; then `close()`. Settings are the defaults: full resolution for "
             f"{_span(params['retention'])}, {params['rollup']:g} s min/avg/max rollups for "
             f"{_span(params['rollup_retention'])}, {params['raw_block'] / 60:g}-minute chunks. "
             "Command: `.venv/bin/python -m bench.history` (`--record SECONDS`, default 300).",
             "",
             f"**Target: ≤ {target:g} bytes per sample at full resolution** (one sample = one "
             f"series' value at one timestamp): {per['raw_chunks']:.2f} B of compressed chunk "
             f"data, {per['file']:.2f} B counting the whole file — "
             + ("holds" if holds else "**does not hold**")
             + (f"; above it on their own: {', '.join(over)}" if over else "") + ".",
             "",
             "| measure | value |", "|---|---|",
             f"| samples stored at full resolution ({hours:g} h) | {hist['samples']:,} |",
             f"| raw tier, compressed chunk data | {_mib(hist['raw_bytes'])} "
             f"({per['raw_chunks']:.2f} B/sample) |",
             f"| the file after `close()` (both tiers, SQLite pages; WAL checkpointed) | "
             f"{_mib(hist['file']['file_bytes'])} ({per['file']:.2f} B/sample) |",
             f"| rollup tier ({params['rollup']:g} s min/avg/max), after {hours:g} h | "
             f"{_mib(hist['rollup_bytes'])} ({_mib(proj['rollup_bytes_per_day'])} per day) |",
             f"| projected: {_span(params['retention'])} raw + "
             f"{_span(params['rollup_retention'])} of rollups | "
             f"{_mib(proj['chunk_bytes_24h_raw_30d_rollup'])} of chunks, "
             f"≈ {_mib(proj['file_bytes_estimate'])} of file |",
             f"| cross-check: the {record:.0f} s recording as one chunk per collector, no "
             f"repetition | {hist['untiled']['bytes_per_sample']:.2f} B/sample |",
             "",
             "| collector | interval | series | samples | raw chunk bytes | B/sample | "
             "rollup per day |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in hist["collectors"]:
        lines.append(f"| {r['name']} | {r['interval']:g} s | {r['series']} | {r['samples']:,} | "
                     f"{r['raw_bytes']:,} | {r['bytes_per_sample']:.2f} | "
                     f"{r['rollup_bytes_per_day'] / 1024:.1f} KiB |")  # fmt: skip
    queries = hist["queries"]
    opened = queries["open"]
    lines += ["",
              f"Queries on the reopened file: a new `History` on the same path with the clock "
              f"at the end of the {hours:g} h, `open()` first; each query "
              f"`History.answer(Query(collector, start, end))` with the default 1,000-point "
              f"budget, run {params['repeats']} times (the file is in the OS page cache). "
              "Median (max) in ms:", "",
              "| collector | 1 h (memory window) | 1 h on disk, ending 2 h ago | 6 h (raw tier) | "
              f"{hours:g} h (rollup tier) |", "|---|---|---|---|---|"]  # fmt: skip
    for name, row in queries["per_collector"].items():
        cells = [f"{row[k]['median_ms']:.1f} ({row[k]['max_ms']:.1f})"
                 for k in ("1h", "1h_disk", "6h", "24h")]  # fmt: skip
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += ["", f"`open()` (checks the file, loads the newest hour into memory): median "
                  f"{opened['median_ms']:.0f} ms, max {opened['max_ms']:.0f} ms over "
                  f"{opened['repeats']} runs.", "",
              "Write cost over the simulated day (wall time in the calls, on this machine):", "",
              "| call | calls | total | per simulated hour | % of one core | median / p99 / max |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for kind in ("flush", "maintain", "append"):
        t = hist["write"]["timers"][kind]
        spread = " / ".join(_ms(t[k]) for k in ("median_ms", "p99_ms", "max_ms"))
        lines.append(f"| `{kind}()` | {t['calls']:,} | {t['wall_s']:.1f} s | "
                     f"{t['ms_per_sim_hour']:.0f} ms | {t['core_percent']:.3f} % | "
                     f"{spread} |")  # fmt: skip
    io = hist["write"].get("io", {})
    if io:
        lines += ["", f"Written while storing the day: {_mib(io.get('wchar', 0))} passed to "
                      f"`write()`, {_mib(io.get('write_bytes', 0))} sent to storage, for a "
                      f"{_mib(hist['file']['file_bytes'])} file."]  # fmt: skip
    lines += ["",
              f"- The data is real but short: {record:.0f} s recorded on this machine, repeated "
              f"to fill {hours:g} h. Compression is per {params['raw_block'] / 60:g}-minute "
              "chunk, so repeats in other chunks do not help; inside a chunk, every other "
              "repeat is played backwards and each starts at a random point (seed "
              f"{params['seed']}), because a recording played forwards twice in one chunk "
              "compresses to about half (zlib stores the copy as back-references). The "
              "cross-check row encodes the recording with no repetition at all.",
              f"- Rollups are compressed per {params.get('rollup_block', 86_400) / 3600:g}-hour "
              "chunk; a real day varies more (and in other ways) than "
              f"{record:.0f} s of readings shuffled, so the rollup size is an estimate.",
              "- What the writes are: each flush appends the new readings as one small "
              "compressed segment per collector (a few SQLite pages in the WAL); once a "
              "10-minute block is over, it is sealed into one chunk and its segments deleted; "
              "its buckets are then added to the rollup chunk it falls in (rewritten whole). "
              "`flush_interval` trades the crash-loss bound against the write volume.",
              "- Readings of this machine with nothing else heavy running (load average "
              f"{_load(hist)}): a busier one changes more values every second, and compresses "
              "less.",
              *[f"- {note}" for note in hist.get("notes", [])]]  # fmt: skip
    return "\n".join(lines) + "\n"


def _mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.0f} KiB"


def _span(seconds: float) -> str:
    return f"{seconds / 86_400:g} d" if seconds > 2 * 86_400 else f"{seconds / 3_600:g} h"


def _ms(value: float) -> str:
    return f"{value * 1000:.0f} µs" if value < 1 else f"{value:.1f} ms"


def _load(hist: dict[str, Any]) -> str:
    load = hist.get("load_average", {})
    return " → ".join(f"{v[0]:.2f}" for v in (load.get("before"), load.get("after")) if v)


PAGE_TARGETS = (
    ("live", 5.0, "all charts live (1600×1000)"),
    ("hidden", 0.5, "tab hidden"),
)
PAGE_CASES = {
    "live": "1600×1000, every chart live",
    "hidden": "the tab hidden",
    "phone": "390×844, mobile with touch",
}


def _page(data: dict[str, Any], charts: Path) -> str:
    page = data.get("page")
    if not page:
        return ""
    heap, params = page["heap"], page["params"]
    base = page.get("baseline")
    lines = ["## 5. The page", "",
             f"Headless Chromium on the live page ({page['cases']['live']['after']['charts']} "
             "charts, default 5-minute window); metrics from the DevTools protocol "
             f"(`Performance.getMetrics`) over {params['busy_seconds']:g} s per case, "
             f"before (`{base}`) and after (`{page['revision']}`) in the same run. Command: "
             f"`.venv/bin/python -m bench.page --baseline {base} --minutes "
             f"{params['minutes']:g}`. Headless Chromium keeps every tab visible, so the "
             "hidden case shows the page what a hidden tab sees (`visibilityState`, its "
             "event, no animation frames; timers are not throttled, so it is an upper "
             "bound). Chart: [docs/benchmarks/page.html](benchmarks/page.html).", "",
             "| case | main-thread busy before → after | redraws/s before → after | "
             "charts in view | renderer CPU before → after |", "|---|---|---|---|---|"]  # fmt: skip
    for case, builds in page["cases"].items():
        lines.append(_page_row(case, builds.get("before"), builds["after"]))
    live = page["cases"]["live"]["after"]
    busy = live["busy"]
    catch_up = page["cases"].get("hidden", {}).get("after", {}).get("catch_up_redraws", "n/a")
    lines += ["",
              f"- Live, after: script / layout / style {busy['ScriptDuration_ms_per_s']:.0f} / "
              f"{busy['LayoutDuration_ms_per_s']:.0f} / {busy['RecalcStyleDuration_ms_per_s']:.0f}"
              f" ms per s; navigation to the charts in view showing data "
              f"{live['time_to_data']['seconds']:.2f} s.",
              f"- Hidden, after: {catch_up} redraws in the 2 s after the tab is shown again (one "
              "per chart in view, then the live ones).",
              f"- JS heap after GC over {params['minutes']:g} min: "
              f"{_heap_text(heap)}."]  # fmt: skip
    _heap_chart(heap, charts / "page.html")
    return "\n".join(lines) + "\n"


def _page_row(case: str, before: dict | None, after: dict) -> str:
    def pair(get: Any, digits: int = 1) -> str:
        now = f"{get(after):.{digits}f}"
        return f"{get(before):.{digits}f} → {now}" if before else now

    busy = pair(lambda m: m["busy"]["busy_percent"], 2)
    redraws = pair(lambda m: m["redraws_per_s"])
    cpu = pair(lambda m: m["busy"]["cpu_percent"]["page_renderer"])
    return (f"| {PAGE_CASES.get(case, case)} | {busy} % | {redraws} | "
            f"{after['charts_in_viewport']} | {cpu} % |")  # fmt: skip


def _heap_text(heap: dict[str, Any]) -> str:
    """First → last after GC, and the slope once the window is full (else over the run)."""
    slope = heap.get("steady_slope_mb_per_min")
    if slope is None:
        slope = heap.get("slope_mb_per_min")
    slope_text = "not measured" if slope is None else f"slope {slope:.3f} MB/min"
    return f"{heap['first_gc_mb']:.1f} → {heap['last_gc_mb']:.1f} MB ({slope_text})"


def _heap_chart(heap: dict[str, Any], path: Path) -> None:
    samples = heap["samples"]
    fig = go.Figure()
    x = [s["server_age_s"] / 60 for s in samples]
    fig.add_scatter(x=x, y=[s["gc_mb"] for s in samples], mode="lines+markers",
                    name="JS heap after GC (MB)")  # fmt: skip
    fig.add_scatter(x=x, y=[s["raw_mb"] for s in samples], mode="lines", name="JS heap (MB)")
    fig.update_layout(title="The page's JS heap over time", xaxis_title="minutes",
                      yaxis_title="MB")  # fmt: skip
    _write(fig, path)


def _alerts(data: dict[str, Any]) -> str:
    alerts = data.get("alerts")
    if not alerts:
        return ""
    params = alerts["params"]
    lines = ["## 6. Alerts", "",
             "A real server (eventlet) with a plugin of 1,000 series and one rule over all of "
             "them (1,000 instances, `avg` over 10 s, evaluated every second), with alerts "
             f"off and on, alternating, {params['pairs']} runs each of {params['seconds']:.0f} s "
             f"after {params['settle']:.0f} s to settle; then the time from a threshold held "
             "for the rule's `for` to the webhook receiving the POST, one fresh alert per "
             "round. Command: `.venv/bin/python -m bench.alerts`.", "",
             "| alerts | CPU % of one core (median) | loop's largest hold while measured "
             "(median) | runs (CPU %, hold) |", "|---|---|---|---|"]  # fmt: skip
    for setting in ("off", "on"):
        med = alerts["medians"][setting]
        runs = [r for r in alerts["cost"] if r["alerts"] is (setting == "on")]
        each = ", ".join(f"{r['cpu_percent']:.2f} % / {r['loop_hold_last_minute_s'] * 1000:.1f} ms"
                         for r in runs)  # fmt: skip
        lines.append(f"| {setting} | {med['cpu_percent']:.2f} | "
                     f"{med['loop_hold_last_minute_s'] * 1000:.1f} ms | {each} |")  # fmt: skip
    off, on = alerts["medians"]["off"], alerts["medians"]["on"]
    lat = alerts["latency"]
    lines += ["", f"- Evaluating 1,000 instances at 1 Hz costs "
              f"{on['cpu_percent'] - off['cpu_percent']:+.2f} % of one core (goal ≤ 2 %); the "
              f"loop's largest hold is {off['loop_hold_last_minute_s'] * 1000:.1f} ms off and "
              f"{on['loop_hold_last_minute_s'] * 1000:.1f} ms on (medians). The evaluation runs "
              "in a native thread and pauses every 256 instances, so the loop's thread gets "
              "the GIL (before that pause: about 5 ms more).",
              f"- Threshold held for `for` ({lat['for_s']:g} s) → webhook POST received: "
              f"p50 {lat['p50_s']} s, p90 {lat['p90_s']} s, max {lat['max_s']} s over "
              f"{lat['received']} of {lat['rounds']} rounds (goal p50 < 1.5 s). It includes "
              "waiting for the next sample (1 s interval) and the next evaluation (every "
              "second)."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _snapshots(data: dict[str, Any]) -> str:
    snap = data.get("snapshots")
    if not snap:
        return ""
    params, day, cpu = snap["params"], snap["day"], snap["cpu_seconds_per_day"]
    hist, share = snap.get("history"), snap.get("share_percent")
    lines = ["## 7. Process snapshots", "",
             f"This machine's real process scans ({snap['processes_per_scan']:.0f} processes a "
             f"scan), recorded for {params['record_seconds']:.0f} s at the default "
             f"{params['interval']:g} s interval, played forwards then backwards over 24 h "
             "(no 10-minute block holds a scan twice) through the real `Recorder` and "
             "`SnapshotStore` into a fresh SQLite file, with an injected clock: `flush` every "
             f"{params['flush_interval']:g} s, `maintain` every 60 s, as the server does. Each "
             "snapshot keeps the top 20 processes by CPU and the top 20 by memory "
             f"({day['rows_per_snapshot']:.1f} rows on average here). Command: "
             "`.venv/bin/python -m bench.snapshots` (`--record SECONDS`, default 300).", "",
             "| measure | value |", "|---|---|",
             f"| snapshots in a day | {day['snapshots']:,} |",
             f"| encoded, sealed 10-minute blocks | {_mib(day['data_bytes'])} "
             f"({snap['bytes_per_snapshot']:.1f} B/snapshot) |",
             f"| in the file (SQLite pages) | {_mib(day['file_bytes'])} a day "
             f"({snap['file_bytes_per_snapshot']:.1f} B/snapshot) |"]  # fmt: skip
    if hist and share:
        lines.append(f"| share of the history file | {share['day_file']:.1f} % of a day's "
                     f"({_mib(hist['day_file_bytes'])}, section 4); {share['steady_file']:.1f} % "
                     f"of the 30-day file (≈ {_mib(hist['steady_file_bytes'])}) |")  # fmt: skip
    untiled = snap["untiled"]
    lines += [f"| cross-check: the recording alone, no repeat ({untiled['snapshots']} scans a "
              "block; a real block has 300, and each pays for its own process table) | "
              f"{untiled['bytes_per_snapshot']:.1f} B/snapshot |",
              f"| CPU to pick, encode and write a day (flush + maintain) | "
              f"{cpu['flush'] + cpu['maintain']:.1f} s (observe on the loop: "
              f"{cpu['observe']:.2f} s) |",
              f"| nearest snapshot on the reopened file | {snap['lookup']['median_ms']:.1f} ms "
              f"median ({snap['lookup']['max_ms']:.1f} max) |"]  # fmt: skip
    notes = [f"- {note}" for note in snap.get("notes", [])]
    return "\n".join([*lines, *(["", *notes] if notes else [])]) + "\n"


def _improvements() -> str:
    return "## What the benchmarks changed\n\n" + IMPROVEMENTS.read_text()


def _notes() -> str:
    return "## Notes on this run\n\n" + NOTES.read_text() if NOTES.is_file() else ""


def _write(fig: go.Figure, path: Path) -> None:
    # Loaded from plotly's CDN when viewed: committing plotly.js itself would copy a
    # third-party file into the repo. (The dashboard page never uses a CDN.)
    fig.write_html(path, include_plotlyjs="cdn", full_html=True)
