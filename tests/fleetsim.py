"""Simulated hosts publishing to Redis as agents do, without running agents: the ingest
bench drives hundreds of them, the page's tests fifty. Each host sends the default
collectors' series at its own moment of the second."""

from __future__ import annotations

import time
from typing import Any

import redis

from collectors.base import Series
from dashboard.fleet import wire
from dashboard.pipeline.validate import Reading

COLLECTORS = {  # name: (interval, series names)
    "cpu": (1.0, ["cpu.total", "cpu.user", "cpu.system", "cpu.iowait", "cpu.core0", "cpu.core1",
                  "cpu.core2"]),
    "memory": (1.0, ["memory.used_percent", "memory.swap_used_percent", "memory.used",
                     "memory.available", "memory.swap_used"]),
    "load": (1.0, ["load.1m", "load.5m", "load.15m"]),
    "disk": (1.0, [f"disk.{d}.{m}" for d in ("sda", "sdb")
                   for m in ("read_bytes_per_s", "write_bytes_per_s", "read_iops", "write_iops")]),
    "network": (1.0, [f"network.{n}.{m}" for n in ("eth0", "eth1")
                      for m in ("rx_bytes_per_s", "tx_bytes_per_s", "rx_packets_per_s",
                                "tx_packets_per_s", "rx_errors_per_s", "tx_errors_per_s")]),
    "processes": (2.0, ["processes.count", "processes.running"]),
    "filesystem": (10.0, [f"filesystem.{m}.{k}" for m in ("root", "home", "var")
                          for k in ("used_percent", "used", "free")]),
}  # fmt: skip


def host_name(i: int) -> str:
    return f"sim-{i:03d}"


def publish(url: str, hosts: int, stop: Any, sent: Any) -> None:
    """The load process: every second, each host's due samples, one pipeline per second."""
    client = redis.Redis.from_url(url)
    for i in range(hosts):
        host = host_name(i)
        client.sadd(wire.HOSTS_KEY, host)
        for name, (interval, names) in COLLECTORS.items():
            series = [Series(n, "%") for n in names]
            client.hset(wire.key(host, "series"), name, wire.encode_series(series, interval))
    seq = {(i, name): 0 for i in range(hosts) for name in COLLECTORS}
    tick = 0
    began = time.monotonic()
    while not stop.is_set():
        # Agents are independent: each host sends at its own moment of the second, its
        # samples stamped as it sends them (one pipeline, one round trip, per host).
        for i in range(hosts):
            at = began + tick + i / hosts
            time.sleep(max(0.0, at - time.monotonic()))
            pipe = client.pipeline(transaction=False)
            for name, (interval, names) in COLLECTORS.items():
                if tick % int(interval):
                    continue
                seq[(i, name)] += 1
                reading = Reading(time.time(), {n: 12.5 + i for n in names}, None)
                body = wire.encode(name, seq[(i, name)], reading, None, None)
                pipe.xadd(wire.key(host_name(i), "samples"), {"d": body}, maxlen=600,
                          approximate=True)  # fmt: skip
            pipe.execute()
        sent.value += 1
        tick += 1
