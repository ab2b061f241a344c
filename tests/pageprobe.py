"""What the browser tests and bench/page.py look at in the page: its errors and requests
(Watched), every chart redraw (COUNT_REDRAWS) and a hidden tab (HIDE_TAB)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

PLOTS = "[...document.querySelectorAll('.plot')]"
# Every chart fires plotly_afterplot once per redraw: a count per chart, by its element id.
COUNT_REDRAWS = f"""() => {{
  window.__redraws = {{}};
  for (const gd of {PLOTS}) {{
    window.__redraws[gd.id] = 0;
    gd.on("plotly_afterplot", () => {{ window.__redraws[gd.id] += 1; }});
  }}
}}"""
REDRAWS = "() => Object.values(window.__redraws).reduce((a, b) => a + b, 0)"
# Headless Chromium keeps every tab "visible" (no DevTools call hides one), so a hidden tab is
# made the way Chromium treats one: document.visibilityState "hidden", a visibilitychange
# event, and no animation frames until it is shown again. (Timers are not throttled as a real
# hidden tab's are: a busy figure measured so is an upper bound.) Add it as an init script;
# then window.__hideTab(true | false).
HIDE_TAB = """(() => {
  let hidden = false;
  let held = [];
  const raf = window.requestAnimationFrame.bind(window);
  const caf = window.cancelAnimationFrame.bind(window);
  for (const [name, value] of [["visibilityState", () => hidden ? "hidden" : "visible"],
                               ["hidden", () => hidden]]) {
    Object.defineProperty(Document.prototype, name, { configurable: true, get: value });
  }
  window.requestAnimationFrame = (cb) => {
    if (!hidden) return raf(cb);
    held.push(cb);
    return -held.length;
  };
  window.cancelAnimationFrame = (id) => (id < 0 ? (held[-id - 1] = null) : caf(id));
  window.__hideTab = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
    if (!value) {
      const due = held.filter(Boolean);
      held = [];
      raf((t) => due.forEach((cb) => cb(t)));
    }
  };
})()"""


@dataclass
class Watched:
    """A page plus everything it logged as an error and every URL it asked for."""

    page: Page
    errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    samples: dict[str, int] = field(default_factory=dict)  # sample frames per namespace
    # Called with (namespace, the sample's payload) for every sample frame, as it arrives.
    on_sample: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)

    def wait_for_samples(self, namespace: str, count: int, timeout_s: float = 15.0) -> None:
        """Wait until ``count`` more samples of ``namespace`` have reached the page (the
        waits let Playwright deliver the frame events)."""
        target = self.samples.get(namespace, 0) + count
        for _ in range(int(timeout_s * 10)):
            if self.samples.get(namespace, 0) >= target:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"{count} samples of {namespace} did not arrive in {timeout_s} s")

    def assert_no_errors(self, allowed: re.Pattern[str] | None = None) -> None:
        unexpected = [e for e in self.errors if allowed is None or not allowed.search(e)]
        assert not unexpected, "errors in the page:\n" + "\n".join(unexpected)


def watch(page: Page, timeout_ms: float) -> Watched:
    """Record what ``page`` logs as an error and every URL it asks for."""
    page.set_default_timeout(timeout_ms)
    seen = Watched(page)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            seen.errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.errors.append(f"pageerror: {exc}"))
    page.on("request", lambda request: seen.urls.append(request.url))
    page.on("websocket", lambda ws: on_socket(seen, ws))
    return seen


def on_socket(seen: Watched, ws: Any) -> None:
    seen.urls.append(ws.url)

    def on_frame(payload: str | bytes) -> None:
        # A Socket.IO event frame: 42/<namespace>,["sample",{...}]
        text = payload if isinstance(payload, str) else payload.decode(errors="replace")
        if text.startswith("42/") and '["sample"' in text[:80]:
            namespace = text[2 : text.index(",")]
            seen.samples[namespace] = seen.samples.get(namespace, 0) + 1
            if seen.on_sample:
                sample = json.loads(text[text.index(",") + 1 :])[1]
                for listener in seen.on_sample:
                    listener(namespace, sample)

    ws.on("framereceived", on_frame)
