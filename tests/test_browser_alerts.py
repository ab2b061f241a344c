"""Alerts on the page, in real headless Chromium against a real server and its engine: a rule
fires (the fill plugin of test_alerts_web at 95 %), the badge shows the count in red, the
panel lists the alert and opens its chart, the chart carries the thresholds as dashed lines,
the server's start as a dotted mark and the firing period as a band, and a silence made from
the page is in GET /api/silences."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.serverproc import stop_all
from tests.test_alerts_web import TOKEN, Live, start_filled
from tests.waits import wait_until

sync_api = pytest.importorskip("playwright.sync_api")
if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT_MS = 20_000
# The fill chart's shapes: what alertsdata.chartOverlay drew, as plotly holds them.
SHAPES = """() => (document.getElementById("chart-fill-pct")?.layout?.shapes || [])
    .map((s) => ({ name: s.name, type: s.type, y0: s.y0, dash: s.line?.dash,
                   x0: s.x0, x1: s.x1, yref: s.yref }))"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    live = start_filled(tmp_path_factory.mktemp("alerts-page"))
    yield live
    stop_all([live.server])


@pytest.fixture
def page(browser: Browser, live: Live) -> Iterator[Page]:
    # Tall enough to show every chart: the page draws only the charts in view
    # (test_browser_page.py tests that), and these tests read every chart's points.
    context = browser.new_context(viewport={"width": 1600, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(f"console: {msg.text}")

    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", on_console)
    page.goto(live.server.url + "/login")
    page.fill('input[name="token"]', TOKEN)
    page.click('button[type="submit"]')
    page.wait_for_selector('#connection[data-state="connected"]')
    yield page
    context.close()
    assert not errors, "errors in the page:\n" + "\n".join(errors)


def test_a_firing_rule_on_the_page_and_a_silence_made_there(live, page):
    live.fill(10)
    wait_until(lambda: live.state() in (None, "ok"), "the fill rule at rest", 20)
    page.wait_for_function(f"() => ({SHAPES})().some((s) => s.name === 'threshold fill crit')")
    assert page.is_hidden("#alerts-badge"), "nothing fires: no badge"
    lines = {s["name"]: (s["y0"], s["dash"]) for s in page.evaluate(SHAPES)}
    assert lines["threshold fill crit"] == (90, "dash")
    assert lines["threshold fill warn"] == (80, "dash")
    started = live.get("/api/alerts")[1]["restarts"][-1]
    restart = next(s for s in page.evaluate(SHAPES) if s["name"] == "restart")
    assert (restart["x0"], restart["dash"], restart["yref"]) == (started * 1000, "dot", "paper")

    live.fill(95)
    page.wait_for_selector('#alerts-badge[data-level="critical"]:not([hidden])')
    assert page.inner_text("#alerts-badge .alerts-count") == "1"
    page.wait_for_function(f"() => ({SHAPES})().some((s) => s.type === 'rect')")
    band = next(s for s in page.evaluate(SHAPES) if s["type"] == "rect")
    assert band["name"] == "firing fill fill.used_percent" and band["yref"] == "paper"
    assert band["x1"] > band["x0"], "open-ended: still firing"

    page.click("#alerts-badge")
    item = page.locator('#alerts-panel [data-group="firing"] .alert-item[data-state="critical"]')
    assert "fill" in item.locator(".alert-rule").inner_text()
    assert "fill.used_percent" in item.locator(".alert-where").inner_text()
    rule, host, series = (item.get_attribute("data-key") or "").split("\x00")
    item.locator(".alert-open").click()
    page.wait_for_selector(".chart-card.is-highlighted #chart-fill-pct")
    assert page.is_hidden("#alerts-panel"), "the panel makes way for the chart"

    page.click("#alerts-badge")
    item.locator(".alert-silence").click()
    form = item.locator(".silence-form")
    form.locator('select[name="duration"]').select_option("14400")
    comment = form.locator('input[name="comment"]')
    form.locator(".silence-submit").click()
    assert comment.evaluate("(input) => !input.validity.valid"), "a comment is required"
    comment.fill("   ")
    form.locator(".silence-submit").click()
    assert "Say why" in form.locator(".form-error").inner_text(), "blanks are no comment"
    comment.fill("filling the disk on purpose")
    form.locator(".silence-submit").click()

    def made() -> dict[str, Any] | None:
        silences = live.get("/api/silences")[1]["silences"]
        return next((s for s in silences if s["comment"] == "filling the disk on purpose"), None)

    silence = wait_until(made, "the page's silence in GET /api/silences")
    assert (rule, series) == ("fill", "fill.used_percent")
    assert silence["matchers"] == {"rule": rule, "host": host, "series": series}
    assert 4 * 3600 - 60 < silence["ends"] - silence["created"] < 4 * 3600 + 60
    page.wait_for_selector('#alerts-panel [data-group="silenced"] .alert-item')
    page.wait_for_selector(f'.silence-item[data-id="{silence["id"]}"]')
    page.wait_for_selector('#alerts-badge[data-level="quiet"]')
