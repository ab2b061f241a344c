"""Build hook: put the page's files inside the wheel, so `pip install .` serves them.

templates/, static/ and settings.toml are the repo's own; socket.io.min.js comes from the
socket.io-client npm package (node_modules, from `npm ci`) and is copied at build time, never
committed.
"""

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SOCKETIO_DIST = HERE / "node_modules" / "socket.io-client" / "dist"


class BuildWithAssets(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "dashboard" / "assets"
        shutil.rmtree(target, ignore_errors=True)  # no stale files from an earlier build
        for kind in ("templates", "static"):
            shutil.copytree(HERE / kind, target / kind, dirs_exist_ok=True)
        # The documented defaults, for `dashboard service install` from a wheel.
        shutil.copy2(HERE / "settings.toml", target / "settings.toml")
        if not (SOCKETIO_DIST / "socket.io.min.js").is_file():
            if shutil.which("npm") is None:
                raise SystemExit("building the dashboard needs npm (for socket.io-client)")
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
        (target / "vendor").mkdir(parents=True, exist_ok=True)
        for name in ("socket.io.min.js", "socket.io.min.js.map"):
            shutil.copy2(SOCKETIO_DIST / name, target / "vendor" / name)


setup(cmdclass={"build_py": BuildWithAssets})
