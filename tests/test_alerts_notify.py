"""Notifications: the webhook and its signature, Apprise (json://, mailto:// through a local
SMTP server), a hung receiver, grouping, max_per_hour, quiet hours, `alerts test` and the
heartbeat. Real network parts listen on 127.0.0.1; time-driven behaviour uses the test clock."""

from __future__ import annotations

import email
import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from email import policy as email_policy
from typing import Any

import pytest

from dashboard.alerts.model import Alert, Key, Notice, State
from dashboard.alerts.notify import build, names
from dashboard.alerts.notify.delivery import Policy
from dashboard.alerts.notify.heartbeat import Heartbeat
from dashboard.alerts.notify.message import Message
from dashboard.alerts.notify.notifier import Notifier
from dashboard.alerts.notify.selftest import send_test
from dashboard.alerts.notify.target import Answer
from dashboard.settings import AlertSettings, Settings
from tests.clock import T0, Clock
from tests.waits import wait_until
from tests.webhooks import Receiver, verify

SECRET = b"s3cret-key"
FAST = Policy(timeout=0.5, delays=(0.05, 0.1))  # 3 attempts, about 1.7 s against a hang
MIDNIGHT = T0 - T0 % 86_400  # UTC: the quiet-hours tests read the clock with time.gmtime
PROCESSES = {
    "cpu": [
        {"pid": 100 + i, "name": f"cpu{i}", "cpu": 90.0 - i, "memory": 2**20} for i in range(7)
    ],
    "memory": [
        {"pid": 812, "name": "postgres", "cpu": 3.0, "memory": 1.5 * 2**30, "memory_percent": 19.4}
    ],
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.stop()


class Spawner:
    """``spawn`` as ``socketio.start_background_task`` does it under threading."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def __call__(self, fn: Any, *args: Any) -> None:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()


@pytest.fixture
def spawn() -> Spawner:
    return Spawner()


def notice(
    kind: str = "firing",
    state: State = State.CRITICAL,
    host: str = "db-1",
    series: str = "filesystem./var.used_percent",
    value: float = 96.0,
    held_for: float = 130.0,
) -> Notice:
    summary = f"{host}: filesystem /var at {value:g} %"
    alert = Alert(Key("filesystem-full", host, series), state, value, 95.0, T0 - held_for,
                  summary=summary, unit="%")  # fmt: skip
    return Notice(kind, alert, held_for, T0, PROCESSES)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- the webhook, Apprise, e-mail: real receivers on loopback ------------------------------


def test_webhook_posts_the_alert_signed(receiver: Receiver, spawn: Spawner, clock: Clock) -> None:
    settings = AlertSettings(webhook=receiver.url("/hook?token=abc123"), webhook_secret=SECRET)
    notifier = build(settings, spawn, clock, policy=FAST)
    assert notifier.offer(notice(), clock.now) is True
    got = wait_until(lambda: receiver.on("/hook"), "the webhook's POST")[0]
    assert got.method == "POST" and got.headers["Content-Type"] == "application/json"
    assert verify(SECRET, got.body, got.headers, time.time())
    assert not verify(b"another key", got.body, got.headers, time.time())
    assert not verify(SECRET, got.body, got.headers, time.time() + 600)  # a replay, later
    body = got.json()
    assert body["version"] == 1 and body["status"] == "firing" and body["suppressed"] == 0
    assert body["id"] == got.headers["X-Dashboard-Delivery"]
    assert body["title"] == "[CRITICAL] db-1: filesystem /var at 96 %"
    (alert,) = body["alerts"]
    assert alert["rule"] == "filesystem-full" and alert["host"] == "db-1"
    assert alert["state"] == "critical" and alert["kind"] == "firing"
    assert (alert["value"], alert["threshold"], alert["unit"]) == (96.0, 95.0, "%")
    assert alert["held_for"] == 130.0 and alert["since"] == T0 - 130
    assert len(alert["processes"]["cpu"]) == 5  # the top 5, of the 7 given
    text = body["text"]
    assert "Value 96 % (threshold 95 %), for 2 min 10 s" in text
    assert "Top by CPU: cpu0 (pid 100) 90 %; cpu1 (pid 101) 89 %" in text
    assert "cpu5" not in text
    assert "Top by memory: postgres (pid 812) 1.5 GiB, 19.4 %" in text
    wait_until(lambda: notifier.counters()["webhook"]["delivered"] == 1, "counted as delivered")
    status = notifier.status()["targets"]["webhook"]
    assert status["last_ok"] == clock.now and status["failed"] == 0


def test_apprise_json_reaches_the_same_receiver(
    receiver: Receiver, spawn: Spawner, clock: Clock
) -> None:
    url = receiver.url("/apprise").replace("http://", "json://")
    notifier = build(AlertSettings(notify=(url,)), spawn, clock, policy=FAST)
    (target,) = notifier.targets
    assert target.name == f"json:127.0.0.1:{receiver.server.server_address[1]}"
    notifier.offer(notice(), clock.now)
    got = wait_until(lambda: receiver.on("/apprise"), "Apprise's JSON POST")[0].json()
    assert got["title"] == "[CRITICAL] db-1: filesystem /var at 96 %"
    assert "for 2 min 10 s" in got["message"] and got["type"] == "failure"
    wait_until(lambda: notifier.counters()[target.name]["delivered"] == 1, "counted")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email_policy.default)
        self.messages.append(parsed)
        return "250 OK"


def test_email_through_a_local_smtp_server(spawn: Spawner, clock: Clock) -> None:
    from aiosmtpd.controller import Controller

    mailbox, port = Mailbox(), free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        url = f"mailto://127.0.0.1:{port}?from=dashboard@example.com&to=ops@example.com"
        notifier = build(AlertSettings(notify=(url,)), spawn, clock, policy=FAST)
        notifier.offer(notice(), clock.now)
        mail = wait_until(lambda: mailbox.messages, "the e-mail")[0]
    finally:
        smtp.stop()
    assert mail["Subject"] == "[CRITICAL] db-1: filesystem /var at 96 %"
    assert mail["To"] == "ops@example.com"
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None
    assert "Value 96 % (threshold 95 %), for 2 min 10 s" in plain.get_content()


def test_a_hung_receiver_blocks_nothing_and_ends_in_a_visible_failure(
    receiver: Receiver, spawn: Spawner, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "dashboard.alerts")
    apprise_url = receiver.url("/apprise").replace("http://", "json://")
    settings = AlertSettings(webhook=receiver.url("/hang?token=topsecret"), notify=(apprise_url,))
    notifier = build(settings, spawn, clock, policy=FAST)
    started = time.monotonic()
    assert notifier.offer(notice(), clock.now)
    notifier.tick(clock.now)
    assert time.monotonic() - started < 0.2  # offer and tick only spawn
    wait_until(lambda: receiver.on("/apprise"), "the other target's message", timeout=1.0)
    wait_until(lambda: notifier.counters()["webhook"]["failed"], "the final failure", timeout=5)
    assert len(receiver.on("/hang")) == FAST.attempts
    status = notifier.status()
    assert status["state"] == "failing" and status["failing"] == ["webhook"]
    assert status["targets"]["webhook"]["last_error"] == "no answer within 0.5 s"
    assert status["targets"]["webhook"]["retries"] == FAST.attempts - 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "notification to webhook failed after 3 attempts" in (
        errors[0].getMessage()
    )
    assert "no answer within 0.5 s" in errors[0].getMessage()
    assert "topsecret" not in caplog.text


def test_a_server_error_is_tried_again_and_a_refusal_is_final(
    receiver: Receiver, clock: Clock
) -> None:
    for path, attempts, answer in (("/fail", 3, "HTTP 500"), ("/refuse", 1, "HTTP 403")):
        settings = AlertSettings(webhook=receiver.url(path))
        notifier = build(settings, lambda fn, *a: fn(*a), clock, policy=FAST)
        notifier.offer(notice(), clock.now)
        assert len(receiver.on(path)) == attempts
        assert notifier.status()["targets"]["webhook"]["last_error"].startswith(answer)


# --- grouping, max_per_hour, quiet hours: the test clock, a recording target -------------


class Recorder:
    kind = "recorder"

    def __init__(self, name: str = "rec") -> None:
        self.name = name
        self.sent: list[Message] = []

    def redact(self, text: str) -> str:
        return text

    def send(self, message: Message, timeout: float) -> Answer:
        self.sent.append(message)
        return Answer(True, "recorded")


def notifier_with(clock: Clock, **settings: Any) -> tuple[Notifier, Recorder]:
    target = Recorder()
    made = Notifier(AlertSettings(**settings), [target], lambda fn, *a: fn(*a), clock,
                    policy=FAST, localtime=time.gmtime)  # fmt: skip
    return made, target


def test_grouping_is_leading_edge(clock: Clock) -> None:
    notifier, target = notifier_with(clock, group_wait=30.0)
    notifier.offer(notice(host="db-1"), T0)
    assert [m.title() for m in target.sent] == ["[CRITICAL] db-1: filesystem /var at 96 %"]
    notifier.offer(notice(host="web-2", state=State.WARNING), T0 + 5)
    notifier.offer(notice(host="db-1", series="filesystem./.used_percent"), T0 + 10)
    notifier.tick(T0 + 29)
    assert len(target.sent) == 1  # both wait for the end of group_wait
    notifier.tick(T0 + 30)
    assert len(target.sent) == 2
    group = target.sent[1]
    assert group.title() == "[CRITICAL] 2 alerts firing on db-1, web-2"
    assert [n.alert.key.host for n in group.notices] == ["web-2", "db-1"]
    assert group.text().count("Top by CPU") == 2
    notifier.tick(T0 + 60)  # a wait with nothing in it: the group is over
    notifier.offer(notice(kind="resolved", state=State.OK), T0 + 61)
    assert len(target.sent) == 3 and target.sent[2].title().startswith("[RESOLVED]")
    assert "it fired for 2 min 10 s" in target.sent[2].text()


def test_group_wait_zero_sends_each_at_once(clock: Clock) -> None:
    notifier, target = notifier_with(clock, group_wait=0.0)
    for host in ("a", "b", "c"):
        notifier.offer(notice(host=host), T0)
    assert [len(m.notices) for m in target.sent] == [1, 1, 1]


def test_max_per_hour_holds_back_and_says_how_many(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "dashboard.alerts")
    notifier, target = notifier_with(clock, group_wait=0.0, max_per_hour=2)
    for minute in range(5):
        notifier.offer(notice(host=f"h{minute}"), T0 + 60 * minute)
    assert len(target.sent) == 2
    assert notifier.counters()["rec"] == {"delivered": 2, "failed": 0, "suppressed": 3}
    assert len([r for r in caplog.records if "held back" in r.getMessage()]) == 1
    notifier.offer(notice(host="later"), T0 + 3600)  # the first of the hour slid out
    assert len(target.sent) == 3
    assert target.sent[2].suppressed == 3
    assert "(3 earlier messages to this target were held back by [alerts] max_per_hour.)" in (
        target.sent[2].text()
    )


@pytest.mark.parametrize(
    ("at", "quiet"),
    [("21:59", False), ("22:00", True), ("23:30", True), ("00:10", True), ("06:59", True),
     ("07:00", False), ("12:00", False)],
)  # fmt: skip
def test_quiet_hours_over_midnight_let_only_critical_through(
    clock: Clock, at: str, quiet: bool
) -> None:
    hours, minutes = (int(p) for p in at.split(":"))
    now = MIDNIGHT + hours * 3600 + minutes * 60
    notifier, target = notifier_with(clock, group_wait=0.0, quiet_hours=(22 * 60, 7 * 60))
    assert notifier.offer(notice(state=State.WARNING), now) is not quiet
    assert notifier.offer(notice(), now) is True  # critical
    assert len(target.sent) == (1 if quiet else 2)


def test_in_quiet_hours_a_critical_alert_resolves_and_a_warning_waits(clock: Clock) -> None:
    notifier, target = notifier_with(clock, group_wait=0.0, quiet_hours=(22 * 60, 7 * 60))
    critical = notice()
    warning = notice(state=State.WARNING, series="filesystem./.used_percent")
    evening, night, morning = MIDNIGHT - 3 * 3600, MIDNIGHT + 2 * 3600, MIDNIGHT + 7 * 3600
    assert notifier.offer(critical, evening) and notifier.offer(warning, evening)

    def resolved(n: Notice) -> Notice:  # the snapshot of a resolve says "ok"
        return replace(n, kind="resolved", alert=replace(n.alert, state=State.OK))

    assert notifier.offer(resolved(critical), night) is True
    assert notifier.offer(resolved(warning), night) is False  # the engine offers it again
    assert notifier.offer(resolved(warning), morning) is True
    assert [m.status for m in target.sent] == ["firing", "firing", "resolved", "resolved"]


# --- `dashboard alerts test`, target names ----------------------------------------------


def test_send_test_reports_each_answer(receiver: Receiver) -> None:
    apprise_url = receiver.url("/apprise").replace("http://", "json://")
    good = Settings(alerts=AlertSettings(webhook=receiver.url("/hook"), webhook_secret=SECRET,
                                         notify=(apprise_url,)))  # fmt: skip
    out = io.StringIO()
    assert send_test(good, None, out, policy=FAST) == 0
    lines = out.getvalue().splitlines()
    assert "webhook: ok: HTTP 200 OK (1 attempt, " in lines[1]
    assert "json:127.0.0.1:" in lines[3] and ": ok: apprise: SUCCESS (1 attempt" in lines[3]
    assert lines[-1] == "2 of 2 targets accepted it"
    hook = receiver.on("/hook")[0]
    assert hook.json()["status"] == "test" and verify(SECRET, hook.body, hook.headers, time.time())
    assert receiver.on("/apprise")[0].json()["title"].startswith("[TEST] dashboard notification")

    out = io.StringIO()
    assert send_test(good, "nope", out) == 2
    assert (
        out.getvalue()
        == f"unknown target 'nope'; the targets are: webhook, {lines[3].split(': ')[0]}\n"
    )
    dead = Settings(alerts=AlertSettings(webhook=f"http://127.0.0.1:{free_port()}/x"))
    out = io.StringIO()
    assert send_test(dead, "webhook", out, policy=FAST) == 1
    assert (
        "webhook: FAILED: cannot reach the webhook: [Errno 111] Connection refused (3 attempts"
        in (out.getvalue())
    )
    out = io.StringIO()
    assert send_test(Settings(), None, out) == 78
    assert "no notification targets" in out.getvalue()


def test_target_names_never_show_the_secret_part() -> None:
    shown = [
        names.apprise_name(url)
        for url in (
            "ntfys://ntfy.sh/private-topic", "ntfy://private-topic", "tgram://123:BOTTOKEN/42",
            "mailto://user:password@smtp.example.com:587", "json://127.0.0.1:8080/x",
        )
    ]  # fmt: skip
    assert shown == ["ntfys:ntfy.sh", "ntfy", "tgram", "mailto:smtp.example.com:587",
                     "json:127.0.0.1:8080"]  # fmt: skip
    assert names.unique(["webhook", "ntfy", "ntfy"]) == ["webhook", "ntfy", "ntfy-2"]


# --- the heartbeat ------------------------------------------------------------------------


def test_heartbeat_pings_while_healthy_and_stops_when_not(
    receiver: Receiver, spawn: Spawner, caplog: pytest.LogCaptureFixture
) -> None:
    healthy = [True]
    beat = Heartbeat(receiver.url("/ping"), 0.05, lambda: healthy[0], spawn, time.sleep)
    beat.start()
    wait_until(lambda: len(receiver.on("/ping")) >= 2, "two pings")
    assert {g.method for g in receiver.on("/ping")} == {"GET"}
    healthy[0] = False
    wait_until(lambda: beat.status()["state"] == "paused", "the pause")
    count = len(receiver.on("/ping"))
    beat.beat()  # a round while unhealthy: no ping
    assert len(receiver.on("/ping")) == count and beat.status()["sent"] == count
    beat.stop()
    spawn.threads[0].join(timeout=2)
    assert not spawn.threads[0].is_alive()
    assert "heartbeat paused" in caplog.text


def test_heartbeat_failures_are_logged_once_per_outage(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "dashboard.alerts")
    url = [receiver.url("/fail/ping?key=hbsecret")]
    beat = Heartbeat(url[0], 60, lambda: True, lambda fn: None, time.sleep)
    beat.beat()
    beat.beat()
    assert beat.status()["state"] == "failing" and beat.status()["failures"] == 2
    assert beat.status()["last_error"] == "HTTP 500 Internal Server Error"
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    beat.url = receiver.url("/ping")
    beat.beat()
    assert beat.status()["state"] == "ok" and beat.status()["sent"] == 1
    assert "hbsecret" not in caplog.text
