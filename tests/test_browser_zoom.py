"""Zoom, compare and the snapshot panel in real headless Chromium against a real server,
watched on the wire (the page's websocket frames): a drag zooms every chart and each
collector's ``range`` asks for raw samples; double-click and Live go back to live; the URL's
from/to reopen the zoom (a day-old range comes as rollups with a min–max band); compare
draws the day-earlier window from history as dashed lines; a click opens the process
snapshot nearest that moment, and on a phone that panel fits the screen.

The server opens a history file written beforehand on a clock set a day back: an hour of
``cpu.total = 40 + ts % 10`` around this moment yesterday, so those lines are known."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from tests.serverproc import ServerProcess, make_server, serving
from tests.waits import wait_until

sync_api = pytest.importorskip("playwright.sync_api")
if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, FloatRect, Page, WebSocket

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT_MS = 20_000
DAY = 86_400
WINDOW = 300  # the page's default window (5 min)
CHARTED = ("cpu", "memory", "load", "disk", "filesystem", "network", "processes")
YESTERDAY = time.time() - DAY  # the middle of the hour the history file holds from then
# Every chart's x range, as unix ms.
RANGES = """() => [...document.querySelectorAll(".plot")].map((gd) => ({ id: gd.id,
    range: gd.layout.xaxis.range.map((x) => +new Date(x)) }))"""
CPU = 'document.getElementById("chart-cpu-pct")'
# The cpu chart's traces that are not its series' own (compare lines and bands).
EXTRAS = f"""() => {CPU}.data.filter((t) => !t.meta?.startsWith("cpu.")).map((t) => ({{
    meta: t.meta, dash: t.line?.dash, fill: t.fill, x: t.x.map((x) => +new Date(x)), y: t.y,
    name: t.name }}))"""
CPU_POINTS = f"() => {CPU}?.data?.[0]?.x.length || 0"
T = TypeVar("T")
FRAME = re.compile(r"^4([23])(/[^,\[]*)?,?(\d+)(\[.*\])$", re.S)


def value(ts: float) -> float:
    return 40.0 + ts % 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, aged_history) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("zoom")
    # An hour of cpu samples around this moment a day ago.
    aged_history(folder / "aged.sqlite3", [(int(YESTERDAY) - 1800, 3600)], value)
    settings = (
        '[server]\nasync_mode = "threading"\n'
        '[history]\npath = "aged.sqlite3"\nretention = "1h"\n'
        "[collectors.processes]\ninterval = 1.0\n"
    )
    with serving(make_server(folder, settings)) as made:
        yield made


@dataclass
class Socket:
    """One websocket's Socket.IO frames, sent and received (ack ids count per socket)."""

    sent: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)

    def requests(self, event: str, namespace: str) -> list[tuple[int, dict[str, Any]]]:
        """(ack id, payload) of every `event` sent on `namespace`, in order."""
        found = []
        for match in frames(self.sent, "2", namespace):
            args = json.loads(match[4])
            if args[0] == event:
                found.append((int(match[3]), args[1]))
        return found

    def ack(self, namespace: str, ack_id: int) -> dict[str, Any] | None:
        for match in frames(self.received, "3", namespace):
            if int(match[3]) == ack_id:
                return json.loads(match[4])[0]
        return None


def frames(payloads: list[str], kind: str, namespace: str) -> list[re.Match[str]]:
    """The events ("2") or acks ("3") among `payloads` on `namespace`."""
    matches = [FRAME.match(p) for p in list(payloads)]
    return [m for m in matches if m and m[1] == kind and (m[2] or "/") == namespace]


@dataclass
class Wire:
    """What the page said on its websockets (one a page load), in order."""

    sockets: list[Socket] = field(default_factory=list)

    def watch(self, ws: WebSocket) -> None:
        socket = Socket()
        self.sockets.append(socket)
        ws.on("framesent", lambda payload: socket.sent.append(str(payload)))
        ws.on("framereceived", lambda payload: socket.received.append(str(payload)))

    def requests(self, event: str, namespace: str) -> list[dict[str, Any]]:
        """The payload of every `event` the page sent on `namespace`."""
        return [p for s in self.sockets for _, p in s.requests(event, namespace)]

    def answered(self, event: str, namespace: str, since: int = 0) -> list[tuple[dict, dict]]:
        """(request, ack) pairs of `event` on `namespace` past the first `since` requests."""
        pairs = [
            (payload, socket.ack(namespace, ack_id))
            for socket in self.sockets
            for ack_id, payload in socket.requests(event, namespace)
        ][since:]
        return [(payload, ack) for payload, ack in pairs if ack is not None]


