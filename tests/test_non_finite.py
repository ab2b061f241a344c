"""A NaN costs one value, not the whole collector — against a real server process (a plugin
whose sensor goes NaN, one whose table has an infinite cell) and a real Redis (a stream
entry carrying NaN tokens): a gap in that one series, counted in ``/healthz`` and
``/metrics``, warned about once a minute, never NaN on the wire or in the history file."""

from __future__ import annotations

import itertools
import math
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collectors import Series
from dashboard.fleet import wire
from dashboard.history.tiers import History, Query
from dashboard.settings import HistorySettings

pytestmark = pytest.mark.server

PLUGINS = """
import math

from collectors import Collector, Sample, Series


class Flaky(Collector):
    name = "flaky"
    interval = 1.0

    def __init__(self):
        super().__init__()
        self.calls = 0

    def describe(self):
        return [Series("flaky.bad", "°C", "A flaky sensor"), Series("flaky.good", "n", "Calls"),
                Series("flaky.none", "n", "Never a value")]

    def collect(self):
        self.calls += 1
        bad = (math.nan, math.inf, -math.inf)[self.calls % 3]
        return {"flaky.bad": bad, "flaky.good": float(self.calls), "flaky.none": None}


class Tabby(Collector):
    name = "tabby"
    interval = 1.0

    def describe(self):
        return [Series("tabby.count", "procs")]

    def collect(self):
        rows = [{"pid": 1, "cpu": math.inf}, {"pid": 2, "cpu": 1.5}]
        return Sample(values={"tabby.count": 2}, rows=rows)
"""


def metrics(url: str) -> tuple[str, dict]:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    return text, {f.name: f for f in text_string_to_metric_families(text)}


def non_finite_of(server, name: str) -> int:
    return server.get_json("/healthz")["collectors"][name]["non_finite"]


def test_a_plugin_value_gone_nan_is_a_gap_in_that_series_and_the_rest_streams_on(
    server_factory, sio_client, wait_until, tmp_path
):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "sensors_gone_bad.py").write_text(PLUGINS)
    settings = f'[plugins]\npaths = ["{folder}"]\n[history]\npath = "h.sqlite3"\n'
    server = server_factory(settings, async_mode="eventlet")
    sio = sio_client(server.url, ["/flaky", "/tabby"])
    flaky: list[dict] = []
    tabby: list[dict] = []
    sio.on("sample", flaky.append, namespace="/flaky")
    sio.on("sample", tabby.append, namespace="/tabby")
    assert sio.call("subscribe", {}, namespace="/flaky", timeout=5)["ok"]
    assert sio.call("subscribe", {}, namespace="/tabby", timeout=5)["ok"]
    wait_until(lambda: len(flaky) >= 5 and len(tabby) >= 2, "5 /flaky and 2 /tabby samples", 20)

    # Every interval a sample, the bad series null (never NaN: the client's json.loads would
    # have read a NaN token as a float), the others there; no run lost, no backoff.
    for sample in flaky:
        assert sample["values"]["flaky.bad"] is None and sample["values"]["flaky.none"] is None
    counts = [s["values"]["flaky.good"] for s in flaky]
    assert counts == [counts[0] + i for i in range(len(counts))], counts
    assert [s["seq"] for s in flaky] == list(range(flaky[0]["seq"], flaky[0]["seq"] + len(flaky)))
    steps = [b["ts"] - a["ts"] for a, b in itertools.pairwise(flaky)]
    assert max(steps) < 1.9, steps  # backoff would have doubled the wait, and sent nothing
    assert tabby[-1]["values"] == {"tabby.count": 2.0}
    assert tabby[-1]["rows"] == [{"pid": 1, "cpu": None}, {"pid": 2, "cpu": 1.5}]

    health = server.get_json("/healthz")["collectors"]
    assert health["flaky"]["state"] == "ok" and health["flaky"]["failures"] == 0
    assert (
        health["flaky"]["last_error"] is None and health["flaky"]["last_non_finite"] == "flaky.bad"
    )
    assert health["tabby"]["state"] == "ok" and health["tabby"]["last_non_finite"] == "rows[0].cpu"
    seen = health["flaky"]["non_finite"]
    assert seen >= len(flaky)
    wait_until(lambda: non_finite_of(server, "flaky") > seen, "non_finite counting up")

    text, families = metrics(server.url)
    counted = {
        s.labels["collector"]: s.value for s in families["dashboard_collector_non_finite"].samples
    }
    assert counted["flaky"] > seen and counted["tabby"] >= 2 and counted["cpu"] == 0
    assert 'dashboard_collector_non_finite_total{collector="flaky"}' in text
    assert families["dashboard_flaky_good"].samples[0].value >= counts[-1]
    assert "dashboard_flaky_bad" not in families  # no value: nothing to export

    assert server.stop() == 0
    log = server.output()
    assert log.count("collector flaky: 'flaky.bad' was NaN or infinite") == 1, log  # a minute
    assert log.count("collector tabby: 'rows[0].cpu' was NaN or infinite") == 1, log
    assert "Traceback" not in log
    # The history file has gaps there, not infinities (a gap is stored as NaN).
    history = History(HistorySettings(path=server.config.parent / "h.sqlite3"))
    history.register("flaky", 1.0)
    history.open()
    answer = history.answer(Query("flaky", flaky[0]["ts"] - 1, prefer_raw=True, max_points=100_000))
    assert answer.tier == "raw"
    history.close()
    assert len(answer.ts) >= len(flaky)
    assert all(math.isnan(v) for v in answer.columns["flaky.bad"])
    assert all(math.isfinite(v) for v in answer.columns["flaky.good"])


def test_nan_tokens_in_a_stream_entry_are_gaps_counted_not_dropped_entries(
    server_factory, redis_server, sio_client, wait_until
):
    redis = redis_server()
    settings = f'[queue]\nurl = "{redis.url}"\n'
    web = server_factory(settings, async_mode="eventlet", name="web")
    client = redis.client()
    series = [Series("cpu.total", "%"), Series("cpu.core0", "%")]
    client.hset(wire.key("gamma", "series"), "cpu", wire.encode_series(series, 1.0))
    stream = wire.key("gamma", "samples")
    first = time.time()
    client.xadd(
        stream, {"d": b'{"c":"cpu","q":1,"t":%r,"v":{"cpu.total":NaN,"cpu.core0":5}}' % first}
    )
    client.sadd(wire.HOSTS_KEY, "gamma")
    wait_until(lambda: web.get_json("/healthz")["queue"]["non_finite"] == 1, "the NaN counted", 20)

    sio = sio_client(web.url, ["/cpu"])
    live: list[dict] = []
    sio.on("sample", live.append, namespace="/cpu")
    ack = sio.call("subscribe", {"host": "gamma", "history": 60}, namespace="/cpu", timeout=10)
    assert ack["ok"] and ack["history"]["values"] == {"cpu.total": [None], "cpu.core0": [5.0]}
    body = b'{"c":"cpu","q":2,"t":%r,"v":{"cpu.total":Infinity,"cpu.core0":1e999}}' % (first + 1)
    client.xadd(stream, {"d": body})
    wait_until(lambda: live, "the second entry, live")
    assert live[0]["seq"] == 2 and live[0]["values"] == {"cpu.total": None, "cpu.core0": None}
    queue = web.get_json("/healthz")["queue"]
    assert (queue["received"], queue["dropped"], queue["non_finite"]) == (2, 0, 3)
    log = web.output()
    assert log.count("queue: host 'gamma', collector cpu: 'cpu.total' was NaN or infinite") == 1
