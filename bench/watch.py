"""Cost per watching client: one Socket.IO client subscribed to every namespace (push) beside
one client polling Glances' /api/4/all once a second. Server CPU % of one core and bytes on
the wire per second (counted by a loopback proxy, both directions), in the same run.

    .venv/bin/python bench/watch.py [--seconds 60] [--settle 10]
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time

import socketio

from bench.common import (
    ByteCountingProxy,
    CostMeter,
    Glances,
    ServerProcess,
    measure,
    percentile,
    save,
    settled_dashboard,
    settled_glances,
    window_args,
)

NAMESPACES = ["/cpu", "/memory", "/load", "/disk", "/filesystem", "/network", "/processes",
              "/sensors"]  # fmt: skip


def ours(seconds: float, settle: float, mode: str) -> dict:
    with settled_dashboard(mode, settle) as server:
        idle = measure(server.pid, seconds)
        return {"idle_cpu_percent": round(idle.cpu_percent, 3),
                **watch_ours(server, seconds, mode)}  # fmt: skip


def watch_ours(server: ServerProcess, seconds: float, mode: str) -> dict:
    proxy = ByteCountingProxy(server.port)
    delays: list[float] = []
    # Through the proxy the client's default Origin names the proxy's port, which the server
    # rightly refuses: present the server's own origin, as the page does.
    sio = socketio.Client(reconnection=False, websocket_extra_options={"origin": server.url})
    for ns in NAMESPACES:
        sio.on("sample", lambda s: delays.append(time.time() - s["ts"]), namespace=ns)
    sio.connect(f"http://127.0.0.1:{proxy.port}", namespaces=NAMESPACES,
                transports=["websocket"])  # fmt: skip
    try:
        for ns in NAMESPACES:
            sio.call("subscribe", {}, namespace=ns)
        time.sleep(2)
        proxy.reset()
        delays.clear()
        meter = CostMeter(server.pid)
        time.sleep(seconds)
        cost = meter.read()
        wire = (proxy.to_client + proxy.to_server) / cost.seconds
    finally:
        sio.disconnect()
    ms = [d * 1000 for d in delays]
    return {"name": f"dashboard ({mode}), push", **cost.as_dict(),
            "bytes_per_s": round(wire), "samples": len(ms),
            "delay_p50_ms": round(statistics.median(ms), 2),
            "delay_p99_ms": round(percentile(ms, 0.99), 2)}  # fmt: skip


def glances(seconds: float, settle: float) -> dict | None:
    with settled_glances(settle) as peer:
        if peer is None:
            return None
        idle = measure(peer.proc.pid, seconds)
        return {"idle_cpu_percent": round(idle.cpu_percent, 3), **poll(peer, seconds)}


def poll(peer: Glances, seconds: float) -> dict:
    """GET /api/4/all once a second over one keep-alive connection through the proxy."""
    proxy = ByteCountingProxy(peer.port)
    stop = threading.Event()
    requests = 0

    def loop() -> None:
        nonlocal requests
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        while not stop.is_set():
            started = time.monotonic()
            conn.request("GET", "/api/4/all")
            conn.getresponse().read()
            requests += 1
            stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))
        conn.close()

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    time.sleep(2)
    proxy.reset()
    meter = CostMeter(peer.proc.pid)
    time.sleep(seconds)
    cost = meter.read()
    wire = (proxy.to_client + proxy.to_server) / cost.seconds
    stop.set()
    worker.join(15)
    return {"name": "Glances 4, polling /api/4/all at 1 Hz", **cost.as_dict(),
            "bytes_per_s": round(wire), "requests": requests}  # fmt: skip


def main() -> None:
    args = window_args(__doc__)
    rows = [ours(args.seconds, args.settle, args.mode)]
    peer = glances(args.seconds, args.settle)
    if peer is not None:
        rows.append(peer)
    for row in rows:
        print(
            f"{row['name']}: {row['cpu_percent']:.2f} % of one core "
            f"(idle {row['idle_cpu_percent']:.2f} %), {row['bytes_per_s'] / 1024:.1f} KB/s"
        )
    save("watch", {"rows": rows, "params": vars(args)})


if __name__ == "__main__":
    main()
