"""Idle cost: CPU % of one core and RSS with default collectors and no client, ours beside
Glances in web mode (and Netdata where installed), measured in the same run; ours also
without the cgroups collector (the default set before it was added), for its share.

    .venv/bin/python bench/idle.py [--seconds 60] [--settle 10]
"""

from __future__ import annotations

from bench.common import (
    measure,
    netdata_installed,
    save,
    settled_dashboard,
    settled_glances,
    window_args,
)

WITHOUT_CGROUPS = "[collectors.cgroups]\nenabled = false\n"


def ours(seconds: float, settle: float, mode: str, settings: str = "", label: str = "") -> dict:
    with settled_dashboard(mode, settle, settings) as server:
        return {"name": f"dashboard ({mode}){label}", **measure(server.pid, seconds).as_dict()}


def glances(seconds: float, settle: float) -> dict | None:
    with settled_glances(settle) as peer:
        if peer is None:
            return None
        return {"name": "Glances 4 (web mode)", **measure(peer.proc.pid, seconds).as_dict()}


def main() -> None:
    args = window_args(__doc__)
    rows = [
        ours(args.seconds, args.settle, args.mode),
        ours(args.seconds, args.settle, args.mode, WITHOUT_CGROUPS, ", without cgroups"),
    ]
    peer = glances(args.seconds, args.settle)
    notes = []
    if peer is None:
        notes.append("Glances not installed (make bench installs it into .venv-bench)")
    else:
        rows.append(peer)
    if not netdata_installed():
        notes.append("Netdata not installed on this machine: not measured")
    for row in rows:
        print(f"idle {row['name']}: {row['cpu_percent']:.2f} % of one core, "
              f"RSS {row['rss_mb']:.1f} MB over {row['seconds']:.0f} s")  # fmt: skip
    save("idle", {"rows": rows, "notes": notes, "params": vars(args)})


if __name__ == "__main__":
    main()
