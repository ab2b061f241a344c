"""One alert instance's state machine, and when it has news for people. Pure: no I/O, no
clock of its own (every call takes the time).

- ``ok -> pending`` when the value reaches the mildest threshold; ``pending -> warning |
  critical`` once it has held for ``for`` (``for = 0``: straight from ok to firing, on the
  first evaluation past the threshold); back to ok if it drops below before that.
- Severity only rises within an episode: ``warning -> critical`` once the critical
  threshold has held for ``for``; never back down to warning.
- ``warning | critical -> ok`` once the value has been past ``clear`` for ``recover``.

Notices (``due``): the first of an episode at once; an escalation; a repeat every
``repeat`` while firing and not acknowledged; at most one firing notice per ``repeat``
across episodes (flap damping); a resolve notice only for an episode whose firing was
notified, and only once it has stayed resolved for ``settle`` seconds (an episode that comes
back before that continues the old one). Silenced instances get none.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.alerts.model import NoticeKind, State
from dashboard.alerts.rules import Rule

RANK = {State.OK: 0, State.PENDING: 1, State.WARNING: 2, State.CRITICAL: 3}


@dataclass(frozen=True)
class Change:
    """A transition, before it has a key."""

    previous: State
    state: State
    value: float | None
    threshold: float | None
    ts: float


@dataclass
class InstanceState:
    """What an instance remembers between evaluations (and across restarts: ``store``)."""

    state: State = State.OK
    since: float = 0.0
    value: float | None = None
    threshold: float | None = None
    active_since: float | None = None  # the condition has held since (pending or firing)
    crit_since: float | None = None  # at the critical threshold since (escalation's ``for``)
    clear_since: float | None = None  # firing and past ``clear`` since
    fired_at: float | None = None  # this episode started firing
    notified_at: float | None = None  # the last firing or repeat notice taken for delivery
    notified_state: State | None = None  # the severity that notice told; None: episode untold
    resolved_at: float | None = None  # a notified episode resolved; its notice is still due
    acked: bool = False

    @property
    def episode_notified(self) -> bool:
        return self.notified_state is not None


def step(rule: Rule, st: InstanceState, value: float | None, ts: float) -> Change | None:
    """Feed one evaluation (the aggregate at data time ``ts``); the transition, if any."""
    if value is None:
        return None
    st.value = value
    reached = rule.level(value)
    if st.state is State.OK:
        return _from_ok(rule, st, reached, ts)
    if st.state is State.PENDING:
        return _from_pending(rule, st, reached, ts)
    return _from_firing(rule, st, value, reached, ts)


_Reached = tuple[State, float] | None


def _from_ok(rule: Rule, st: InstanceState, reached: _Reached, ts: float) -> Change | None:
    st.threshold = rule.first
    if reached is None:
        return None
    st.active_since = ts
    st.crit_since = ts if reached[0] is State.CRITICAL else None
    if rule.for_ <= 0:
        return _fire(st, reached, ts)
    return _move(st, State.PENDING, reached[1], ts)


def _from_pending(rule: Rule, st: InstanceState, reached: _Reached, ts: float) -> Change | None:
    if reached is None:
        st.active_since = st.crit_since = None
        return _move(st, State.OK, rule.first, ts)
    if reached[0] is State.CRITICAL:
        st.crit_since = st.crit_since if st.crit_since is not None else ts
    else:
        st.crit_since = None
    assert st.active_since is not None
    if ts - st.active_since < rule.for_:
        return None
    return _fire(st, reached, ts)


def _from_firing(
    rule: Rule, st: InstanceState, value: float, reached: _Reached, ts: float
) -> Change | None:
    if reached is not None and reached[0] is State.CRITICAL:
        st.crit_since = st.crit_since if st.crit_since is not None else ts
        if st.state is State.WARNING and ts - st.crit_since >= rule.for_:
            st.clear_since = None
            return _move(st, State.CRITICAL, reached[1], ts)
    else:
        st.crit_since = None
    if not rule.is_clear(value):
        st.clear_since = None
        return None
    st.clear_since = st.clear_since if st.clear_since is not None else ts
    if ts - st.clear_since < rule.recover:
        return None
    if st.episode_notified:
        st.resolved_at = ts
    st.active_since = st.crit_since = st.clear_since = None
    return _move(st, State.OK, rule.first, ts)


def _fire(st: InstanceState, reached: tuple[State, float], ts: float) -> Change:
    st.fired_at = ts
    if st.resolved_at is not None:
        st.resolved_at = None  # back within ``settle``: the same episode, still told
    else:
        st.notified_state = None  # a new episode, not told yet
    return _move(st, reached[0], reached[1], ts)


def _move(st: InstanceState, state: State, threshold: float, ts: float) -> Change:
    change = Change(st.state, state, st.value, threshold, ts)
    st.state, st.since, st.threshold, st.acked = state, ts, threshold, False
    return change


def due(
    st: InstanceState, now: float, repeat: float, settle: float, silenced: bool
) -> NoticeKind | None:
    """The notice this instance should offer now, if any (offered again until taken)."""
    if silenced:
        return None
    if st.state.firing:
        if not st.episode_notified:
            damped = st.notified_at is not None and now - st.notified_at < repeat
            return None if damped else "firing"
        assert st.notified_state is not None
        if RANK[st.state] > RANK[st.notified_state]:
            return "firing"  # escalated
        if not st.acked and st.notified_at is not None and now - st.notified_at >= repeat:
            return "repeat"
        return None
    if st.resolved_at is not None and now - st.resolved_at >= settle:
        return "resolved"
    return None


def taken(st: InstanceState, kind: NoticeKind, now: float) -> None:
    """The outbox took a notice of this kind: remember it was told."""
    if kind == "resolved":
        st.resolved_at = None
        st.notified_state = None
        return
    st.notified_at = now
    st.notified_state = st.state


def drop_resolve(st: InstanceState) -> None:
    """A resolve nobody will be told of (silenced meanwhile)."""
    st.resolved_at = None
    st.notified_state = None