@dataclass
class Watched:
    page: Page
    wire: Wire
    errors: list[str]


@contextmanager
def watching(browser: Browser, **context: Any) -> Iterator[Watched]:
    """A page in a new context, its frames and errors watched; no error may be left."""
    made = browser.new_context(**context)
    page = made.new_page()
    page.set_default_timeout(WAIT_MS)
    seen = Watched(page, Wire(), [])

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            seen.errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.errors.append(f"pageerror: {exc}"))
    page.on("websocket", seen.wire.watch)
    yield seen
    made.close()
    assert not seen.errors, "errors in the page:\n" + "\n".join(seen.errors)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    with watching(browser, viewport={"width": 1600, "height": 1000}) as seen:
        yield seen


def open_page(seen: Watched, url: str, points: int = 20) -> Page:
    """The dashboard at `url`, once the cpu chart has `points` live points."""
    page = seen.page
    page.goto(url)
    page.wait_for_selector('#connection[data-state="connected"]')
    page.wait_for_function(f"() => ({CPU_POINTS})() >= {points}")
    return page


def wait_on(page: Page, condition: Callable[[], T | None], what: str) -> T:
    """wait_until with the page's own waits between tries: its events (the frames) come in
    only while Playwright has control."""
    return wait_until(
        condition, what, WAIT_MS / 1000, 0.1, lambda s: page.wait_for_timeout(s * 1000)
    )


def plot_box(page: Page, chart: str = "chart-cpu-pct") -> FloatRect:
    box = page.locator(f"#{chart} .nsewdrag").bounding_box()
    assert box is not None
    return box


def drag(page: Page, left: float, right: float) -> None:
    """Drag across the cpu chart from `left` to `right` (fractions of its plot's width)."""
    box = plot_box(page)
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * left, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * right, y, steps=6)
    page.mouse.up()


def ranges(page: Page) -> dict[str, list[float]]:
    return {r["id"]: r["range"] for r in page.evaluate(RANGES)}


def zoomed_to(page: Page) -> dict[str, float] | None:
    """The range the URL names (unix s), or None."""
    query = page.evaluate("location.search")
    found = dict(re.findall(r"[?&](from|to)=([^&]+)", query))
    return {"start": float(found["from"]), "end": float(found["to"])} if found else None


def assert_live(page: Page) -> None:
    page.wait_for_selector("#zoom-bar[hidden]", state="attached")
    assert zoomed_to(page) is None
    page.wait_for_function(
        f"() => {{ const [a, b] = {CPU}.layout.xaxis.range.map((x) => +new Date(x));"
        f" return Math.abs(b - a - {WINDOW * 1000}) < 1 && Date.now() - b < 5000; }}"
    )


def test_a_drag_zooms_every_chart_and_each_range_asks_for_raw_samples(server, watched):
    page = open_page(watched, server.url + "/")
    drag(page, 0.9, 0.98)
    page.wait_for_selector("#zoom-bar:not([hidden])")
    shown = ranges(page)
    cpu = shown["chart-cpu-pct"]
    assert cpu[1] - cpu[0] < WINDOW * 1000 * 0.2, "a part of the window"
    assert {tuple(r) for r in shown.values()} == {tuple(cpu)}, shown
    url = zoomed_to(page)
    assert url == pytest.approx({"start": cpu[0] / 1000, "end": cpu[1] / 1000}, abs=0.0015)

    answered = wait_on(
        page, lambda: watched.wire.answered("range", "/cpu"), "the cpu chart's range answered"
    )
    request, ack = answered[-1]
    assert (request["start"], request["end"]) == (url["start"], url["end"])
    width = page.evaluate(f"{CPU}.clientWidth")
    assert request["points"] == min(4000, max(10, width))
    assert (request["end"] - request["start"]) / ack["interval"] <= request["points"]
    assert ack["ok"] and ack["history"]["tier"] == "raw", ack
    stamps = ack["history"]["ts"]
    assert stamps and all(url["start"] < t <= url["end"] for t in stamps)
    page.wait_for_function(f"() => {CPU}.data[0].x.length === {len(stamps)}")
    drawn = page.evaluate(f"{CPU}.data[0].x.map((x) => +new Date(x) / 1000)")
    assert drawn == pytest.approx(stamps, abs=0.001), "every raw sample of the range"
    for name in CHARTED:
        asked = watched.wire.requests("range", f"/{name}")
        assert {(r["start"], r["end"]) for r in asked} == {(url["start"], url["end"])}, name
    before = page.evaluate(f"{CPU}.data[0].x.length")
    updated = page.text_content("#updated")
    page.wait_for_function(f"() => document.getElementById('updated').textContent !== {updated!r}")
    assert page.evaluate(f"{CPU}.data[0].x.length") == before, "live samples leave it be"
    assert ranges(page)["chart-cpu-pct"] == cpu, "nor move the axis"


