"""The page in real headless Chromium against a real server process: charts fill with live
data, the process filter works, the page reconnects after a restart, and nothing leaves
127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from tests import waits
from tests.pageprobe import Watched, watch

sync_api = pytest.importorskip("playwright.sync_api")
if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, WebSocketRoute

pytestmark = [pytest.mark.browser, pytest.mark.server]  # it starts servers too

# sensors is left out: a host without temperature sensors shows a note instead of a chart;
# cgroups too: a host may have no services or containers (its table says so).
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


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    # Tall enough to show every chart: the page draws only the charts in view
    # (test_browser_page.py tests that), and these tests read every chart's points.
    context = browser.new_context(viewport={"width": 1600, "height": 2400})
    yield watch(context.new_page(), WAIT_MS)
    context.close()


def open_dashboard(watched: Watched, url: str) -> Page:
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
    # cgroups: its table of services and containers (on a host without any, saying so).
    assert page.locator("#services table").count() == 1
    assert page.locator(".health-chip").count() == 9
    watched.assert_no_errors()


def test_process_filter_narrows_and_sorts_the_table(server_factory, watched):
    server = server_factory(settings="", async_mode="threading")
    page = open_dashboard(watched, server.url)
    rows = "#processes tbody tr[data-pid]"
    live = "#processes table[data-state='live']"
    page.wait_for_selector(f"{live} tbody tr[data-pid]")

    page.fill("#processes .proc-search", "python")
    page.wait_for_selector(f"{live}[data-match='python'] tbody tr[data-pid]")
    texts = page.locator(rows).all_text_contents()
    assert texts and all("python" in text.lower() for text in texts), texts

    page.fill("#processes .proc-search", "zz-no-such-process-zz")
    page.wait_for_selector(f"{live}[data-match='zz-no-such-process-zz'] tr.empty")
    assert page.locator(rows).count() == 0

    page.fill("#processes .proc-search", "")
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


def x_span(chart: str) -> str:
    """JS: the seconds a chart's x axis spans (0 before its first range)."""
    return f"""(() => {{ const r = document.getElementById("{chart}").layout.xaxis.range;
        return r ? (+new Date(r[1]) - +new Date(r[0])) / 1000 : 0; }})()"""


# The CPU chart's span, and whether every trace's points are strictly in time order (a
# resubscribe must neither repeat nor reorder points).
CPU_SPAN = x_span("chart-cpu-pct")
CPU_IN_ORDER = """() => document.getElementById("chart-cpu-pct").data.every((t) =>
    t.x.every((x, i) => i === 0 || +new Date(x) > +new Date(t.x[i - 1])))"""
WINDOWS = {"5m": 300, "1h": 3_600, "24h": 86_400, "7d": 604_800}


def wait_for_window(page: Page, key: str) -> None:
    """The picker shows ``key`` and the CPU chart spans that window (within 1 %)."""
    seconds = WINDOWS[key]
    page.wait_for_selector(f'#window button[data-window="{key}"][aria-pressed="true"]')
    page.wait_for_function(f"() => Math.abs({CPU_SPAN} - {seconds}) < {seconds} * 0.01")
    pressed = page.locator('#window button[aria-pressed="true"]').evaluate_all(
        "(buttons) => buttons.map((b) => b.dataset.window)"
    )
    assert pressed == [key]


def test_time_window_choice_refills_the_charts_and_survives_a_reload(server_factory, watched):
    server = server_factory(settings="", async_mode="threading")
    page = open_dashboard(watched, server.url)
    wait_for_window(page, "5m")
    page.wait_for_function(EVERY_CHART_HAS_POINTS)

    # Keyboard: the picker's buttons take focus; the arrow keys move to the next window.
    page.focus('#window button[data-window="5m"]')
    page.keyboard.press("ArrowRight")
    wait_for_window(page, "1h")
    page.wait_for_function(EVERY_CHART_HAS_POINTS)

    page.click('#window button[data-window="24h"]')
    wait_for_window(page, "24h")
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    assert page.evaluate(CPU_IN_ORDER)
    # Live samples keep coming into the 24 h charts, merged into buckets (a few points only).
    before = page.evaluate(f"() => {LAST_X}")
    page.wait_for_function(f"() => {LAST_X} > {before}", polling=250)
    lengths = page.evaluate("""() => [...document.querySelectorAll(".plot")]
        .flatMap((gd) => gd.data.map((t) => t.x.length))""")
    assert max(lengths) <= 1_500, lengths
    assert page.evaluate("() => localStorage.getItem('dashboard.window')") == "24h"

    page.reload()
    page.wait_for_selector('#connection[data-state="connected"]')
    wait_for_window(page, "24h")
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    watched.assert_no_errors()


def test_time_window_from_the_url_wins_and_quick_changes_end_on_the_last(server_factory, watched):
    server = server_factory(settings="", async_mode="threading")
    page = watched.page
    page.goto(server.url + "/")
    page.evaluate("() => localStorage.setItem('dashboard.window', '1h')")
    page.goto(server.url + "/?window=7d")
    page.wait_for_selector('#connection[data-state="connected"]')
    wait_for_window(page, "7d")
    page.wait_for_function(EVERY_CHART_HAS_POINTS)

    # Clicks faster than the acks come back: only the last window's history may be drawn.
    for key in ("24h", "1h", "7d", "5m"):
        page.click(f'#window button[data-window="{key}"]')
    wait_for_window(page, "5m")
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    page.wait_for_timeout(1_000)  # a stale ack would show by now
    assert abs(page.evaluate(CPU_SPAN) - 300) < 3
    assert page.evaluate(CPU_IN_ORDER)
    first = page.evaluate("""() => Math.min(...document.getElementById("chart-cpu-pct").data
        .filter((t) => t.x.length).map((t) => +new Date(t.x[0])))""")
    start = page.evaluate("""() => +new Date(
        document.getElementById("chart-cpu-pct").layout.xaxis.range[0])""")
    assert first >= start - 5_000, (first, start)
    # The URL keeps in step with the choice, so a reload shows the same window.
    assert page.url.endswith("/?window=5m"), page.url
    watched.assert_no_errors()


