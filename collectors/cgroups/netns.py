"""A container's network traffic, from ``/proc/<pid>/net/dev`` of one of its processes.

A container has a network namespace of its own, and any member process shows its
interfaces' counters; that is the cheap way (one small file per container) to the figure
``docker stats`` gives. A group whose processes share the host's namespace (a systemd
service, most sessions) has no traffic of its own to show, so it gets none. Containers that
share one namespace (a Kubernetes pod's, ``--network container:x``) each show that
namespace's traffic, as ``docker stats`` does. The loopback interface is left out.
"""

from __future__ import annotations

import os

from collectors.cgroups.files import read_once

LOOPBACK = b"lo"


class Traffic:
    """``of(pids)``: (received, sent) bytes of the namespace of the first live process in a
    group's ``cgroup.procs`` text, or None where it has no namespace of its own."""

    def __init__(self, proc: str = "/proc") -> None:
        self.proc = proc
        self.host = _namespace(f"{proc}/self")

    def of(self, procs: bytes | None) -> tuple[float, float] | None:
        for word in (procs or b"").split()[:3]:  # a process may exit as we look: try the next
            if not word.isdigit():
                continue
            pid = word.decode()
            namespace = _namespace(f"{self.proc}/{pid}")
            if namespace is None:
                continue  # gone meanwhile
            if namespace == self.host:
                return None
            counted = counters(read_once(f"{self.proc}/{pid}/net/dev"))
            if counted is not None:
                return counted
        return None


def counters(data: bytes | None) -> tuple[float, float] | None:
    """net/dev's received and sent bytes, summed over its interfaces but loopback."""
    if data is None:
        return None
    received = sent = 0.0
    for line in data.splitlines()[2:]:  # two header lines
        name, colon, fields = line.partition(b":")
        numbers = fields.split()
        if not colon or name.strip() == LOOPBACK or len(numbers) < 9:
            continue
        if numbers[0].isdigit() and numbers[8].isdigit():
            received += float(numbers[0])
            sent += float(numbers[8])
    return received, sent


def _namespace(process: str) -> int | None:
    """Which network namespace a process is in: the inode of its ``net/dev``, which each
    namespace has its own of. ``ns/net`` would say it too, but needs ptrace rights over the
    process, which the sandboxed service has not; ``net/dev`` anyone may read."""
    try:
        return os.stat(f"{process}/net/dev").st_ino
    except OSError:
        return None