def test_d_double_click_and_the_live_button_go_back_to_live(server, watched):
    page = open_page(watched, server.url + "/")
    for back in ("double-click", "Live"):
        drag(page, 0.85, 0.95)
        page.wait_for_selector("#zoom-bar:not([hidden])")
        assert zoomed_to(page) is not None
        subscribes = len(watched.wire.requests("subscribe", "/cpu"))
        if back == "Live":
            page.click("#live-button")
        else:
            box = plot_box(page)
            page.mouse.dblclick(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
        assert_live(page)
        again = wait_on(
            page,
            lambda since=subscribes: watched.wire.answered("subscribe", "/cpu", since),
            "a new subscribe",
        )
        assert again[-1][0]["history"] == WINDOW, f"{back}: the whole window's history"
        page.wait_for_function(f"() => {CPU}.data[0].x.length >= 20")


def test_e_the_url_reopens_the_zoom_and_a_day_old_range_comes_with_its_band(server, watched):
    page = open_page(watched, server.url + "/")
    stamps = page.evaluate(f"{CPU}.data[0].x.map((x) => +new Date(x) / 1000)")
    start, end = round(stamps[2] - 0.5, 3), round(stamps[12] + 0.5, 3)
    page.goto(f"{server.url}/?from={start}&to={end}")
    for attempt in ("opened", "reloaded"):
        asked = len(watched.wire.requests("range", "/cpu"))
        if attempt == "reloaded":
            page.reload()
        page.wait_for_selector("#zoom-bar:not([hidden])")
        page.wait_for_function(
            f"() => {{ const r = ({RANGES})(); return r.length >= {len(CHARTED)} && r.every("
            f"(c) => Math.abs(c.range[0] - {start * 1000}) < 1"
            f" && Math.abs(c.range[1] - {end * 1000}) < 1); }}"
        )
        answered = wait_on(
            page, lambda since=asked: watched.wire.answered("range", "/cpu", since), "range"
        )
        assert (answered[-1][0]["start"], answered[-1][0]["end"]) == (start, end), attempt
        assert answered[-1][1]["history"]["tier"] == "raw", attempt
        assert zoomed_to(page) == {"start": start, "end": end}
        page.wait_for_function(f"() => {CPU}.data[0].x.length === 11")

    old_start, old_end = YESTERDAY - 1200, YESTERDAY + 1200
    asked = len(watched.wire.requests("range", "/cpu"))
    page.goto(f"{server.url}/?from={old_start:.3f}&to={old_end:.3f}")
    answered = wait_on(
        page, lambda: watched.wire.answered("range", "/cpu", asked), "the day-old range answered"
    )
    history = answered[-1][1]["history"]
    assert history["tier"] == "rollup" and history["step"] >= 60, "beyond retention"
    assert min(history["min"]["cpu.total"]) == 40 and max(history["max"]["cpu.total"]) == 49
    page.wait_for_function(f"() => ({EXTRAS})().some((t) => t.meta === 'band high')")
    bands = [t for t in page.evaluate(EXTRAS) if t["meta"].startswith("band")]
    low, high = bands[0], bands[1]
    assert (low["meta"], high["meta"], high["fill"]) == ("band low", "band high", "tonexty")
    assert set(low["y"]) == {40} and set(high["y"]) == {49}
    averages = page.evaluate(f"{CPU}.data[0].y")
    assert averages and all(44 <= y <= 45.5 for y in averages), averages


def test_c_compare_draws_yesterdays_window_from_history_as_dashed_lines(server, watched):
    page = open_page(watched, server.url + "/")
    page.select_option("#compare", "86400")

    def compare_lines() -> list[dict[str, Any]]:
        return [t for t in page.evaluate(EXTRAS) if t["meta"].startswith("compare ")]

    lines = wait_on(page, lambda: [t for t in compare_lines() if t["y"]], "compare lines drawn")
    total = next(t for t in lines if t["meta"] == "compare cpu.total")
    assert total["dash"] == "dash" and total["name"].endswith("· 1 day earlier")
    assert all(40 <= y <= 49 for y in total["y"] if y is not None)
    live = ranges(page)["chart-cpu-pct"]
    assert live[0] - 1000 <= total["x"][0] and total["x"][-1] <= live[1] + WINDOW * 500
    request = watched.wire.requests("range", "/cpu")[-1]
    assert request["start"] == pytest.approx(live[0] / 1000 - DAY, abs=5)

    drag(page, 0.3, 0.9)  # three minutes: a few of yesterday's one-minute rollups
    page.wait_for_selector("#zoom-bar:not([hidden])")
    zoom = zoomed_to(page)
    assert zoom is not None

    def moved() -> list[dict[str, Any]]:
        inside = [t for t in compare_lines() if t["meta"] == "compare cpu.total" and t["x"]]
        return [t for t in inside if t["x"][0] >= (zoom["start"] - 61) * 1000]

    total = wait_on(page, moved, "compare lines for the zoomed range")[0]
    assert total["x"][-1] <= (zoom["end"] + 61) * 1000, "a minute's rollup at most past it"
    page.select_option("#compare", "0")
    page.wait_for_function(f"() => ({EXTRAS})().every((t) => !t.meta.startsWith('compare'))")


def click_chart(page: Page, tap: bool = False) -> None:
    """A click (or a tap) on the cpu chart, near its newest points."""
    box = plot_box(page)
    x, y = box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2
    if tap:
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)


