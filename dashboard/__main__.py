"""``python -m dashboard`` is the ``dashboard`` command."""

import sys

from dashboard.cli import main

sys.exit(main())
