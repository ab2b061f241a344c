"""Where the page's files live, installed or in a source checkout.

A wheel carries ``templates/``, ``static/`` and the socket.io client under
``dashboard/assets/`` (copied there at build time by setup.py); a source checkout uses the
top-level folders and ``node_modules``. plotly.js always comes from the installed plotly.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dashboard.exits import InstallProblem

_PACKAGE = Path(__file__).resolve().parent.parent  # the dashboard package
_INSTALLED = _PACKAGE / "assets"
_CHECKOUT = _PACKAGE.parent
SOCKETIO_DIST = Path("node_modules", "socket.io-client", "dist")


class MissingAsset(InstallProblem):
    """A file the page needs is not installed; the message says how to fix it."""


def folder(kind: str) -> Path:
    """``templates`` or ``static``."""
    installed = _INSTALLED / kind
    return installed if installed.is_dir() else _CHECKOUT / kind


def socketio_client() -> Path:
    """socket.io.min.js from the socket.io-client npm package."""
    for candidate in (_INSTALLED / "vendor", _CHECKOUT / SOCKETIO_DIST):
        path = candidate / "socket.io.min.js"
        if path.is_file():
            return path
    raise MissingAsset(
        "the socket.io browser client is missing: run `npm ci` in the source folder "
        "(it installs socket.io-client from package-lock.json), then reinstall"
    )


def plotly_js() -> Path:
    """plotly.min.js as shipped inside the plotly Python package."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise MissingAsset("plotly.min.js is missing from the plotly package: reinstall plotly")
    return path


def check() -> None:
    """Raise MissingAsset if anything the page needs is absent."""
    socketio_client()
    plotly_js()
    for kind in ("templates", "static"):
        if not folder(kind).is_dir():
            raise MissingAsset(f"the {kind} folder is missing; reinstall the dashboard")
