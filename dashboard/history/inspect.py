"""``dashboard check``'s line about the history file: what it holds, or what is wrong.

It opens the file read-only and never creates it: checking changes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from dashboard.history.store import StoreError, open_read_only


def inspect_history(path: Path | None) -> str:
    """One line: the file's size and what it holds, or ``WARNING: ...`` and the problem."""
    if path is None:
        return "memory only ([history] path is empty): nothing survives a restart"
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), path.parent)
        if not os.access(folder, os.W_OK):
            return f"WARNING: {path} does not exist and {folder} is not writable"
        return f"{path} (will be created)"

    try:
        store = open_read_only(path)
    except StoreError as exc:
        return f"WARNING: {exc}"
    try:
        stats = store.stats()
        first, last = store.span()
    except StoreError as exc:
        return f"WARNING: {exc}"
    finally:
        store.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    if first is None or last is None:
        return f"{path} (empty, {size / 1e6:.1f} MB)"
    rows = sum(tier["rows"] for tier in stats.values())
    span = (last - first) / 3600
    return f"{path} ({size / 1e6:.1f} MB, {rows:,} rows over {span:.1f} h)"
