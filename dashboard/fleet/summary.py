"""One compact line per host, for the fleet overview: cpu, memory, load per core, the fullest
filesystem, network in and out, and whether the host went quiet.

Read from the newest values history holds (memory only: dictionary lookups), so building it
every second on the event loop costs next to nothing; ``/fleet`` pushes it to the page.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from dashboard import health

if TYPE_CHECKING:
    from dashboard.runtime import Runtime

CORE = re.compile(r"^cpu\.core\d+$")
EVERY = 1.0  # seconds between pushes


def summaries(runtime: Runtime) -> list[dict[str, Any]]:
    """A summary per host, in the order hosts appeared (see the module docstring)."""
    listed = []
    for host in health.hosts(runtime):
        latest = _latest(runtime, host["host"])
        cores = sum(1 for name in latest.get("cpu", {}) if CORE.match(name))
        load = latest.get("load", {}).get("load.1m")
        fullest = _fullest(latest.get("filesystem", {}))
        network = latest.get("network", {})
        listed.append(
            {
                "host": host["host"],
                "last_seen": host["last_seen"],
                "stale": host["stale"],
                "cpu": latest.get("cpu", {}).get("cpu.total"),
                "memory": latest.get("memory", {}).get("memory.used_percent"),
                "load_per_core": None if load is None or not cores else round(load / cores, 3),
                "filesystem": fullest,
                "net_in": _total(network, ".rx_bytes_per_s"),
                "net_out": _total(network, ".tx_bytes_per_s"),
            }
        )
    return listed


def _latest(runtime: Runtime, host: str) -> dict[str, dict[str, float]]:
    """Each of the host's collectors' newest values (no value: left out)."""
    found = {}
    for topic in runtime.hub.topics():
        if topic.host != host:
            continue
        latest = runtime.history.latest(topic.key)
        if latest is not None:
            found[topic.collector.name] = {
                n: v for n, v in latest[1].items() if v is not None and not math.isnan(v)
            }
    return found


def _fullest(values: dict[str, float]) -> dict[str, Any] | None:
    used = {n: v for n, v in values.items() if n.endswith(".used_percent")}
    if not used:
        return None
    name = max(used, key=lambda n: used[n])
    mount = name.removeprefix("filesystem.").removesuffix(".used_percent")
    return {"mount": mount, "used_percent": used[name]}


def _total(values: dict[str, float], suffix: str) -> float | None:
    parts = [v for n, v in values.items() if n.endswith(suffix)]
    return sum(parts) if parts else None
