"""Export: ``/api/history`` as JSON and CSV, and ``/metrics``, each parsed back."""

from __future__ import annotations

import csv
import io
import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.clock import T0


@pytest.fixture
def app(app, clock):
    """The shared app (conftest.py), its history file holding three hours of toy samples."""
    history = app.extensions["dashboard"].history
    history.open()
    for i in range(1, 3 * 360 + 1):  # three hours, one sample every 10 s
        clock.now = T0 + 10 * i
        b = math.nan if i % 7 == 0 else float(i)
        history.append("toy", clock.now, {"toy.a": 0.5, "toy.b": b})
        if i % 6 == 0:
            history.flush()
            history.maintain()
    return app


def get(app, url, status=200):
    response = app.test_client().get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def test_json_export_of_recent_raw_samples(app, clock):
    body = get(app, "/api/history/toy?seconds=600&series=toy.b").get_json()
    assert body["tier"] == "raw" and body["step"] == 0 and body["seconds"] == 600
    assert body["ts"] == [clock.now - 600 + 10 * i for i in range(1, 61)]
    assert list(body["values"]) == ["toy.b"]
    assert None in body["values"]["toy.b"]  # no value is null, never NaN


def test_csv_export_parses_back_to_the_json(app, clock):
    url = "/api/history/toy?seconds=1200&format=csv"
    response = get(app, url)
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    body = get(app, "/api/history/toy?seconds=1200").get_json()
    assert [float(r["ts"]) for r in rows] == body["ts"]
    assert [float(r["toy.b"]) if r["toy.b"] else None for r in rows] == body["values"]["toy.b"]
    assert rows[-1]["time"] == "2027-01-15T11:00:00.000+00:00"  # T0 + 3 h, in UTC


def test_csv_beyond_retention_carries_min_and_max(app):
    rows = list(csv.DictReader(io.StringIO(
        get(app, "/api/history/toy?seconds=10800&format=csv").get_data(as_text=True))))  # fmt: skip
    assert {"toy.b", "toy.b:min", "toy.b:max"} <= set(rows[0])
    full = [r for r in rows if r["toy.b:min"]]
    assert all(float(r["toy.b:min"]) <= float(r["toy.b"]) <= float(r["toy.b:max"]) for r in full)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("seconds=abc", "seconds='abc': expected a number"),
        ("seconds=-1", "expected a number above 0"),
        ("seconds=nan", "expected a number above 0"),
        ("series=toy.zzz", "series: unknown series 'toy.zzz'"),
        ("series=", "series: expected a non-empty list of series names"),
        ("format=xml", "format='xml': expected one of json, csv"),
        ("sconds=5", "unknown parameter 'sconds'"),
        ("series=" + ",".join(["toy.a"] * 2001), "series: 2001 names; at most 2000"),
    ],
)
def test_bad_export_requests_say_what_is_wrong(app, query, error):
    body = get(app, f"/api/history/toy?{query}", status=400).get_json()
    assert error in body["error"]


def test_unknown_collector_is_404(app):
    assert "unknown collector" in get(app, "/api/history/nope", 404).get_json()["error"]


def test_metrics_expose_latest_values_and_collector_self_metrics(app, clock):
    runtime = app.extensions["dashboard"]
    clock.now += 1
    runtime.runners["toy"].tick()
    runtime.runners["rows"].collector.next = None
    runtime.runners["rows"].tick()
    runtime.runners["toy"].collector.next = RuntimeError("boom")
    clock.now += 1
    runtime.runners["toy"].tick()
    response = get(app, "/metrics")
    assert response.content_type.startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["dashboard_toy_a"].samples[0].value == 1.0
    assert families["dashboard_toy_a"].documentation == "A (%)"
    assert families["dashboard_rows_count"].samples[0].value == 3

    def by_collector(name):
        return {s.labels["collector"]: s.value for s in families[name].samples}

    assert by_collector("dashboard_collector_success") == {"toy": 0.0, "rows": 1.0}
    assert all(v >= 0 for v in by_collector("dashboard_collector_duration_seconds").values())
    assert by_collector("dashboard_collector_failures")["toy"] == 1
    assert families["dashboard_history_ok"].samples[0].value == 1.0


def test_metrics_speak_openmetrics_when_asked(app):
    response = app.test_client().get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.content_type.startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


def test_ten_years_is_clamped_to_what_is_kept(app, clock):
    body = get(app, f"/api/history/toy?seconds={10 * 365 * 86_400}").get_json()
    assert body["seconds"] == 30 * 86_400 and body["tier"] == "rollup"
    assert body["ts"][0] >= clock.now - 3 * 3600 and body["ts"][-1] == clock.now


def test_hosts_lists_this_machine_with_its_collectors_and_goes_stale(app, clock):
    runtime = app.extensions["dashboard"]
    [host] = get(app, "/api/hosts").get_json()
    assert host["host"] == runtime.hub.host and host["collectors"] == ["toy", "rows"]
    assert host["stale"] is True and host["last_seen"] is None  # nothing published yet
    runtime.runners["toy"].tick()
    [host] = get(app, "/api/hosts").get_json()
    assert host["stale"] is False and host["last_seen"] == clock.now
    clock.now += 11
    assert get(app, "/api/hosts").get_json()[0]["stale"] is True


def test_history_and_metrics_name_the_host(app):
    runtime = app.extensions["dashboard"]
    me = runtime.hub.host
    assert get(app, f"/api/history/toy?host={me}").get_json()["host"] == me
    error = get(app, "/api/history/toy?host=elsewhere", status=400).get_json()["error"]
    assert error == f"host 'elsewhere' is not served here (known: {me})"
    text = get(app, "/metrics").get_data(as_text=True)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["dashboard_toy_a"].samples[0].labels == {"host": me}
