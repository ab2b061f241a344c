"""Per-client request budgets: a token bucket on every request, a smaller one for history
backfill weighed by the points it reads, a cap on subscriptions, and a client that keeps
going after being refused is told to leave.

"Client" is one engine.io connection (a browser tab's socket, all its namespaces). Pure: no
Socket.IO here, the namespaces ask and act on the answer.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from dashboard.limits.bucket import TokenBucket

# Refusals a client may collect (a burst of 50, one more a second) before it is
# disconnected: a page that misbehaves for a moment keeps its socket, a flood does not.
ABUSE_BURST = 50.0
ABUSE_RATE = 1.0


@dataclass(frozen=True)
class RequestLimits:
    requests_per_second: float = 20.0
    history_points_per_minute: float = 2_000_000.0
    max_subscriptions: int = 64


@dataclass(frozen=True)
class Refusal:
    """Why a request is not served: the ack to send, and whether to drop the client."""

    error: str
    retry_after: float
    disconnect: bool = False

    def ack(self) -> dict[str, object]:
        return {
            "ok": False,
            "error": self.error,
            "retry_after": math.ceil(self.retry_after * 10) / 10,
        }


@dataclass
class _Client:
    requests: TokenBucket
    history: TokenBucket
    frames: TokenBucket
    abuse: TokenBucket = field(default_factory=lambda: TokenBucket(ABUSE_RATE, ABUSE_BURST))
    subscriptions: set[str] = field(default_factory=set)


class Budgets:
    """Every connected client's budgets, created on first use and forgotten on disconnect."""

    def __init__(self, limits: RequestLimits) -> None:
        self.limits = limits
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()
        self.refused = 0  # for /metrics: requests answered rate_limited
        self.disconnected = 0  # clients dropped for going on regardless

    def admit(self, client: str, now: float) -> Refusal | None:
        """One request from ``client``; None if it may be served."""
        with self._lock:
            state = self._client(client)
            wait = state.requests.take(now)
            return None if not wait else self._refuse(state, wait, now)

    def flooding(self, client: str, now: float) -> Refusal | None:
        """One incoming message, before any task is made for it: far past the request
        budget (4x) it is dropped unanswered, counting towards a disconnect. Without
        this, every frame already in the socket's buffer would cost a task first."""
        with self._lock:
            state = self._client(client)
            wait = state.frames.take(now)
            return None if not wait else self._refuse(state, wait, now)

    def charge_history(self, client: str, points: float, now: float) -> Refusal | None:
        """Backfill of ``points`` values (series x samples); None if within the budget."""
        with self._lock:
            state = self._client(client)
            wait = state.history.take(now, points)
            return None if not wait else self._refuse(state, wait, now)

    def subscribed(self, client: str, namespace: str, on: bool) -> str | None:
        """Record a subscription (``on``) or its end; an error text when over the cap."""
        with self._lock:
            subs = self._client(client).subscriptions
            if not on:
                subs.discard(namespace)
                return None
            if namespace not in subs and len(subs) >= self.limits.max_subscriptions:
                return (
                    f"too many subscriptions: at most {self.limits.max_subscriptions} "
                    "per connection ([server] max_subscriptions)"
                )
            subs.add(namespace)
            return None

    def forget(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def _client(self, client: str) -> _Client:
        state = self._clients.get(client)
        if state is None:
            rate = self.limits.requests_per_second
            per_second = self.limits.history_points_per_minute / 60
            state = _Client(
                requests=TokenBucket(rate, 2 * rate),
                history=TokenBucket(per_second, self.limits.history_points_per_minute),
                frames=TokenBucket(4 * rate, 8 * rate),
            )
            self._clients[client] = state
        return state

    def _refuse(self, state: _Client, wait: float, now: float) -> Refusal:
        self.refused += 1
        drop = bool(state.abuse.take(now))
        self.disconnected += drop
        return Refusal("rate_limited", wait, disconnect=drop)
