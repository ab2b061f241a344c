"""Garbage collection for a long-running process: what start-up made lives as long as the
process, so it is kept out of every later collection, and young collections run less often.

The default thresholds collect every 700 allocations: mid-fan-out (a few objects per client)
that means young collections by the dozen, and every so often a full one that walks every
module's objects and stalls every client for tens of ms. An agent pays the same walks once a
second for nothing. Memory stays bounded: collections still run, just rarer.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def settle() -> None:
    """Call once start-up is over (everything allocated so far stays)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
