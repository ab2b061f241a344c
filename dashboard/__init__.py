"""A live operations dashboard: collectors push samples over Socket.IO to plotly charts.

This package imports nothing heavy at import time, so the command line can monkey-patch
for eventlet/gevent before threading or sockets are touched. ``create_app`` is loaded lazily.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from dashboard.web.app import create_app

        return create_app
    raise AttributeError(name)
