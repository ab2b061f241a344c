"""Lets the tests import ``dashboard_example`` from this folder, installed or not.

The dashboard itself (``collectors``, ``dashboard.testing``) must be importable: run the tests
with the dashboard's Python, e.g. ``.venv/bin/pytest examples/dashboard-example-plugin/tests``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
