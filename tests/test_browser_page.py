"""What the page costs and how it looks, in real headless Chromium against a real server: a
hidden tab draws nothing and catches up in one redraw, charts out of view are not redrawn
and are whole when scrolled to, quiet charts fold and unfold, a phone gets one column with
no sideways scrolling, and the light theme follows the system and the remembered toggle."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.pageprobe import COUNT_REDRAWS, HIDE_TAB, REDRAWS, Watched, watch

sync_api = pytest.importorskip("playwright.sync_api")
if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT_MS = 15_000
DESK = {"viewport": {"width": 1600, "height": 1000}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3,
         "is_mobile": True, "has_touch": True}  # fmt: skip
# The charts a person at the screen sees, and the newest point (ms) a chart has drawn.
IN_VIEW = """(gd) => { const r = gd.getBoundingClientRect();
  return r.top < innerHeight && r.bottom > 0; }"""
NEWEST_X = "(gd) => Math.max(0, ...gd.data.map((t) => t.x.length ? +t.x.at(-1) : 0))"
# A plugin whose one chart is all zero until the test writes a number into its file.
QUIET_PLUGIN = """
from pathlib import Path
from collectors import Collector, Series

class Quietly(Collector):
    name = "quietly"
    interval = 0.1

    def describe(self):
        return [Series("quietly.eth9.errors_per_s", "errors/s", "eth9 errors"),
                Series("quietly.eth8.errors_per_s", "errors/s", "eth8 errors")]

    def collect(self):
        value = float(Path(__file__).with_name("value").read_text() or 0)
        return {"quietly.eth9.errors_per_s": value, "quietly.eth8.errors_per_s": 0.0}