def test_b_a_click_shows_the_snapshot_nearest_that_moment(server, watched, sio_client):
    page = open_page(watched, server.url + "/")
    click_chart(page)
    page.wait_for_selector('#snapshot-panel[data-state="shown"]')
    request, ack = wait_on(
        page, lambda: watched.wire.answered("snapshot", "/processes"), "the snapshot answered"
    )[-1]
    clicked = request["ts"]
    points = page.evaluate(f"{CPU}.data[0].x.map((x) => +new Date(x) / 1000)")
    assert min(abs(clicked - t) for t in points) < 1.5, "the moment of a point clicked"
    own = sio_client(server.url, ["/processes"]).call(
        "snapshot",
        {"ts": clicked, "filter": request["filter"]},
        namespace="/processes",
        timeout=10,
    )
    snapshot = own["snapshot"]
    assert ack["snapshot"]["ts"] == snapshot["ts"] and abs(snapshot["ts"] - clicked) < 2
    assert page.get_attribute("#snapshot-panel", "data-ts") == str(snapshot["ts"])
    pids = page.locator("#snapshot-processes tbody tr[data-pid]").evaluate_all(
        "(rows) => rows.map((tr) => Number(tr.dataset.pid))"
    )
    assert pids and pids == [row["pid"] for row in snapshot["rows"]]
    assert page.text_content("#snapshot-panel .snapshot-time")
    assert "the click" in (page.text_content("#snapshot-panel .snapshot-distance") or "")

    previous = snapshot["prev"]
    assert previous is not None, "the server keeps a snapshot a second"
    page.click("#snapshot-panel .snapshot-prev")
    page.wait_for_selector(f'#snapshot-panel[data-ts="{previous}"]')
    page.fill("#snapshot-processes .proc-search", "python")
    page.wait_for_function(
        "() => { const rows = [...document.querySelectorAll("
        "'#snapshot-processes tbody tr[data-pid]')]; return rows.length && rows.every("
        "(tr) => /python/i.test(tr.textContent)); }"
    )
    filtered = watched.wire.requests("snapshot", "/processes")[-1]
    assert filtered["ts"] == previous and filtered["filter"]["match"] == "python"
    page.keyboard.press("Escape")
    page.wait_for_selector("#snapshot-panel", state="hidden")


def test_f_on_a_phone_the_snapshot_panel_fits_the_screen(server, browser):
    phone = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True,
             "device_scale_factor": 2}  # fmt: skip
    with watching(browser, **phone) as seen:
        page = open_page(seen, server.url + "/")
        click_chart(page, tap=True)
        page.wait_for_selector('#snapshot-panel[data-state="shown"]')
        fits = page.evaluate(
            """() => { const box = document.getElementById("snapshot-panel")
                .getBoundingClientRect();
              return { scroll: document.documentElement.scrollWidth, width: innerWidth,
                left: box.left, right: box.right, bottom: box.bottom, height: innerHeight }; }"""
        )
        assert fits["scroll"] <= fits["width"], fits
        assert fits["left"] >= 0 and fits["right"] <= fits["width"], fits
        assert fits["bottom"] <= fits["height"], fits
        steps = page.locator("#snapshot-panel .snapshot-prev").bounding_box()
        assert steps is not None and steps["height"] >= 44, "a button a thumb can hit"
        page.locator("#snapshot-panel .snapshot-close").tap()
        page.wait_for_selector("#snapshot-panel", state="hidden")
