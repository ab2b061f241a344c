"""What a cgroup is, from its path: a systemd service, a container (Docker, Podman,
containerd and Kubernetes), a user session, a slice, or none of those.

Paths are relative to the hierarchy's root, "/"-separated, as in ``/proc/<pid>/cgroup``
("system.slice/nginx.service"). Pure functions: the recorded trees in tests/data/cgroups
exercise them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SERVICE, CONTAINER, SESSION, SLICE, OTHER = "service", "container", "session", "slice", "other"
SHORT_ID = 12  # as `docker ps` shows a container's id

# A container's scope or folder: systemd's driver names the scope after the runtime
# (docker-<id>.scope, libpod-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope);
# cgroupfs drivers use the bare id (docker/<id>, kubepods/burstable/pod<uid>/<id>).
_CONTAINER_SCOPE = re.compile(
    r"^(?P<runtime>docker|libpod|cri-containerd|crio|containerd)-(?P<id>[0-9a-f]{32,64})\.scope$"
)
_BARE_ID = re.compile(r"^[0-9a-f]{64}$")
_RUNTIMES = {"docker": "docker", "libpod": "podman", "cri-containerd": "containerd",
             "containerd": "containerd", "crio": "cri-o"}  # fmt: skip
_SESSION = re.compile(r"^session-(?P<n>[^.]+)\.scope$")
_USER_SLICE = re.compile(r"^user-(?P<uid>\d+)\.slice$")


@dataclass(frozen=True)
class Group:
    """A cgroup as the dashboard names it: ``name`` for people (and series keys), ``kind``
    one of SERVICE, CONTAINER, SESSION, SLICE, OTHER; a container has its runtime and id."""

    path: str
    name: str
    kind: str
    runtime: str | None = None
    container_id: str | None = None


def classify(path: str) -> Group:
    """The group at ``path``: named by its last part, with what the parts above tell."""
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts:
        return Group("", "root", OTHER)
    leaf = parts[-1]
    scope = _CONTAINER_SCOPE.match(leaf)
    if scope:
        return _container(path, _RUNTIMES[scope["runtime"]], scope["id"])
    if _BARE_ID.match(leaf) and len(parts) > 1:
        runtime = (
            "docker" if parts[0] == "docker" else "containerd" if _in_kubepods(parts) else parts[0]
        )
        return _container(path, runtime, leaf)
    session = _SESSION.match(leaf)
    if session:
        uid = next((m["uid"] for p in parts if (m := _USER_SLICE.match(p))), None)
        name = f"session-{session['n']}" + (f"-uid{uid}" if uid else "")
        return Group(path, name, SESSION)
    if leaf.endswith(".service"):
        return Group(path, leaf.removesuffix(".service"), SERVICE)
    if leaf.endswith(".slice"):
        return Group(path, leaf.removesuffix(".slice"), SLICE)
    if leaf.startswith("pod") and _in_kubepods(parts):
        return Group(path, leaf, SLICE)  # a Kubernetes pod: its containers are below it
    return Group(path, leaf, OTHER)


def _container(path: str, runtime: str, container_id: str) -> Group:
    return Group(path, container_id[:SHORT_ID], CONTAINER, runtime, container_id)


def _in_kubepods(parts: list[str]) -> bool:
    return any(p == "kubepods" or p.startswith("kubepods") for p in parts[:-1])


def is_wanted(group: Group) -> bool:
    """The default depth: services, containers and sessions (slices only hold them)."""
    return group.kind in (SERVICE, CONTAINER, SESSION)
