"""The page's config JSON carries the server's constants, and the window picker is built from
the same windows: nothing in static/js is a hand-made copy of them."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

from collectors.cgroups.collector import TABLE as CGROUP_TABLE
from collectors.processes import SORTS
from collectors.tables import MAX_LIMIT
from dashboard import create_app
from dashboard.history.rollup import NICE_STEPS
from dashboard.history.tiers import DEFAULT_MAX_POINTS
from dashboard.history.window import MEMORY_WINDOW
from dashboard.web.page import DEFAULT_WINDOW, WINDOWS
from dashboard.web.protocol import RANGE_POINTS


class PageParser(HTMLParser):
    """The config block's text and the window picker's buttons, from the page's HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.config_text: list[str] = []
        self.buttons: list[dict[str, str | None]] = []
        self._in_config = False
        self._button: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("id") == "dashboard-config":
            self._in_config = True
        elif tag == "button" and "data-window" in found:
            self._button = {**found, "text": ""}
            self.buttons.append(self._button)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_config = False
        elif tag == "button":
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.config_text.append(data)
        elif self._button is not None:
            self._button["text"] = (self._button["text"] or "") + data


@pytest.fixture
def page() -> PageParser:
    app = create_app({"server": {"async_mode": "threading"}})
    response = app.test_client().get("/")
    assert response.status_code == 200, response.get_data(as_text=True)
    parser = PageParser()
    parser.feed(response.get_data(as_text=True))
    return parser


@pytest.fixture
def config(page: PageParser) -> dict[str, Any]:
    assert page.config_text, "no <script id='dashboard-config'> block in the page"
    parsed: dict[str, Any] = json.loads("".join(page.config_text))
    return parsed


def test_config_keeps_host_and_collectors(config):
    assert isinstance(config["host"], str) and config["host"]
    assert {c["name"] for c in config["collectors"]} >= {"cpu", "memory", "processes"}


def test_config_serves_the_python_constants(config):
    page = config["page"]
    assert page["windows"] == [
        {"key": w.key, "seconds": w.seconds, "label": w.label, "title": w.title} for w in WINDOWS
    ]
    assert page["default_window"] == DEFAULT_WINDOW
    assert page["bucket_steps"] == list(NICE_STEPS)
    assert page["memory_window"] == MEMORY_WINDOW
    assert page["process_sorts"] == list(SORTS)
    assert page["cgroup_sorts"] == list(CGROUP_TABLE.sorts)
    assert page["max_points"] == DEFAULT_MAX_POINTS
    assert page["process_max_limit"] == MAX_LIMIT
    assert page["range_points"] == list(RANGE_POINTS)


def test_windows_are_the_pickers_five_minutes_to_seven_days(config):
    windows = {w["key"]: w["seconds"] for w in config["page"]["windows"]}
    assert windows == {"5m": 300, "1h": 3_600, "24h": 86_400, "7d": 604_800}
    assert config["page"]["default_window"] in windows


def test_one_button_per_window_with_its_key_label_and_title(page, config):
    windows = config["page"]["windows"]
    assert [b["data-window"] for b in page.buttons] == [w["key"] for w in windows]
    for button, window in zip(page.buttons, windows, strict=True):
        assert button["text"].strip() == window["label"]
        assert button["title"] == f"Show {window['title']}"
        pressed = "true" if window["key"] == DEFAULT_WINDOW else "false"
        assert button["aria-pressed"] == pressed
