"""The page in real headless Chromium against a real server process: charts fill with live
data, the process filter works, the page reconnects after a restart, and nothing leaves
127.0.0.1."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# sensors is left out: a host without temperature sensors shows a note instead of a chart.
CHARTED = ("cpu", "memory", "load", "disk", "filesystem", "network", "processes")
# What Chromium logs while the server is down; expected only in the restart test.
CONNECTION_LOST = re.compile(
    r"net::ERR_CONNECTION_(REFUSED|RESET|CLOSED)|net::ERR_EMPTY_RESPONSE"
    r"|WebSocket connection to '[^']*' failed"
)
WAIT_MS = 15_000

EVERY_CHART_HAS_POINTS = """() => {
    const plots = [...document.querySelectorAll(".plot")];
    return plots.length > 0 && plots.every(
        (gd) => Array.isArray(gd.data) && gd.data.some((trace) => trace.x.length > 0));
}"""
# The newest point's time (ms) on the CPU chart.
LAST_X = """Math.max(...document.getElementById("chart-cpu-pct").data
    .filter((t) => t.x.length).map((t) => +new Date(t.x[t.x.length - 1])))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package for browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watched:
    """A page plus everything it logged as an error and every URL it asked for."""

    page: sync_api.Page
    errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def assert_no_errors(self, allowed: re.Pattern[str] | None = None) -> None:
        unexpected = [e for e in self.errors if allowed is None or not allowed.search(e)]
        assert not unexpected, "errors in the page:\n" + "\n".join(unexpected)


@pytest.fixture
def watched(browser: sync_api.Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    seen = Watched(page)

    def on_console(msg: sync_api.ConsoleMessage) -> None:
        if msg.type == "error":
            seen.errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.errors.append(f"pageerror: {exc}"))
    page.on("request", lambda request: seen.urls.append(request.url))
    page.on("websocket", lambda ws: seen.urls.append(ws.url))
    yield seen
    context.close()


def open_dashboard(watched: Watched, url: str) -> sync_api.Page:
    page = watched.page
    page.goto(url + "/")
    page.wait_for_selector('#connection[data-state="connected"]')
    return page


def test_page_shows_host_and_every_chart_fills_with_units(server_factory, watched):
    server = server_factory(settings="", async_mode="threading")
    host = server.get_json("/healthz")["host"]
    page = open_dashboard(watched, server.url)

    assert host in page.title()
    assert page.text_content("#host") == host
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    charts = page.evaluate("""() => [...document.querySelectorAll(".plot")].map((gd) => ({
        id: gd.id, collector: gd.dataset.collector, unit: gd.dataset.unit,
        title: gd.layout.yaxis.title.text,
        drawnTitle: gd.querySelector(".ytitle")?.textContent,
        ticks: gd.layout.yaxis.ticktext,
        heading: gd.closest(".card").querySelector(".card-title").textContent,
    }))""")
    assert {c["collector"] for c in charts} >= set(CHARTED)
    for chart in charts:
        assert chart["unit"], chart
        assert chart["title"] == chart["drawnTitle"] == chart["unit"], chart
    by_id = {c["id"]: c for c in charts}
    assert by_id["chart-cpu-pct"]["heading"] == "CPU · %"
    assert by_id["chart-cpu-pct"]["ticks"][-1] == "100%"
    assert by_id["chart-memory-bytes"]["heading"] == "Memory · bytes"
    assert any(t.endswith("iB") for t in by_id["chart-memory-bytes"]["ticks"])
    assert "chart-cpu-pct-cores" in by_id  # per-core lines in their own chart
    # sensors: its charts, or (on a host without sensors) a note saying so.
    sensors = '.plot[data-collector="sensors"], .note-card[data-collector="sensors"]'
    assert page.locator(sensors).count() > 0
    assert page.locator(".health-chip").count() == 8
    watched.assert_no_errors()


def test_process_filter_narrows_and_sorts_the_table(server_factory, watched):
    server = server_factory(settings="", async_mode="threading")
    page = open_dashboard(watched, server.url)
    rows = "#processes tbody tr[data-pid]"
    live = "#processes table[data-state='live']"
    page.wait_for_selector(f"{live} tbody tr[data-pid]")

    page.fill(".proc-search", "python")
    page.wait_for_selector(f"{live}[data-match='python'] tbody tr[data-pid]")
    texts = page.locator(rows).all_text_contents()
    assert texts and all("python" in text.lower() for text in texts), texts

    page.fill(".proc-search", "zz-no-such-process-zz")
    page.wait_for_selector(f"{live}[data-match='zz-no-such-process-zz'] tr.empty")
    assert page.locator(rows).count() == 0

    page.fill(".proc-search", "")
    page.click("#processes th[data-sort='memory'] button")
    page.wait_for_selector(f"{live}[data-match=''][data-sort='memory'] tbody tr[data-pid]")
    memory = page.locator(rows).evaluate_all("(trs) => trs.map((tr) => tr.dataset.memory)")
    known = [int(m) for m in memory if m]
    assert len(known) > 1 and known == sorted(known, reverse=True), memory
    assert memory[: len(known)] == [str(m) for m in known]  # unknown memory sorts last
    assert page.get_attribute("#processes th[data-sort='memory']", "aria-sort") == "descending"
    watched.assert_no_errors()


def test_page_reconnects_after_a_server_restart(server_factory, watched):
    server = server_factory(settings="", async_mode="threading")
    page = open_dashboard(watched, server.url)
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    before = page.evaluate(f"() => {LAST_X}")

    server.stop()
    page.wait_for_selector(
        '#connection[data-state="reconnecting"], #connection[data-state="disconnected"]'
    )
    server.start()
    page.wait_for_selector('#connection[data-state="connected"]', timeout=20_000)
    page.wait_for_function(f"() => {LAST_X} > {before}", polling=250)
    # Resubscribing with `since` must neither repeat nor reorder points.
    assert page.evaluate("""() => document.getElementById("chart-cpu-pct").data.every((t) =>
        t.x.every((x, i) => i === 0 || +new Date(x) > +new Date(t.x[i - 1])))""")
    watched.assert_no_errors(allowed=CONNECTION_LOST)


def test_page_loads_nothing_from_outside_the_server(server_factory, watched):
    server = server_factory(settings="", async_mode="threading")
    page = open_dashboard(watched, server.url)
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    origins = {
        re.sub(r"^(\w+)://([^/]+).*$", r"\1://\2", url)
        for url in watched.urls
        if not url.startswith("data:")
    }
    http, ws = server.url, server.url.replace("http://", "ws://")
    assert origins <= {http, ws}, origins
    assert any(url.endswith("/vendor/plotly.min.js") for url in watched.urls)
    assert any(url.endswith("/vendor/socket.io.min.js") for url in watched.urls)
    watched.assert_no_errors()


def test_login_with_the_token_then_the_page_streams(server_factory, watched):
    server = server_factory(settings='[auth]\ntoken = "browser-test-token"\n')
    page = watched.page
    page.goto(server.url + "/")
    page.wait_for_selector("form.login-form")
    page.fill("#token", "wrong")
    page.click("form.login-form button")
    assert page.text_content(".login-error") == "Wrong token."
    page.fill("#token", "browser-test-token")
    page.click("form.login-form button")
    page.wait_for_selector('#connection[data-state="connected"]')
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    # The wrong attempt answered 401, which Chromium reports as a failed resource load.
    watched.assert_no_errors(allowed=re.compile(r"status of 401"))