"""


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Watched]]:
    """``open_page(url, hidden=False, **context_options)``: the dashboard, watched for errors;
    ``hidden`` adds the hidden-tab emulation (tests/pageprobe.py HIDE_TAB)."""
    contexts: list[Any] = []

    def open_(url: str, hidden: bool = False, **options: Any) -> Watched:
        context = browser.new_context(**options)
        contexts.append(context)
        if hidden:
            context.add_init_script(HIDE_TAB)
        seen = watch(context.new_page(), WAIT_MS)
        seen.page.goto(url + "/")
        seen.page.wait_for_selector('#connection[data-state="connected"]')
        wait_for_charts_in_view(seen.page)
        return seen

    yield open_
    for context in contexts:
        context.close()


def wait_for_charts_in_view(page: Page) -> None:
    page.wait_for_function(f"""() => {{
        const seen = [...document.querySelectorAll(".plot")].filter({IN_VIEW});
        return seen.length > 1 && seen.every((gd) => gd.data.some((t) => t.x.length > 1));
    }}""")


def test_a_hidden_tab_draws_nothing_and_catches_up_in_one_redraw(server_factory, open_page):
    server = server_factory(settings='[server]\nasync_mode = "eventlet"\n')
    seen = open_page(server.url, hidden=True, **DESK)
    page = seen.page
    page.evaluate(COUNT_REDRAWS)
    page.evaluate("() => window.__hideTab(true)")
    newest = page.evaluate(f"() => ({NEWEST_X})(document.getElementById('chart-cpu-pct'))")
    seen.wait_for_samples("/cpu", 3)  # three more seconds reach the page; none is drawn
    assert page.evaluate(REDRAWS) == 0
    # Shown: the frame the tab gets first draws each chart in view once (a frame asked for
    # now runs in that same frame, after the page's own).
    per_chart = page.evaluate("""() => { window.__hideTab(false);
        return new Promise((r) => requestAnimationFrame(() => r({ ...window.__redraws }))); }""")
    shown = page.evaluate(f"""() => [...document.querySelectorAll(".plot")]
        .filter({IN_VIEW}).map((gd) => gd.id)""")
    assert shown and all(per_chart[id_] == 1 for id_ in shown), (per_chart, shown)
    caught_up = page.evaluate(f"() => ({NEWEST_X})(document.getElementById('chart-cpu-pct'))")
    assert caught_up >= newest + 2500, "the catch-up redraw shows the samples of the hidden time"
    seen.assert_no_errors()


def test_charts_out_of_view_are_not_redrawn_and_are_whole_when_scrolled_to(
    server_factory, open_page
):
    server = server_factory(settings='[server]\nasync_mode = "eventlet"\n')
    seen = open_page(server.url, **DESK)
    page = seen.page
    page.evaluate(COUNT_REDRAWS)
    below = "document.getElementById('chart-network-errors-per-s')"
    assert not page.evaluate(f"() => ({IN_VIEW})({below})")
    page.wait_for_function("() => window.__redraws['chart-cpu-pct'] >= 3", polling=250)
    assert page.evaluate(f"() => window.__redraws[{below}.id]") == 0
    page.evaluate(f"() => {below}.scrollIntoView({{ block: 'center' }})")
    page.wait_for_function(f"() => window.__redraws[{below}.id] >= 1")
    # Drawn whole: up to the newest sample the page has (a second's slack), not stale.
    drawn = page.evaluate(f"() => ({NEWEST_X})({below})")
    cpu = page.evaluate(f"() => ({NEWEST_X})(document.getElementById('chart-cpu-pct'))")
    assert drawn >= cpu - 1500
    seen.assert_no_errors()


def test_a_quiet_chart_folds_into_one_line_and_unfolds_when_a_value_appears(
    server_factory, open_page, tmp_path: Path
):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "quietly.py").write_text(QUIET_PLUGIN)
    (folder / "value").write_text("0")
    server = server_factory(settings=f'[plugins]\npaths = ["{folder}"]\n')
    seen = open_page(server.url, viewport={"width": 1600, "height": 2400})
    page = seen.page
    card = page.wait_for_selector('.chart-card.is-quiet[data-collector="quietly"]')
    line = card.query_selector(".quiet-line")
    assert line is not None and line.is_visible()
    assert line.text_content().startswith("eth9, eth8: no errors in ")
    assert card.bounding_box()["height"] < 120, "folded into a line, not a chart's height"
    (folder / "value").write_text("5")
    page.wait_for_selector('.chart-card[data-collector="quietly"]:not(.is-quiet)')
    page.wait_for_function("""() => {
        const gd = document.querySelector('.plot[data-collector="quietly"]');
        return gd.data[0].y.includes(5) && gd.getBoundingClientRect().height > 100; }""")
    assert not line.is_visible()
    seen.assert_no_errors()


def test_a_phone_gets_one_column_with_no_sideways_scrolling(server_factory, open_page):
    server = server_factory(settings='[server]\nasync_mode = "eventlet"\n')
    seen = open_page(server.url, **PHONE)
    page = seen.page
    width = page.evaluate("() => innerWidth")
    assert width == 390
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    lefts = page.evaluate("""() => [...document.querySelectorAll("#charts > .card")]
        .map((c) => Math.round(c.getBoundingClientRect().left))""")
    assert len(set(lefts)) == 1, f"one column: every card starts at the same x, got {lefts}"
    page.click("#theme-toggle")  # the top bar's controls stay within the screen too
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    seen.assert_no_errors()


def swipe(cdp: Any, page: Page, start: list[tuple[float, float]], end: list[tuple[float, float]]):
    """A touch gesture through the DevTools protocol: fingers from ``start`` to ``end``."""
    points = lambda f: [{"x": x0 + (x1 - x0) * f, "y": y0 + (y1 - y0) * f}  # noqa: E731
                        for (x0, y0), (x1, y1) in zip(start, end, strict=True)]  # fmt: skip
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(0)})
    for step in range(1, 9):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(step / 8)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")


def test_on_a_phone_a_swipe_scrolls_and_a_sideways_one_zooms_every_chart(server_factory, open_page):
    server = server_factory(settings='[server]\nasync_mode = "eventlet"\n')
    seen = open_page(server.url, **PHONE)
    page = seen.page
    cdp = page.context.new_cdp_session(page)
    area = "() => { const r = document.querySelector('#chart-cpu-pct .nsewdrag')"
    area += ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }"
    left, top, width, height = page.evaluate(area)
    middle = top + height / 2
    swipe(cdp, page, [(left + width / 2, middle + 60)], [(left + width / 2, middle - 140)])
    page.wait_for_function("() => scrollY > 100")  # a swipe over a chart moves the page
    assert "from=" not in page.url
    page.evaluate("() => window.scrollTo(0, 0)")
    left, top, width, height = page.evaluate(area)
    middle = top + height / 2
    live = page.evaluate("() => document.getElementById('chart-cpu-pct').layout.xaxis.range"
                         ".map((d) => +new Date(d))")  # fmt: skip
    swipe(cdp, page, [(left + width * 0.3, middle)], [(left + width * 0.8, middle)])
    page.wait_for_function("() => location.search.includes('from=')")
    ranges = page.evaluate("""() => [...document.querySelectorAll(".plot")]
        .map((gd) => gd.layout.xaxis.range.map((d) => +new Date(d)))""")
    start, end = ranges[0]
    assert all(r == [start, end] for r in ranges), "every chart shows the swept span"
    span = live[1] - live[0]
    assert abs((start - live[0]) - 0.3 * span) < 0.05 * span
    assert abs((end - start) - 0.5 * span) < 0.05 * span
    swipe(cdp, page, [(left + width * 0.3, middle - 20), (left + width * 0.4, middle + 20)],
          [(left + width * 0.6, middle - 20), (left + width * 0.7, middle + 20)])  # fmt: skip
    page.wait_for_function(f"""() => +new Date(document.getElementById('chart-cpu-pct')
        .layout.xaxis.range[0]) < {start - 0.2 * (end - start)}""")  # two fingers pan back
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    seen.assert_no_errors()


def background(page: Page) -> str:
    return page.evaluate("() => getComputedStyle(document.body).backgroundColor")


def test_the_theme_follows_the_system_until_the_toggle_chooses_and_remembers(
    server_factory, open_page
):
    server = server_factory(settings='[server]\nasync_mode = "eventlet"\n')
    seen = open_page(server.url, color_scheme="light", **DESK)
    page = seen.page
    assert background(page) == "rgb(244, 246, 249)"
    axis_text = "() => getComputedStyle(document.querySelector('#chart-cpu-pct .ytick text')).fill"
    assert page.evaluate(axis_text) == "rgb(83, 96, 115)", "the charts take the light colours"
    page.click("#theme-toggle")
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    assert background(page) == "rgb(10, 14, 21)"
    page.wait_for_function(f"() => {axis_text}() === 'rgb(147, 160, 180)'")
    page.reload()
    page.wait_for_selector('#connection[data-state="connected"]')
    assert background(page) == "rgb(10, 14, 21)", "the choice is remembered over the system's"
    assert page.get_attribute("#theme-toggle", "aria-label") == "Switch to the light theme"
    seen.assert_no_errors()
