"""Network interface throughput, packets and errors per second."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from collectors.counters import CounterCollector, Metric


class NetworkCollector(CounterCollector):
    """Bytes, packets and errors (drops included) per second of each network interface.

    Series ``network.<nic>.rx_bytes_per_s``, ``tx_bytes_per_s``, ``rx_packets_per_s``,
    ``tx_packets_per_s``, ``rx_errors_per_s``, ``tx_errors_per_s``.
    Client filter: ``{"interfaces": [names]}`` (empty means all).
    """

    name = "network"
    interval = 1.0
    defaults: ClassVar[Mapping[str, Any]] = {"exclude": ["lo"]}
    filter_key = "interfaces"
    metrics = (
        Metric("rx_bytes_per_s", "bytes/s", "received", ("bytes_recv",)),
        Metric("tx_bytes_per_s", "bytes/s", "sent", ("bytes_sent",)),
        Metric("rx_packets_per_s", "packets/s", "packets received", ("packets_recv",)),
        Metric("tx_packets_per_s", "packets/s", "packets sent", ("packets_sent",)),
        Metric("rx_errors_per_s", "errors/s", "receive errors and drops", ("errin", "dropin")),
        Metric("tx_errors_per_s", "errors/s", "send errors and drops", ("errout", "dropout")),
    )

    def read_counters(self) -> dict[str, dict[str, float]]:
        return self.probe.net_io()
