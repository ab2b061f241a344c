"""One agent per host name: a lease in Redis that names the agent holding it.

An agent takes ``dashboard:<host>:claim`` when it connects (``SET NX`` with a TTL) and renews
it while it runs. A second agent that claims the same name from another machine (or another
live process on this one) is refused with both named, so no two agents mix their series in
one host's stream. A claim left by an agent that died expires after ``TTL`` seconds, or is
taken over at once when it names this machine and a process that no longer runs.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dashboard.fleet.wire import key

TTL = 30  # seconds a claim outlives its agent
RENEW_EVERY = 10.0


@dataclass(frozen=True)
class Identity:
    """Who an agent is: its machine (machine-id, else boot id), hostname and process."""

    machine: str
    hostname: str
    pid: int
    since: float

    @classmethod
    def here(cls) -> Identity:
        return cls(_machine_id(), socket.gethostname(), os.getpid(), round(time.time(), 3))

    def describe(self) -> str:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        where = f"machine {self.machine[:12]}, pid {self.pid}, since {started}"
        return f"the agent on {self.hostname} ({where})"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


class ClaimRefused(Exception):
    """Another agent reports as this host; the message names both."""


def take(redis: Any, host: str, me: Identity) -> None:
    """Claim ``host`` for ``me``, or raise ``ClaimRefused``."""
    name = key(host, "claim")
    if redis.set(name, me.to_json(), nx=True, ex=TTL):
        return
    held = _holder(redis.get(name))
    if held is None or held == me or _gone(held, me):
        redis.set(name, me.to_json(), ex=TTL)  # ours already, unreadable, or its agent died
        return
    raise ClaimRefused(
        f"host name {host!r} is already reported by {held.describe()}; this agent is "
        f"{me.describe()}: give each agent its own [agent] host"
    )


def renew(redis: Any, host: str, me: Identity) -> None:
    """Keep the lease (take it again if it lapsed during an outage); ``ClaimRefused`` if
    another agent took the name meanwhile."""
    name = key(host, "claim")
    held = _holder(redis.get(name))
    if held is None:
        take(redis, host, me)
    elif held == me:
        redis.expire(name, TTL)
    else:
        raise ClaimRefused(
            f"host name {host!r} was taken over by {held.describe()} while this agent "
            f"({me.describe()}) could not reach Redis: give each agent its own [agent] host"
        )


def release(redis: Any, host: str, me: Identity) -> None:
    name = key(host, "claim")
    if _holder(redis.get(name)) == me:
        redis.delete(name)


def _holder(raw: Any) -> Identity | None:
    if raw is None:
        return None
    try:
        fields = json.loads(raw)
        return Identity(str(fields["machine"]), str(fields["hostname"]), int(fields["pid"]),
                        float(fields["since"]))  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None


def _gone(held: Identity, me: Identity) -> bool:
    """A claim by a process of this machine that no longer runs (the agent restarted)."""
    return held.machine == me.machine and not Path(f"/proc/{held.pid}").exists()


def _machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id", "/proc/sys/kernel/random/boot_id"):
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except OSError:
            continue
        if text:
            return text.replace("-", "")
    return socket.gethostname()
