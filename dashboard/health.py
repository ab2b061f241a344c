"""What the running dashboard says about itself: ``/healthz``, ``/api/collectors``, systemd's
``STATUS=`` line, and the watchdog's gate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.runtime import Runtime

OK_STATES = ("ok", "starting")


def healthz(runtime: Runtime) -> dict[str, Any]:
    collectors = {name: r.health.as_dict() for name, r in runtime.runners.items()}
    history = runtime.history.status()
    bad = any(h["state"] not in OK_STATES for h in collectors.values())
    degraded = bad or history["state"] == "degraded" or bool(runtime.plugin_errors)
    body = {
        "status": "degraded" if degraded else "ok",
        "host": runtime.hub.host,
        "clients": runtime.hub.clients(),
        "collectors": collectors,
        "history": history,
        "plugins": {"errors": [e.as_dict() for e in runtime.plugin_errors]},
    }
    if runtime.queue is not None:
        body["queue"] = queue = runtime.queue.status()
        if queue["state"] != "ok":
            body["status"] = "degraded"
    body["alerts"], alerts_ok = alerts(runtime)
    if not alerts_ok:
        body["status"] = "degraded"
    if runtime.snapshots is not None:
        body["snapshots"] = snapshots = runtime.snapshots.status()
        if snapshots["state"] == "degraded":
            body["status"] = "degraded"
    return body


def alerts(runtime: Runtime) -> tuple[dict[str, Any], bool]:
    """The engine's status (rules, instances, firing, last evaluation, last error) and the
    notifier's per target; False when the last evaluation failed or a target's last
    message did (alerts that do not arrive are as bad as alerts not evaluated)."""
    engine = runtime.alerts
    if engine is None:
        return {"enabled": False}, True
    part: dict[str, Any] = {"enabled": True, **engine.status()}
    ok = not part.get("last_error")
    outbox = runtime.outbox
    if outbox is not None and hasattr(outbox, "status"):
        part["notify"] = notify = outbox.status()
        ok = ok and notify.get("state", "ok") == "ok"
    return part, ok


def collectors(runtime: Runtime) -> list[dict[str, Any]]:
    """Each running collector: its namespace, interval, origin, series and health."""
    return [
        {
            "name": name,
            "namespace": "/" + name,
            "interval": r.interval,
            "origin": runtime.origins.get(name, "built-in"),
            "series": [s.as_dict() for s in r.series],
            "health": r.health.as_dict(),
        }
        for name, r in runtime.runners.items()
    ]


def status_line(runtime: Runtime) -> str:
    """One line for systemd's STATUS=: clients, collectors ok/failing, history."""
    failing = [n for n, r in runtime.runners.items() if r.health.state not in OK_STATES]
    ok = len(runtime.runners) - len(failing)
    parts = [f"{runtime.hub.clients()} clients", f"{ok}/{len(runtime.runners)} collectors ok"]
    if failing:
        parts.append("failing: " + ", ".join(sorted(failing)))
    if runtime.plugin_errors:
        parts.append(f"{len(runtime.plugin_errors)} plugin(s) not loaded")
    parts.append(f"history {runtime.history.status()['state']}")
    if runtime.queue is not None:
        parts.append(f"queue: {runtime.queue.status()['state']}")
    return "; ".join(parts)


def alive(runtime: Runtime) -> bool:
    """The watchdog's gate: the scheduler ran something lately (a hung plugin still does:
    its job returns after the timeout)."""
    shortest = min((r.interval for r in runtime.runners.values()), default=5.0)
    return runtime.scheduler.alive(within=max(10.0, 3 * shortest))


STALE_AFTER = 10.0  # seconds without a sample before a host counts as stale, at the least


def hosts(runtime: Runtime) -> list[dict[str, Any]]:
    """Every host served: when it last sent a sample, whether it went quiet, its collectors.

    A host is stale once it has sent nothing for three of its shortest intervals (at least
    ``STALE_AFTER`` seconds), or has sent nothing at all yet.
    """
    now = runtime.clock()
    found: dict[str, list[Any]] = {}
    for topic in runtime.hub.topics():
        stopped = topic.host == runtime.hub.host and topic.collector.name not in runtime.runners
        if runtime.collects and stopped:
            continue  # this machine's, stopped by a reload
        found.setdefault(topic.host, []).append(topic)
    listed = []
    for host, topics in found.items():
        seen = [t.last_seen for t in topics if t.last_seen is not None]
        last_seen = max(seen) if seen else None
        quiet = max(STALE_AFTER, 3 * min(t.interval for t in topics))
        listed.append(
            {
                "host": host,
                "last_seen": last_seen,
                "stale": last_seen is None or now - last_seen > quiet,
                "collectors": [t.collector.name for t in topics],
            }
        )
    return listed
