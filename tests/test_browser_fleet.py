"""The page under scale-out, in real headless Chromium against real processes: a Redis, agents
with their own host names and a web process. The fleet overview lists every host with its
values and sparklines; a row opens that host's dashboard; the picker switches host; an agent
that stops turns stale; one host and a bare URL show its dashboard as before; a queue that
goes away shows a banner; fifty hosts stay readable."""

from __future__ import annotations

import multiprocessing as mp
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from tests.fleetsim import host_name, publish
from tests.test_fleet import hosts_of, web_settings

sync_api = pytest.importorskip("playwright.sync_api")
if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, WebSocket

    from tests.serverproc import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.server]  # it starts servers too

WAIT_MS = 20_000
STALE_MS = 45_000  # a host is stale 10 s after its last sample; the page hears within seconds
HOSTS = ("alpha", "beta")

EVERY_CHART_HAS_POINTS = """() => {
    const plots = [...document.querySelectorAll("#charts .plot")];
    return plots.length > 0 && plots.every(
        (gd) => Array.isArray(gd.data) && gd.data.some((trace) => trace.x.length > 0));
}"""
CPU_HAS_POINTS = """() => {
    const gd = document.getElementById("chart-cpu-pct");
    return Boolean(gd?.data) && gd.data.some((trace) => trace.x.length > 1);
}"""
# Each row's host, stale mark and the text and sparkline of every metric cell.
ROWS = """() => [...document.querySelectorAll("#fleet tbody tr")].map((tr) => ({
    host: tr.dataset.host, stale: tr.dataset.stale, tabIndex: tr.tabIndex,
    seen: tr.querySelector(".fleet-seen").textContent,
    cells: Object.fromEntries([...tr.querySelectorAll("td")].map((td) => [
        td.className.match(/col-(\\w+)$/)[1],
        { value: td.querySelector(".metric-value").textContent,
          line: td.querySelector(".spark-line").getAttribute("d") || "",
          // how many distinct points the line goes through (x positions)
          points: new Set((td.querySelector(".spark-line").getAttribute("d") || "")
            .match(/[ML][\\d.]+/g)?.map((s) => s.slice(1)) || []).size }])),
}))"""


def agent_settings(url: str, host: str) -> str:
    """An agent with every default collector (tests/test_fleet.py's leaves two out), the
    filesystem sampled often so the overview has its fullest one soon."""
    return (
        f'[queue]\nurl = "{url}"\n[agent]\nhost = "{host}"\n'
        f'[history]\npath = "{host}.sqlite3"\nflush_interval = "1s"\n'
        "[collectors.filesystem]\ninterval = 2.0\n"
    )


