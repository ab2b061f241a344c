"""From the hub to the store: every host's process scans, kept as snapshots.

- ``observe`` (a hub watcher, on the event loop) puts the scan's rows in a queue: nothing
  else, so the loop does no picking, encoding or SQLite;
- ``flush`` (the scheduler's job, in a native thread) picks each scan's rows, encodes
  them and appends them to the store; ``maintain`` seals ended blocks and prunes;
- ``nearest`` (a client's request, in a native thread) flushes first, so the newest scan
  can be found at once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dashboard.snapshots.codec import Snapshot
from dashboard.snapshots.pick import pick
from dashboard.snapshots.store import Found, SnapshotStore
from dashboard.workers import native_lock

if TYPE_CHECKING:
    from dashboard.pipeline.hub import Topic
    from dashboard.pipeline.validate import Reading

COLLECTOR = "processes"
MAX_WAITING = 1_000  # scans held while the store is slow (then the oldest go)


class Recorder:
    """Snapshots of every host's ``processes`` scans, kept for ``retention`` seconds."""

    def __init__(
        self,
        store: SnapshotStore,
        retention: float,
        flush_interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.retention, self.clock = store, retention, clock
        self.flush_interval = flush_interval
        self._waiting: deque[tuple[str, float, list[dict[str, Any]]]] = deque(maxlen=MAX_WAITING)
        self.dropped = 0  # scans that went because the store was too slow to take them
        self._writing = native_lock()  # one flush at a time: each host's rows stay in order

    def observe(self, topic: Topic, reading: Reading) -> None:
        """A published reading (on the event loop): a scan's rows wait for ``flush``."""
        if topic.collector.name == COLLECTOR and reading.rows is not None:
            if len(self._waiting) == MAX_WAITING:
                self.dropped += 1  # the deque lets its oldest go
            self._waiting.append((topic.host, reading.ts, reading.rows))

    def open(self) -> None:
        self.store.open()

    def flush(self) -> None:
        """Pick, encode and store every waiting scan (native thread)."""
        with self._writing:
            hosts: dict[str, list[Snapshot]] = {}
            while self._waiting:
                host, ts, rows = self._waiting.popleft()
                hosts.setdefault(host, []).append(Snapshot(round(ts, 3), pick(rows)))
            for host, snapshots in hosts.items():
                self.store.append(host, snapshots)

    def maintain(self) -> None:
        """Seal the blocks no waiting scan can still belong to; forget what retention drops."""
        now = self.clock()
        self.store.seal(now - 2 * self.flush_interval)
        self.store.prune(now - self.retention)

    def nearest(self, host: str, ts: float) -> Found | None:
        """The snapshot of ``host`` nearest ``ts``, its neighbours' times (native thread)."""
        self.flush()
        return self.store.nearest(host, ts)

    def status(self) -> dict[str, Any]:
        """For /healthz: the store's state, path and error; scans waiting and dropped."""
        return {**self.store.status(), "waiting": len(self._waiting), "dropped": self.dropped}

    def close(self) -> None:
        """Store what is waiting and close (on shutdown)."""
        self.flush()
        self.store.close()
