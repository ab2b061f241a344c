"""Alerts for clients: the /alerts namespace, /api/alerts and /api/silences (the token, bad
input, cross-site refusals), the dashboard_alert_state gauge and the alerts part of /healthz.

In process (Flask's and Flask-SocketIO's test clients) against ``tests.alertsfake``, which
implements ``model.AlertsView``: fast checks of every answer. Then one real eventlet server
for the module, its real engine, and a rule on a plugin's series whose value the tests
write: the pushes, silence and ack over a real Socket.IO client, the HTTP API, a browser
session's CSRF refusal, the gauge and /healthz."""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from dashboard import create_app
from dashboard.alerts.model import Key, State
from dashboard.web import alerts as web_alerts
from tests.alertsfake import FakeAlerts
from tests.clock import Clock
from tests.logins import CSRF_RE, Browser
from tests.serverproc import ServerProcess, make_server, stop_all
from tests.toy import Toy
from tests.waits import wait_until

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
    assert ack["restarts"] == [clock()], "the process's start, newest last"
    clock.now += 5
    fake.move(key, State.CRITICAL, 96.0)
    pushed = [m for m in sock.get_received("/alerts") if m["name"] == "alert"]
    assert [m["args"][0] for m in pushed] == [{
        "rule": "disk-full", "host": key.host, "series": "toy.a", "from": "pending",
        "state": "critical", "value": 96.0, "threshold": 95.0, "since": clock(), "ts": clock(),
        "summary": "toy.a at 96.0", "unit": "", "silenced": None,
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


def test_silences_and_acks_are_pushed_to_every_subscriber_at_once(app, sock, fake, key, clock):
    other = app.extensions["socketio"].test_client(app, namespace="/alerts")
    ask(other, "subscribe")
    fake.move(key, State.WARNING, 92.0, 90.0)
    other.get_received("/alerts")

    def news() -> list[tuple[str, Any]]:
        return [(m["name"], m["args"][0]) for m in other.get_received("/alerts")]

    made = ask(sock, "silence", silence_body(clock))
    [(event, body)] = news()
    assert event == "silences" and [s["id"] for s in body["silences"]] == [made["id"]]
    assert body["silences"][0]["comment"] == "disk swap"
    ask(sock, "ack", key.as_dict())
    assert news() == [("acked", {**key.as_dict(), "acked": True,
                                 "by": fake.acks[0][1]})]  # fmt: skip
    fake.ack_callbacks[0](key, "socket from 10.0.0.9")  # an ack in another web process
    assert news() == [("acked", {**key.as_dict(), "acked": True, "by": "socket from 10.0.0.9"})]
    assert app.test_client().delete(f"/api/silences/{made['id']}").status_code == 200
    assert news() == [("silences", {"silences": []})], "ended over HTTP"
    ask(sock, "silence", silence_body(clock, ends=clock() + 60))
    news()
    clock.now += 61
    fake.expire()
    assert news() == [("silences", {"silences": []})], "expired"
    assert ask(sock, "silence", silence_body(clock, comment=""))["ok"] is False
    assert app.test_client().delete("/api/silences/nope").status_code == 404
    assert news() == [], "nothing changed, nothing pushed"
    fake.rule_callbacks[0]([{"name": "disk-full", "crit": 97.0}])  # a reload changed the rules
    assert news() == [("rules", {"rules": [{"name": "disk-full", "crit": 97.0}]})]
    other.disconnect("/alerts")


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
        ("silence", {"matchers": {}, "ends": 2**2000, "comment": "x"},
         "ends: expected unix seconds (a number), got an integer of 2001 bits"),
        ("silence", {"matchers": {"host": "db\ud800"}, "ends": 1e12, "comment": "x"},
         "matchers.host: not valid text (a lone surrogate at character 3)"),
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


def test_disabled_alerts_answer_so_everywhere(tmp_path):
    settings = {"server": {"async_mode": "threading"}, "alerts": {"enabled": False},
                "history": {"path": str(tmp_path / "h.sqlite3")}}  # fmt: skip
    app = create_app(settings, collectors=(Toy,))
    assert app.extensions["dashboard"].alerts is None
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
    assert body["restarts"] == fake.starts
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


def test_notifications_per_target_and_a_failing_one_degrades(app, fake, runtime):
    class Outbox:
        failing = False

        def counters(self) -> dict[str, dict[str, int]]:
            return {"webhook": {"delivered": 3, "failed": 1, "suppressed": 0}}

        def status(self) -> dict[str, Any]:
            return {"state": "failing" if self.failing else "ok", "targets": {}}

    runtime.outbox = outbox = Outbox()
    http = app.test_client()
    text = http.get("/metrics").text
    assert 'dashboard_notifications_total{result="delivered",target="webhook"} 3.0' in text
    assert 'dashboard_notifications_total{result="failed",target="webhook"} 1.0' in text
    assert http.get("/healthz").json["alerts"]["notify"]["state"] == "ok"
    outbox.failing = True
    body = http.get("/healthz").json
    assert body["status"] == "degraded" and body["alerts"]["notify"]["state"] == "failing"


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


# --- a real server, its real engine ------------------------------------------------------

# A plugin whose one series is what the test writes into a file: the filesystem "filled on
# purpose". (Not the textfile collector: under eventlet its reads fail with EBADF.)
FILL_PLUGIN = """
from collectors import Collector, Series


class Fill(Collector):
    name = "fill"
    interval = 1.0
    defaults = {"file": ""}

    def describe(self):
        return [Series("fill.used_percent", "%", "Filled")]

    def collect(self):
        with open(self.options["file"]) as fh:
            return {"fill.used_percent": float(fh.read())}
"""
FILL_SETTINGS = """
[plugins]
paths = ["{folder}"]

[collectors.fill]
file = "{folder}/fill.txt"

[[alerts.rule]]
name = "fill"
series = "fill.used_percent"
aggregate = "last"
window = "1s"
warn = 80
crit = 90
clear = 70
for = "1s"
recover = "1s"
summary = "{{host}}: {{series}} at {{value}}{{unit}}"
"""


def start_filled(home: Path, async_mode: str = "eventlet") -> Live:
    """A server with the token, the fill plugin at 10 % and a rule on it (shared with the
    browser tests)."""
    folder = home / "fill"
    folder.mkdir()
    (folder / "fillplugin.py").write_text(FILL_PLUGIN)
    settings = f'[auth]\ntoken = "{TOKEN}"\n' + FILL_SETTINGS.format(folder=folder)
    live = Live(make_server(home, settings, async_mode, name="alerts"), folder)
    live.fill(10)
    live.server.start()
    return live


@dataclass
class Live:
    server: ServerProcess
    folder: Path

    def fill(self, percent: float) -> None:
        """How full the plugin says the filesystem is (written whole, then renamed)."""
        tmp = self.folder / ".fill.tmp"
        tmp.write_text(f"{percent}\n")
        os.replace(tmp, self.folder / "fill.txt")

    def get(self, path: str, **headers: str) -> tuple[int, Any]:
        request = urllib.request.Request(self.server.url + path, headers={**BEARER, **headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                body = resp.read()
                return resp.status, json.loads(body) if path != "/metrics" else body.decode()
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def send(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **headers}
        request = urllib.request.Request(
            self.server.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def state(self) -> str | None:
        status, body = self.get("/api/alerts")
        assert status == 200, f"GET /api/alerts: {status} {body}"
        alerts = body["alerts"]
        return next((a["state"] for a in alerts if a["rule"] == "fill"), None)

    def firing(self) -> None:
        self.fill(95)
        wait_until(lambda: self.state() == "critical", "the fill rule critical", 20)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One eventlet server for the module, with the token and a rule a test makes fire."""
    live = start_filled(tmp_path_factory.mktemp("alerts-live"))
    yield live
    stop_all([live.server])


@pytest.mark.server
def test_a_real_rule_pushes_and_takes_silence_and_ack_over_the_socket(live, sio_client):
    live.fill(10)
    wait_until(lambda: live.state() in (None, "ok"), "the fill rule at rest", 20)
    client = sio_client(live.server.url, ["/alerts"], auth={"token": TOKEN})
    pushed: list[dict[str, Any]] = []
    client.on("alert", pushed.append, namespace="/alerts")
    news: list[dict[str, Any]] = []
    client.on("silences", news.append, namespace="/alerts")
    client.on("acked", news.append, namespace="/alerts")
    ack = client.call("subscribe", namespace="/alerts", timeout=10)
    assert ack["ok"] is True and {"alerts", "transitions", "silences", "rules"} <= set(ack)
    assert ack["restarts"] and ack["restarts"][-1] <= time.time(), "this server's start"
    rule = next(r for r in ack["rules"] if r["name"] == "fill")
    assert (rule["series"], rule["warn"], rule["crit"]) == ("fill.used_percent", 80, 90)
    live.fill(95)
    wait_until(lambda: any(p["state"] == "critical" for p in pushed), "a critical push", 20)
    critical = next(p for p in pushed if p["state"] == "critical")
    assert critical["rule"] == "fill" and critical["series"] == "fill.used_percent"
    assert critical["value"] == 95 and critical["threshold"] == 90
    assert set(critical) == {"rule", "host", "series", "state", "value", "threshold", "since",
                             "ts", "from", "summary", "unit", "silenced"}  # fmt: skip
    assert critical["summary"].endswith("at 95%") and critical["silenced"] is None
    instance = {k: critical[k] for k in ("rule", "host", "series")}
    acked = client.call("ack", {**instance, "comment": "looking"}, namespace="/alerts")
    assert acked["ok"] is True and acked["alert"]["acked"] is True
    wait_until(lambda: {**instance, "acked": True} in [
        {k: v for k, v in n.items() if k != "by"} for n in news], "the acked push")  # fmt: skip
    wanted = {"matchers": {"rule": "fill"}, "ends": time.time() + 600,
              "comment": "filling on purpose"}  # fmt: skip
    made = client.call("silence", wanted, namespace="/alerts")
    assert made["ok"] is True
    listed = live.get("/api/silences")[1]["silences"]
    assert [s["comment"] for s in listed if s["id"] == made["id"]] == ["filling on purpose"]
    bad = client.call("silence", {"matchers": {"rule": "fill"}, "ends": 1, "comment": "x"},
                      namespace="/alerts")  # fmt: skip
    assert bad["ok"] is False and bad["error"].startswith("ends: ")
    wait_until(lambda: any(s["id"] == made["id"] for n in news for s in n.get("silences", [])),
               "the silences push")  # fmt: skip
    assert live.send("DELETE", f"/api/silences/{made['id']}", **BEARER)[0] == 200
    wait_until(lambda: "silences" in news[-1] and all(s["id"] != made["id"] for s in
               news[-1]["silences"]), "the push of its end")  # fmt: skip


@pytest.mark.server
def test_the_real_http_api(live):
    live.firing()
    status, body = live.get("/api/alerts")
    assert status == 200 and any(t["rule"] == "fill" for t in body["transitions"])
    ends = time.time() + 3600
    made = live.send("POST", "/api/silences", {"matchers": {"host": "*", "rule": "fill"},
                     "ends": ends, "comment": "maintenance"}, **BEARER)  # fmt: skip
    assert made[0] == 201 and set(made[1]) == {"id"}
    wait_until(lambda: any(a["silenced"] == made[1]["id"] for a in live.get("/api/alerts")[1]
                           ["alerts"]), "the alert silenced")  # fmt: skip
    assert live.send("POST", "/api/silences", {"matchers": {}, "ends": ends + 40 * DAY,
                     "comment": "x"}, **BEARER)[0] == 400  # fmt: skip
    assert live.send("POST", "/api/silences", {"matchers": {}, "ends": ends})[0] == 401
    assert live.get("/api/alerts", Authorization="Bearer wrong")[0] == 401
    assert live.send("DELETE", f"/api/silences/{made[1]['id']}", **BEARER)[0] == 200
    assert live.send("DELETE", f"/api/silences/{made[1]['id']}", **BEARER)[0] == 404


@pytest.mark.server
def test_a_logged_in_browser_without_the_csrf_token_is_refused(live):
    page = Browser(live.server.url)
    assert page.login(TOKEN).status == 302
    body = json.dumps({"matchers": {"rule": "fill"}, "ends": time.time() + 60, "comment": "x"})
    headers = {"Content-Type": "application/json", "Cookie": page.cookie_header(),
               "Origin": live.server.url}  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=10)
    conn.request("POST", "/api/silences", body=body, headers=headers)
    answer = conn.getresponse()
    assert answer.status == 403 and b"X-CSRF-Token" in answer.read()
    conn.request("POST", "/api/silences", body=body,
                 headers={**headers, "X-CSRF-Token": page.csrf("/")})  # fmt: skip
    made = conn.getresponse()
    assert made.status == 201, made.read()
    silence = json.loads(made.read())["id"]
    conn.close()
    assert live.send("DELETE", f"/api/silences/{silence}", **BEARER)[0] == 200


@pytest.mark.server
def test_metrics_and_healthz_of_a_firing_rule(live):
    live.firing()
    text = live.get("/metrics")[1]
    gauge = [line for line in text.splitlines()
             if line.startswith("dashboard_alert_state{") and 'rule="fill"' in line]  # fmt: skip
    assert len(gauge) == 1 and gauge[0].endswith(" 3.0"), gauge
    assert 'series="fill.used_percent"' in gauge[0]
    health = live.get("/healthz")[1]
    assert health["alerts"]["enabled"] is True and health["alerts"]["firing"] >= 1
    assert health["alerts"]["last_error"] is None and health["alerts"]["rules"] >= 1


def test_the_hub_emits_only_the_alerts_events_the_protocol_names(runtime):
    with pytest.raises(ValueError, match="not an /alerts event: 'alerts'"):
        runtime.hub.publish_alerts("alerts", {})