@dataclass
class Watched:
    """A page, everything it logged as an error, and every Socket.IO frame it sent."""

    page: Page
    errors: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    def assert_no_errors(self) -> None:
        assert not self.errors, "errors in the page:\n" + "\n".join(self.errors)

    def subscribes(self, namespace: str) -> list[str]:
        """The payloads of every ``subscribe`` sent on a namespace, oldest first."""
        found = (re.match(rf'42{namespace},\d+\["subscribe",?(.*)\]$', f) for f in self.sent)
        return [m.group(1) for m in found if m]


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    # Tall enough to show every chart: the page draws only the charts in view
    # (test_browser_page.py tests that), and these tests read every chart's points.
    context = browser.new_context(viewport={"width": 1600, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    seen = Watched(page)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            seen.errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

    def on_websocket(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: seen.sent.append(str(payload)))

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.errors.append(f"pageerror: {exc}"))
    page.on("websocket", on_websocket)
    yield seen
    context.close()


@dataclass
class Fleet:
    web: ServerProcess
    agents: dict[str, ServerProcess]


def start_fleet(server_factory, redis_server, wait_until, hosts: tuple[str, ...]) -> Fleet:
    """A Redis, an agent per host (started in reverse name order: rows sort by name anyway)
    and one web process that knows every host's cpu."""
    redis = redis_server()
    agents = {
        host: server_factory(agent_settings(redis.url, host), command="agent", name=host)
        for host in sorted(hosts, reverse=True)
    }
    web = server_factory(web_settings(redis.url, "web"), name="web")
    wait_until(lambda: hosts_of(web) == set(hosts), f"the web process to serve {hosts}", 40)
    return Fleet(web, agents)


@pytest.fixture
def fleet(server_factory, redis_server, wait_until) -> Fleet:
    return start_fleet(server_factory, redis_server, wait_until, HOSTS)


def open_page(watched: Watched, url: str) -> Page:
    page = watched.page
    page.goto(url)
    page.wait_for_selector('#connection[data-state="connected"]')
    return page


def wait_for_rows_with_sparklines(page: Page) -> list[dict]:
    """Every row shows its cpu, memory, load and network values, each with a line drawn
    through two points or more."""
    page.wait_for_function(f"""() => {{
        const rows = ({ROWS})();
        return rows.length > 0 && rows.every((r) => ["cpu", "memory", "load", "net_in"]
            .every((k) => r.cells[k].value !== "—" && r.cells[k].points >= 2));
    }}""")
    rows: list[dict] = page.evaluate(ROWS)
    return rows


def test_the_overview_lists_every_host_with_values_and_sparklines(fleet, watched):
    page = open_page(watched, fleet.web.url + "/")
    page.wait_for_selector("#fleet:not([hidden])")
    assert page.is_hidden("#charts") and page.is_hidden("#window")
    rows = wait_for_rows_with_sparklines(page)
    assert [r["host"] for r in rows] == ["alpha", "beta"]
    for row in rows:
        assert row["stale"] == "false" and row["seen"] == "" and row["tabIndex"] == 0, row
        cells = row["cells"]
        assert set(cells) == {"cpu", "memory", "load", "filesystem", "net_in", "net_out"}
        assert re.fullmatch(r"\d+(\.\d)? %", cells["cpu"]["value"]), cells["cpu"]
        assert re.fullmatch(r"\d+(\.\d)? %", cells["memory"]["value"]), cells["memory"]
        assert re.fullmatch(r"\d+(\.\d+)?", cells["load"]["value"]), cells["load"]
        assert re.fullmatch(r"[\d.]+ (B|KiB|MiB|GiB)/s", cells["net_in"]["value"]), cells
    # The fullest filesystem, with its mount (sampled every 2 s here).
    page.wait_for_function("""() => [...document.querySelectorAll("#fleet .col-filesystem")]
        .filter((td) => td.tagName === "TD")
        .every((td) => /%$/.test(td.querySelector(".metric-value").textContent)
            && td.querySelector(".metric-note").textContent.startsWith("/"))""")
    assert page.text_content("#fleet .fleet-count") == "2 hosts"
    assert page.text_content("#host") == "All hosts"
    assert "fleet" in page.title()
    # The sparklines move: a new point comes within seconds.
    before = page.get_attribute('tr[data-host="alpha"] .col-cpu .spark-line', "d")
    page.wait_for_function(f"""() => document.querySelector(
        'tr[data-host="alpha"] .col-cpu .spark-line').getAttribute("d") !== {before!r}""")
    # The picker lists both, the overview first.
    options = page.locator("#host-picker option").evaluate_all("(os) => os.map((o) => o.value)")
    assert options == ["", "alpha", "beta"]
    watched.assert_no_errors()


def test_a_row_opens_its_dashboard_and_the_picker_switches_host(fleet, watched):
    page = open_page(watched, fleet.web.url + "/?window=5m")
    wait_for_rows_with_sparklines(page)

    page.click('tr[data-host="alpha"]')
    page.wait_for_url(re.compile(r"\?window=5m&host=alpha$"))
    assert page.text_content("#host") == "alpha" and "alpha" in page.title()
    page.wait_for_selector("#charts:not([hidden])")
    assert page.is_hidden("#fleet")
    page.wait_for_function(CPU_HAS_POINTS)
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    page.wait_for_selector("#processes table[data-state='live'] tbody tr[data-pid]")
    assert all('"host":"alpha"' in s for s in watched.subscribes("/cpu")), watched.sent
    assert page.input_value("#host-picker") == "alpha"

    switched_at = len(watched.sent)
    page.select_option("#host-picker", "beta")
    page.wait_for_url(re.compile(r"\?window=5m&host=beta$"))
    assert page.text_content("#host") == "beta"
    page.wait_for_function(CPU_HAS_POINTS)
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    after = watched.sent[switched_at:]
    for namespace in ("/cpu", "/memory", "/network"):
        assert any(f.startswith(f"42{namespace},") and "unsubscribe" in f for f in after), after
        assert any(
            f.startswith(f"42{namespace},") and '"host":"beta"' in f and "subscribe" in f
            for f in after
        ), after
    # One set of cards: the old host's were taken down.
    assert page.locator("#chart-cpu-pct").count() == 1
    assert page.locator("#processes").count() == 1

    # Back to the overview by the link, then into beta by keyboard.
    page.click("#fleet-link")
    page.wait_for_selector("#fleet:not([hidden])")
    assert "host=" not in page.url and "window=5m" in page.url
    assert page.locator("#charts .card").count() == 0
    page.focus('tr[data-host="beta"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"host=beta$"))
    page.wait_for_function(CPU_HAS_POINTS)
    # The browser's Back returns to the overview.
    page.go_back()
    page.wait_for_selector("#fleet:not([hidden])")
    assert page.text_content("#host") == "All hosts"
    watched.assert_no_errors()


def test_a_stopped_agent_turns_stale_with_when_it_was_last_seen(fleet, watched):
    page = open_page(watched, fleet.web.url + "/")
    wait_for_rows_with_sparklines(page)

    assert fleet.agents["beta"].stop() == 0
    page.wait_for_selector('tr[data-host="beta"][data-stale="true"]', timeout=STALE_MS)
    row = page.locator('tr[data-host="beta"]')
    assert row.locator(".stale-badge").is_visible()
    assert re.fullmatch(r"last seen \d+ s ago", row.locator(".fleet-seen").text_content())
    assert "is-stale" in (row.get_attribute("class") or "")
    assert page.get_attribute('tr[data-host="alpha"]', "data-stale") == "false"
    count = "#fleet .fleet-count"
    page.wait_for_function(f"""() => document.querySelector("{count}").textContent
        === "2 hosts · 1 stale" """)
    assert page.text_content('#host-picker option[value="beta"]') == "beta (stale)"
    # alpha keeps moving while beta's line stays where its data stopped.
    frozen = page.get_attribute('tr[data-host="beta"] .col-cpu .spark-line', "d")
    moving = page.get_attribute('tr[data-host="alpha"] .col-cpu .spark-line', "d")
    page.wait_for_function(f"""() => document.querySelector(
        'tr[data-host="alpha"] .col-cpu .spark-line').getAttribute("d") !== {moving!r}""")
    assert page.get_attribute('tr[data-host="beta"] .col-cpu .spark-line', "d") == frozen

    # Its own dashboard says so in the header.
    page.click('tr[data-host="beta"]')
    page.wait_for_url(re.compile(r"host=beta$"))
    page.wait_for_selector("#host-stale:not([hidden])")
    assert page.text_content("#host-seen").startswith("last seen ")
    page.wait_for_function(CPU_HAS_POINTS)  # its history is still there to see
    # Process rows are snapshots with no history: the table says it waits, not a bare header.
    assert page.text_content("#processes tbody") == "Waiting for the first sample…"
    page.select_option("#host-picker", "alpha")
    page.wait_for_url(re.compile(r"host=alpha$"))
    page.wait_for_selector("#host-stale", state="hidden")
    watched.assert_no_errors()


def test_one_host_and_a_bare_url_show_its_dashboard_as_before(
    server_factory, redis_server, wait_until, watched
):
    fleet = start_fleet(server_factory, redis_server, wait_until, ("alpha",))
    page = open_page(watched, fleet.web.url + "/")
    page.wait_for_function(CPU_HAS_POINTS)
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    assert page.text_content("#host") == "alpha" and "alpha" in page.title()
    assert page.url == fleet.web.url + "/"  # the address is left as it was
    assert page.is_hidden("#host-nav") and page.is_hidden("#fleet")
    assert page.is_visible("#window")
    page.click('#window button[data-window="1h"]')
    page.wait_for_selector('#window button[data-window="1h"][aria-pressed="true"]')
    page.wait_for_function(EVERY_CHART_HAS_POINTS)
    # Every collector's subscribe names the host (/alerts and /fleet serve every host).
    collectors = [
        f
        for f in watched.sent
        if f.startswith("42/") and not f.startswith(("42/alerts,", "42/fleet,"))
    ]
    assert all("subscribe" not in f or "unsubscribe" in f or '"host":"alpha"' in f
               for f in collectors), watched.sent  # fmt: skip
    # ?view=fleet still shows the overview, with its one row.
    page.goto(fleet.web.url + "/?view=fleet")
    page.wait_for_selector('#fleet tr[data-host="alpha"]')
    assert page.is_visible("#host-nav") and page.is_hidden("#fleet-link")
    watched.assert_no_errors()


def test_a_queue_that_goes_away_shows_a_banner(server_factory, redis_server, wait_until, watched):
    redis = redis_server()
    server_factory(agent_settings(redis.url, "alpha"), command="agent", name="alpha")
    web = server_factory(web_settings(redis.url, "web"), name="web")
    wait_until(lambda: hosts_of(web) == {"alpha"}, "the web process to serve alpha", 40)
    page = open_page(watched, web.url + "/")
    page.wait_for_function(CPU_HAS_POINTS)
    assert page.is_hidden("#queue-banner")

    redis.stop(signal.SIGKILL)
    banner = page.wait_for_selector("#queue-banner:not([hidden])", timeout=STALE_MS)
    assert banner.get_attribute("role") == "alert"
    text = banner.text_content() or ""
    assert "Samples from other hosts are not arriving" in text, text
    assert "cannot be reached" in text and "The page shows what this server" in text, text
    redis.start()
    page.wait_for_selector("#queue-banner", state="hidden", timeout=STALE_MS)
    watched.assert_no_errors()


# What makes a row readable: its text's size, the row's height, whether the host name is cut,
# and whether the table fits the screen's width.
LAYOUT = """() => {
    const rows = [...document.querySelectorAll("#fleet tbody tr")];
    const sizes = rows.flatMap((tr) => [...tr.querySelectorAll(".metric-value, .fleet-host")]
        .map((el) => parseFloat(getComputedStyle(el).fontSize)));
    return {
        smallestText: Math.min(...sizes),
        lowestRow: Math.min(...rows.map((tr) => tr.getBoundingClientRect().height)),
        namesCut: rows.filter((tr) => {
            const name = tr.querySelector(".fleet-host");
            return name.scrollWidth > name.clientWidth;
        }).length,
        pageWidth: document.documentElement.scrollWidth,
        screenWidth: window.innerWidth,
    };
}"""


def test_fifty_hosts_stay_readable(server_factory, redis_server, wait_until, watched):
    """The overview at 50 hosts (simulated ones publishing as agents do): a row each, in name
    order, every value and sparkline drawn, no name cut, text of 13 px or more, rows of 24 px
    or more, and nothing wider than the screen."""
    redis = redis_server()
    spawn = mp.get_context("spawn")  # no fork of a process that runs Playwright's threads
    stop, sent = spawn.Event(), spawn.Value("i", 0)
    loader = spawn.Process(target=publish, args=(redis.url, 50, stop, sent), daemon=True)
    loader.start()
    try:
        web = server_factory(web_settings(redis.url, "web"), name="web")
        wait_until(lambda: len(hosts_of(web)) == 50, "fifty hosts known", 40)
        page = open_page(watched, web.url + "/?view=fleet")
        page.wait_for_function("() => document.querySelector('#fleet')?.dataset.hosts === '50'")
        rows = wait_for_rows_with_sparklines(page)
        assert [row["host"] for row in rows] == [host_name(i) for i in range(50)]
        assert page.text_content("#fleet .fleet-count") == "50 hosts"
        layout = page.evaluate(LAYOUT)
        assert layout["smallestText"] >= 13 and layout["lowestRow"] >= 24, layout
        assert layout["namesCut"] == 0 and layout["pageWidth"] <= layout["screenWidth"], layout
        watched.assert_no_errors()
    finally:
        stop.set()
        loader.join(10)
