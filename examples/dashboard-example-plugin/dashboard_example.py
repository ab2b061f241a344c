"""An example dashboard plugin: how long this host has been up, read from /proc/uptime.

Installed into the dashboard's environment, it is found through the entry point in
pyproject.toml (group ``dashboard.collectors``) and shows up as namespace ``/uptime``, settings
table ``[collectors.uptime]`` and a chart on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors import Collector, Series


class Uptime(Collector):
    """``uptime.days``: time since the host booted, in days.

    Where the data comes from is an option (``path``), so a test points it at a file it wrote
    instead of the real /proc/uptime: inject the data source, don't patch the system.
    """

    name = "uptime"  # namespace /uptime, settings table [collectors.uptime]
    interval = 10.0  # seconds between readings; [collectors.uptime] interval overrides it
    defaults = {"path": "/proc/uptime"}  # each option with its default, which sets its type

    def setup(self, options: Mapping[str, Any]) -> None:
        """Check the options once, at start: a bad value stops here, not in every collect()."""
        super().setup(options)  # unknown keys (with a did-you-mean) and wrong types
        path = self.options["path"]
        if not path.startswith("/"):
            raise ValueError(f"option 'path' = {path!r}: expected an absolute path")
        if not Path(path).is_file():
            raise ValueError(f"option 'path' = {path!r}: no such file")

    def describe(self) -> list[Series]:
        """Every series collect() may return: stable name, unit (one chart per unit), label."""
        return [Series("uptime.days", "days", "Time since boot")]

    def collect(self) -> dict[str, float]:
        """One reading. Runs in a worker thread with a timeout, so blocking I/O is fine; an
        exception counts as a failure of this collector (shown, then retried with backoff)."""
        seconds = float(Path(self.options["path"]).read_text(encoding="ascii").split()[0])
        return {"uptime.days": seconds / 86_400}
