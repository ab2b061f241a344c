"""Alerts for clients: the /alerts namespace, /api/alerts and /api/silences (the token, bad
input, cross-site refusals), the dashboard_alert_state gauge and the alerts part of /healthz.

In-process (Flask's and Flask-SocketIO's test clients) against ``tests.alertsfake``, which
implements ``model.AlertsView``: fast checks of every answer."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from dashboard import create_app
from dashboard.alerts.model import Key, State
from dashboard.web import alerts as web_alerts
from tests.alertsfake import FakeAlerts
from tests.clock import Clock
from tests.logins import CSRF_RE
from tests.toy import Toy

TOKEN = "alerts-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
DAY = 86_400.0


def with_fake(app: Flask, clock: Clock) -> FakeAlerts:
    """The fake engine as ``runtime.alerts``, its transitions pushed as the real one's are."""
    runtime = app.extensions["dashboard"]
    runtime.alerts = fake = FakeAlerts(clock)
    web_alerts.wire(runtime)
    return fake


@pytest.fixture
def fake(app: Flask, clock: Clock) -> FakeAlerts:
    return with_fake(app, clock)


@pytest.fixture
def key(runtime: Any) -> Key:
    return Key("disk-full", runtime.hub.host, "toy.a")


@pytest.fixture
def sock(app: Flask, fake: FakeAlerts) -> Any:
    client = app.extensions["socketio"].test_client(app, namespace="/alerts")
    yield client
    if client.is_connected("/alerts"):
        client.disconnect("/alerts")


def ask(client: Any, event: str, *payload: Any) -> Any:
    return client.emit(event, *payload, namespace="/alerts", callback=True)


def silence_body(clock: Clock, **changes: Any) -> dict[str, Any]:
    return {"matchers": {"rule": "disk-*"}, "ends": clock() + 3600, "comment": "disk swap",
            **changes}  # fmt: skip


# --- /alerts --------------------------------------------------------------------------


def test_subscribe_acks_the_state_then_pushes_each_transition(sock, fake, key, clock):
    fake.move(key, State.PENDING, 91.0, 90.0)
    ack = ask(sock, "subscribe")
    assert ack["ok"] is True
    assert [a["state"] for a in ack["alerts"]] == ["pending"]
    assert set(ack["alerts"][0]) >= {"rule", "host", "series", "state", "value", "threshold",
                                      "since", "silenced", "acked"}  # fmt: skip
    assert [t["state"] for t in ack["transitions"]] == ["pending"]
    assert ack["silences"] == []
    assert ack["rules"][0]["name"] == "disk-full" and ack["rules"][0]["crit"] == 95.0
    clock.now += 5
    fake.move(key, State.CRITICAL, 96.0)
    pushed = [m for m in sock.get_received("/alerts") if m["name"] == "alert"]
    assert [m["args"][0] for m in pushed] == [{
        "rule": "disk-full", "host": key.host, "series": "toy.a", "from": "pending",
        "state": "critical", "value": 96.0, "threshold": 95.0, "since": clock(), "ts": clock(),
    }]  # fmt: skip


def test_nothing_is_pushed_before_subscribe_or_after_unsubscribe(sock, fake, key):
    fake.move(key, State.PENDING, 91.0)
    assert sock.get_received("/alerts") == []
    ask(sock, "subscribe")
    assert ask(sock, "unsubscribe") == {"ok": True}
    fake.move(key, State.WARNING, 92.0)
    assert sock.get_received("/alerts") == []


def test_silence_and_ack_over_the_socket(sock, fake, key, clock):
    fake.move(key, State.WARNING, 92.0, 90.0)
    ack = ask(sock, "silence", silence_body(clock))
    assert ack == {"ok": True, "id": "s1"}
    assert fake.silences()[0].matchers == {"rule": "disk-*"}
    assert fake.silences()[0].by.startswith("socket from ")
    answer = ask(sock, "ack", {**key.as_dict(), "comment": "on it"})
    assert answer["ok"] is True and answer["alert"]["acked"] is True
    assert fake.acks == [(key, fake.acks[0][1], "on it")]
    assert ask(sock, "subscribe")["alerts"][0]["silenced"] == "s1"