def wait_until(page: Page, done: Callable[[], bool], what: str) -> None:
    """Poll a Python-side condition (fed by page events) for up to WAIT_MS; the page keeps
    processing its events while it waits."""
    waits.wait_until(done, what, WAIT_MS / 1000, 0.1, lambda s: page.wait_for_timeout(s * 1000))


def test_a_late_ack_for_an_older_window_is_ignored(server_factory, watched):
    """The /cpu ack for 24 h is held back until after the 5 min one: it must change nothing."""
    server = server_factory(settings="", async_mode="threading")
    page = watched.page
    held: list[tuple[WebSocketRoute, str]] = []
    slow_ids: set[int] = set()
    passed_ids: list[int] = []  # /cpu acks let through
    samples: list[str] = []  # /cpu samples seen on the websocket (polling comes first)

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            asked = re.match(r'42/cpu,(\d+)\["subscribe",\{"history":86400\b', str(message))
            if asked:
                slow_ids.add(int(asked.group(1)))
            upstream.send(message)

        def from_server(message: str | bytes) -> None:
            text = str(message)
            if text.startswith('42/cpu,["sample"'):
                samples.append(text)
            ack = re.match(r"43/cpu,(\d+)\[", text)
            if ack and int(ack.group(1)) in slow_ids:
                held.append((ws, text))
                return
            if ack:
                passed_ids.append(int(ack.group(1)))
            ws.send(message)

        ws.on_message(from_page)
        upstream.on_message(from_server)

    page.route_web_socket(re.compile(r"/socket\.io/"), route)
    page = open_dashboard(watched, server.url)
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    wait_until(page, lambda: bool(samples), "the client moved from polling to the websocket")
    page.click('#window button[data-window="24h"]')
    wait_until(page, lambda: len(held) == 1, "the /cpu answer for 24 h was held back")
    page.click('#window button[data-window="5m"]')
    slow = max(slow_ids)
    wait_until(page, lambda: any(i > slow for i in passed_ids), "/cpu answered for 5 min")
    wait_for_window(page, "5m")
    ws, stale = held[0]
    ws.send(stale)  # the 24 h answer arrives last
    page.wait_for_timeout(1_500)
    assert abs(page.evaluate(CPU_SPAN) - 300) < 3
    assert page.evaluate(CPU_IN_ORDER)
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    watched.assert_no_errors()


def test_corrupt_history_file_shows_a_banner_and_charts_run_live(server_factory, watched, tmp_path):
    (tmp_path / "corrupt.sqlite3").write_bytes(b"not a database" * 300)
    server = server_factory(settings='[history]\npath = "corrupt.sqlite3"\n')
    assert server.get_json("/healthz")["history"]["state"] == "degraded"
    page = open_dashboard(watched, server.url)

    banner = page.wait_for_selector("#history-banner:not([hidden])")
    assert banner.get_attribute("role") == "alert"
    text = banner.text_content()
    assert "History is not being saved" in text, text
    assert "corrupt.sqlite3 is corrupt" in text, text
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    before = page.evaluate(f"() => {LAST_X}")
    page.wait_for_function(f"() => {LAST_X} > {before}", polling=250)
    watched.assert_no_errors()


PLUGIN = """
from collectors import Collector, Series


class Answer(Collector):
    name = "answer"
    interval = 1.0

    def describe(self):
        return [Series("answer.value", "things", "The answer")]

    def collect(self):
        return {"answer.value": 42.0}


class Raiser(Collector):
    name = "raiser"
    interval = 1.0

    def describe(self):
        return [Series("raiser.value", "things")]

    def collect(self):
        raise RuntimeError("the device is gone")
"""


def test_a_plugin_gets_its_chart_and_broken_ones_show_as_errors(server_factory, watched, tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "mine.py").write_text(PLUGIN)
    (folder / "broken.py").write_text("raise ImportError('needs libfoo')\n")
    server = server_factory(settings=f'[plugins]\npaths = ["{folder}"]\n')
    page = open_dashboard(watched, server.url)

    page.wait_for_function("""() => {
        const gd = document.getElementById("chart-answer-things");
        return gd && gd.data.some((t) => t.y.length > 1 && t.y.at(-1) === 42);
    }""")
    banner = page.wait_for_selector("#plugin-banner:not([hidden])")
    text = banner.text_content()
    assert "Plugins not loaded" in text and "broken (file" in text and "needs libfoo" in text
    page.wait_for_selector('.health-chip[data-collector="raiser"].is-failing')
    alert = page.wait_for_selector('.card[data-collector="raiser"] .card-alert:not([hidden])')
    assert "the device is gone" in alert.text_content()
    page.wait_for_function(
        EVERY_CHART_HAS_POINTS.replace(".plot", ".plot:not([data-collector=raiser])")
    )
    before = page.evaluate(f"() => {LAST_X}")
    page.wait_for_function(f"() => {LAST_X} > {before}", polling=250)  # the rest moves on
    watched.assert_no_errors()
