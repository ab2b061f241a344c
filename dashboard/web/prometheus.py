"""``GET /metrics``: the latest value of every series in Prometheus text format.

A custom ``prometheus_client`` collector reads the memory history and the runners' health
at scrape time (nothing is kept twice). Names follow the series: ``cpu.total`` becomes
``dashboard_cpu_total``, with a ``host`` label (this machine, or each agent's under
scale-out). Beside them, node_exporter-style self-metrics per collector:
``dashboard_collector_duration_seconds``, ``dashboard_collector_success``, and the counters
``dashboard_collector_failures_total`` and ``dashboard_collector_non_finite_total`` (values
published as no value because they were NaN or infinite). With alerts on, every alert
instance's state (``dashboard_alert_state``) and what the notifier did per target.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from dashboard.alerts.model import State

if TYPE_CHECKING:
    from dashboard.limits.guard import Limits
    from dashboard.runtime import Runtime

log = logging.getLogger(__name__)
PREFIX = "dashboard_"
STATE_VALUES = {State.OK: 0.0, State.PENDING: 1.0, State.WARNING: 2.0, State.CRITICAL: 3.0}
ALERTS_TIMEOUT = 5.0
# Notifier.counters() per target, as dashboard_notifications_total{target,result}.
NOTIFY_RESULTS = ("delivered", "failed", "suppressed")
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(series: str) -> str:
    """A Prometheus metric name for a series name (``disk.sda-1.busy`` -> ``..._sda_1_busy``)."""
    return PREFIX + _INVALID.sub("_", series)


class RuntimeCollector(Collector):
    """Builds the exposition from the runtime on every scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        yield from self._values()
        yield from self._self_metrics()

    def _values(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        owners: dict[str, str] = {}  # two series may sanitize to one name: the first one wins
        for topic in self.runtime.hub.topics():
            latest = self.runtime.history.latest(topic.key)
            if latest is None:
                continue
            _ts, values = latest
            for series in topic.series:
                value = values.get(series.name)
                metric = metric_name(series.name)
                if (
                    value is None
                    or math.isnan(value)
                    or owners.setdefault(metric, series.name) != series.name
                ):
                    continue
                if metric not in families:
                    help_text = f"{series.label or series.name} ({series.unit or 'no unit'})"
                    families[metric] = GaugeMetricFamily(metric, help_text, labels=["host"])
                families[metric].add_metric([topic.host], value)
        yield from families.values()

    def _self_metrics(self) -> Iterator[Metric]:
        duration = GaugeMetricFamily(
            PREFIX + "collector_duration_seconds",
            "How long the collector's last run took.",
            labels=["collector"],
        )
        success = GaugeMetricFamily(
            PREFIX + "collector_success",
            "Whether the collector's last run succeeded (1) or failed (0).",
            labels=["collector"],
        )
        failures = CounterMetricFamily(
            PREFIX + "collector_failures",
            "Runs of the collector that failed since start.",
            labels=["collector"],
        )
        non_finite = CounterMetricFamily(
            PREFIX + "collector_non_finite",
            "Values the collector returned as NaN or infinite, published as no value.",
            labels=["collector"],
        )
        for name, runner in self.runtime.runners.items():
            health = runner.health
            if health.last_duration is not None:
                duration.add_metric([name], health.last_duration)
            if health.runs:
                success.add_metric([name], 1.0 if health.state == "ok" else 0.0)
            failures.add_metric([name], health.failures)
            non_finite.add_metric([name], health.non_finite)
        history = self.runtime.history.status()
        history_ok = GaugeMetricFamily(
            PREFIX + "history_ok",
            "Whether the history file is being written (0: degraded, see /healthz).",
        )
        history_ok.add_metric([], 0.0 if history["state"] == "degraded" else 1.0)
        clients = GaugeMetricFamily(
            PREFIX + "clients", "Socket.IO clients connected, summed over namespaces."
        )
        clients.add_metric([], self.runtime.hub.clients())
        yield from (duration, success, failures, non_finite, history_ok, clients)
        yield from self._loop_lag()

    def _loop_lag(self) -> Iterator[Metric]:
        lag = self.runtime.loop_lag
        if not lag.samples:  # not measured: a test app, or the server not started yet
            return
        recent = GaugeMetricFamily(
            PREFIX + "event_loop_lag_seconds",
            "The longest the event loop was held (every client waited) in the last minute.",
        )
        recent.add_metric([], lag.recent())
        worst = GaugeMetricFamily(
            PREFIX + "event_loop_lag_max_seconds",
            "The longest the event loop was held since start.",
        )
        worst.add_metric([], lag.worst)
        yield from (recent, worst)


class LimitsCollector(Collector):
    """What the per-client limits did (``dashboard/limits``): an operator sees a flood, a
    crowd of slow links or a cap that is too tight here before anyone complains."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def collect(self) -> Iterator[Metric]:
        budgets, backlog = self.limits.budgets, self.limits.backlog
        limited = CounterMetricFamily(
            PREFIX + "requests_rate_limited",
            "Client requests answered rate_limited (or dropped, far past the budget).",
        )
        limited.add_metric([], budgets.refused)
        dropped = CounterMetricFamily(
            PREFIX + "clients_dropped",
            "Clients disconnected by the limits, by why.",
            labels=["reason"],
        )
        dropped.add_metric(["flood"], budgets.disconnected)
        dropped.add_metric(["slow_consumer"], backlog.slow_consumers)
        refused = CounterMetricFamily(
            PREFIX + "connections_refused",
            "Handshakes refused by max_connections or max_connections_per_address.",
        )
        refused.add_metric([], self.limits.connections.refused)
        coalesced = CounterMetricFamily(
            PREFIX + "samples_coalesced",
            "Samples replaced by a newer one before a client that was behind took them.",
        )
        coalesced.add_metric([], backlog.coalesced)
        behind = GaugeMetricFamily(
            PREFIX + "clients_behind", "Clients whose link is full now (samples held)."
        )
        behind.add_metric([], backlog.clients_behind())
        yield from (limited, dropped, refused, coalesced, behind)


class AlertsCollector(Collector):
    """Each alert instance's state, and the notifier's counters per target."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        engine = self.runtime.alerts
        if engine is None:
            return
        state = GaugeMetricFamily(
            PREFIX + "alert_state",
            "Each alert instance: 0 ok, 1 pending, 2 warning, 3 critical.",
            labels=["rule", "host", "series"],
        )
        try:
            alerts = self.runtime.workers.call(engine.alerts, ALERTS_TIMEOUT)
        except TimeoutError:
            log.warning("/metrics: the alerts engine did not answer within %g s", ALERTS_TIMEOUT)
            alerts = []
        for alert in alerts:
            state.add_metric([alert.key.rule, alert.key.host, alert.key.series],
                             STATE_VALUES[alert.state])  # fmt: skip
        yield state
        yield from self._notifications()

    def _notifications(self) -> Iterator[Metric]:
        outbox = self.runtime.outbox
        counters = getattr(outbox, "counters", None)  # notify.Notifier's; an Outbox may lack it
        if counters is None:
            return
        targets = counters()
        sent = CounterMetricFamily(
            PREFIX + "notifications",
            "Notifications per target since start: delivered, failed (after every retry) "
            "and suppressed (max_per_hour, quiet hours).",
            labels=["target", "result"],
        )
        for target, counts in sorted(targets.items()):
            for result in NOTIFY_RESULTS:
                value = counts.get(result)
                if isinstance(value, (int, float)):
                    sent.add_metric([target, result], value)
        yield sent


def exposition(
    runtime: Runtime, accept: str | None, limits: Limits | None = None
) -> tuple[bytes, str]:
    """The body and its content type, negotiated from ``Accept`` as prometheus_client does
    (plain text 0.0.4 by default, OpenMetrics when the scraper asks for it)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RuntimeCollector(runtime))
    registry.register(AlertsCollector(runtime))
    if limits is not None:
        registry.register(LimitsCollector(limits))
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