@pytest.mark.parametrize(
    ("event", "payload", "error"),
    [
        ("subscribe", {"x": 1}, "subscribe on /alerts takes no options"),
        ("silence", "no", "expected an object, got a string"),
        ("silence", {"matchers": {}, "comment": "x"}, "ends: missing"),
        ("silence", {"matchers": {"rulez": "a"}, "ends": 1e12, "comment": "x"},
         "matchers: unknown key 'rulez' (allowed: rule, host, series)"),
        ("silence", {"matchers": {"host": 5}, "ends": 1e12, "comment": "x"},
         "matchers.host: expected a non-empty glob string, got a number"),
        ("silence", {"matchers": {}, "ends": "soon", "comment": "x"},
         "ends: expected unix seconds (a number), got a string"),
        ("silence", {"matchers": {}, "ends": 1.0, "comment": "x"}, "ends: 1 is not in the future"),
        ("silence", {"matchers": {}, "ends": 4e9, "comment": "x"}, "days ahead; at most 30 days"),
        ("silence", {"matchers": {}, "ends": "NOW+1h", "comment": " "}, "ends: expected"),
        ("ack", {"rule": "disk-full"}, "host: expected the alert's host (a non-empty string)"),
        ("ack", {"rule": "disk-full", "host": "h", "series": "s", "why": 1}, "unknown key 'why'"),
        ("nonsense", {}, "unknown event 'nonsense' (known: ack, silence, subscribe, unsubscribe)"),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field(sock, fake, event, payload, error):
    answer = ask(sock, event, payload)
    assert answer["ok"] is False
    assert error in answer["error"]
    assert fake.silences() == [] and fake.acks == []


def test_an_empty_comment_and_an_unknown_or_quiet_alert_are_refused(sock, fake, key, clock):
    empty = ask(sock, "silence", silence_body(clock, comment=" "))
    assert "comment: must not be empty" in empty["error"]
    unknown = ask(sock, "ack", key.as_dict())
    assert unknown == {"ok": False, "error": f"no alert 'disk-full' on host {key.host!r}, "
                                             "series 'toy.a'"}  # fmt: skip
    fake.move(key, State.PENDING, 91.0)
    quiet = ask(sock, "ack", key.as_dict())
    assert quiet["error"] == f"disk-full on {key.host} is pending, not firing"


def test_a_store_that_does_not_answer_is_a_clear_refusal(sock, runtime, monkeypatch):
    def slow(fn: Any, timeout: float) -> Any:
        raise TimeoutError

    monkeypatch.setattr(runtime.workers, "call", slow)
    answer = ask(sock, "subscribe")
    assert answer == {"ok": False, "error": web_alerts.BUSY}
    assert runtime.hub.alert_followers() == 0, "a refused subscribe follows nothing"


def test_disabled_alerts_answer_so_everywhere(app, runtime):
    assert getattr(runtime, "alerts", None) is None
    client = app.extensions["socketio"].test_client(app, namespace="/alerts")
    disabled = {"ok": False, "error": "alerts are disabled ([alerts] enabled = false)"}
    assert ask(client, "subscribe") == disabled
    assert ask(client, "silence", {}) == disabled
    http = app.test_client()
    answers = [http.get("/api/alerts"), http.get("/api/silences"),
               http.post("/api/silences", json={}), http.delete("/api/silences/x")]  # fmt: skip
    for answer in answers:
        assert (answer.status_code, answer.json) == (404, {"error": disabled["error"]})
    assert http.get("/healthz").json["alerts"] == {"enabled": False}
    assert '"alerts": false' in http.get("/").text


# --- HTTP -----------------------------------------------------------------------------


@pytest.fixture
def guarded(tmp_path, clock) -> tuple[Flask, FakeAlerts]:
    settings = {"server": {"async_mode": "threading"}, "auth": {"token": TOKEN},
                "history": {"path": str(tmp_path / "h.sqlite3")}}  # fmt: skip
    app = create_app(settings, collectors=(Toy,), clock=clock)
    return app, with_fake(app, clock)


def test_the_api_with_the_token(guarded, clock):
    app, fake = guarded
    key = Key("disk-full", app.extensions["dashboard"].hub.host, "toy.a")
    fake.move(key, State.WARNING, 92.0, 90.0)
    http = app.test_client()
    made = http.post("/api/silences", json=silence_body(clock), headers=BEARER)
    assert (made.status_code, made.json) == (201, {"id": "s1"})
    listed = http.get("/api/silences", headers=BEARER).json["silences"]
    assert [(s["id"], s["comment"], s["matchers"]) for s in listed] == [
        ("s1", "disk swap", {"rule": "disk-*"})
    ]
    assert listed[0]["by"].startswith("token from ")
    body = http.get("/api/alerts", headers=BEARER).json
    assert [a["state"] for a in body["alerts"]] == ["warning"]
    assert [t["from"] for t in body["transitions"]] == ["ok"]
    assert http.delete("/api/silences/s1", headers=BEARER).json == {"id": "s1"}
    gone = http.delete("/api/silences/s1", headers=BEARER)
    assert (gone.status_code, gone.json) == (404, {"error": "no active silence 's1'"})
    assert http.get("/api/silences", headers=BEARER).json == {"silences": []}


def test_bad_silences_are_400s_that_say_why(guarded, clock):
    http = guarded[0].test_client()
    cases = {
        "ends: ": silence_body(clock, ends=clock() - 1),
        "at most 30 days": silence_body(clock, ends=clock() + 31 * DAY),
        "comment: must not be empty": silence_body(clock, comment=""),
        "matchers: unknown key 'hots'": silence_body(clock, matchers={"hots": "*"}),
        "matchers.series: expected a non-empty glob string, got a list": silence_body(
            clock, matchers={"series": ["a"]}
        ),
    }
    for error, body in cases.items():
        answer = http.post("/api/silences", json=body, headers=BEARER)
        assert answer.status_code == 400 and error in answer.json["error"], (error, answer.json)
    not_json = http.post("/api/silences", data="{", headers={**BEARER,
                         "Content-Type": "application/json"})  # fmt: skip
    assert not_json.status_code == 400
    assert not_json.json == {"error": "expected a JSON object: {matchers, ends, comment}"}
    assert guarded[1].silences() == []


def test_without_login_every_route_is_401(guarded):
    http = guarded[0].test_client()
    for answer in (http.get("/api/alerts"), http.get("/api/silences"),
                   http.post("/api/silences", json={}), http.delete("/api/silences/s1"),
                   http.get("/api/alerts", headers={"Authorization": "Bearer wrong"})):  # fmt: skip
        assert (answer.status_code, answer.json) == (401, {"error": "authentication required"})


def test_a_browser_needs_its_csrf_token_its_origin_and_json(guarded, clock):
    app, fake = guarded
    page = app.test_client()
    csrf = CSRF_RE.search(page.get("/login", headers={"Accept": "text/html"}).text)
    assert csrf is not None
    page.post("/login", data={"token": TOKEN, "csrf": csrf.group(1)})
    token = CSRF_RE.search(page.get("/", headers={"Accept": "text/html"}).text)
    assert token is not None, "the page carries its session's CSRF token"
    own = {"Origin": "http://localhost", "X-CSRF-Token": token.group(1)}
    refusals = [
        (page.post("/api/silences", json=silence_body(clock)), 403, "X-CSRF-Token"),
        (page.post("/api/silences", json=silence_body(clock),
                   headers={**own, "X-CSRF-Token": "forged"}), 403, "X-CSRF-Token"),
        (page.post("/api/silences", json=silence_body(clock),
                   headers={**own, "Origin": "http://evil.example"}), 403, "cross-site"),
        (page.post("/api/silences", data="{}", headers={**own, "Content-Type": "text/plain"}),
         415, "expected a JSON body"),
        (page.delete("/api/silences/s1", headers={"Origin": "http://localhost"}), 403, "CSRF"),
    ]  # fmt: skip
    for answer, status, error in refusals:
        assert answer.status_code == status and error in answer.json["error"], answer.json
    assert fake.silences() == []
    made = page.post("/api/silences", json=silence_body(clock), headers=own)
    assert made.status_code == 201, made.json
    assert page.delete(f"/api/silences/{made.json['id']}", headers=own).status_code == 200


# --- /metrics and /healthz -----------------------------------------------------------


def test_metrics_show_each_instance_state(app, fake, key):
    fake.move(key, State.CRITICAL, 97.0)
    fake.move(Key("disk-full", key.host, "toy.b"), State.PENDING, 91.0)
    text = app.test_client().get("/metrics").text
    lines = [line for line in text.splitlines() if line.startswith("dashboard_alert_state{")]
    assert lines == [
        f'dashboard_alert_state{{host="{key.host}",rule="disk-full",series="toy.a"}} 3.0',
        f'dashboard_alert_state{{host="{key.host}",rule="disk-full",series="toy.b"}} 1.0',
    ]


def test_metrics_count_notifications_per_target(app, fake, runtime):
    class Outbox:
        def status(self) -> dict[str, Any]:
            return {"targets": {"webhook": {"delivered": 3, "failed": 1, "suppressed": 0}}}

    runtime.outbox = Outbox()
    text = app.test_client().get("/metrics").text
    assert 'dashboard_notifications_total{result="delivered",target="webhook"} 3.0' in text
    assert 'dashboard_notifications_total{result="failed",target="webhook"} 1.0' in text


def test_healthz_has_the_engine_status_and_a_failing_evaluation_degrades(app, fake, monkeypatch):
    http = app.test_client()
    body = http.get("/healthz").json
    assert body["alerts"]["enabled"] is True and body["alerts"]["rules"] == 1
    assert body["alerts"]["last_error"] is None
    status = fake.status()
    monkeypatch.setattr(fake, "status", lambda: {**status, "last_error": "database is locked"})
    body = http.get("/healthz").json
    assert body["status"] == "degraded"
    assert body["alerts"]["last_error"] == "database is locked"
