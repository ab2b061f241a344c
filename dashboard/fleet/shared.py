"""What the web processes' silences and acks become when they meet in Redis: pure functions,
no I/O (``alerting`` reads the hashes, asks these what to do, and does it).

Silences: a three-way merge of this process's active silences, the ``silences`` hash and
the *base*, the ids both held at the last sync. An id on one side only is new there (copy
it across) unless the base has it: then the other side ended it (end it here too). So a
silence ended in one process is not brought back by another that still had it. A silence
past its ``ends`` is dropped from the hash by whichever process notices.

Acks: the ``acks`` hash holds, per instance, the state it was acknowledged in and when that
state began (``since``, data time, so the same in every process that saw the same samples;
stale rules use each process's own clock, hence ``SINCE_SLACK``). An ack applies to an
instance still in that state; once the instance has moved on, the entry is dropped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

from dashboard.alerts.model import MATCHER_KEYS, MAX_SILENCE, Alert, Key, Silence

SEP = "\x1f"  # between rule, host and series in an ack's field (none of them can hold it)
SINCE_SLACK = 5.0  # seconds two processes' ``since`` of one state may differ (stale rules)
ACK_KEPT = 86_400.0  # an ack of an instance no process here knows is dropped after this
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class SilencePlan:
    """What a sync does with silences; ``base`` is the synced ids once it is done."""

    adopt: list[Silence] = field(default_factory=list)  # made elsewhere: take them here
    end: list[str] = field(default_factory=list)  # ended elsewhere: end them here
    push: dict[str, str] = field(default_factory=dict)  # made here: id -> JSON, to the hash
    drop: list[str] = field(default_factory=list)  # ended here, or over: out of the hash
    unreadable: list[str] = field(default_factory=list)  # entries no silence can be read from
    base: frozenset[str] = frozenset()


@dataclass
class AckPlan:
    apply: list[tuple[Key, float, str]] = field(default_factory=list)  # key, local since, by
    push: dict[str, str] = field(default_factory=dict)  # field -> JSON, acked here
    drop: list[str] = field(default_factory=list)  # fields whose state has moved on


def plan_silences(
    local: Sequence[Silence], remote: Mapping[str, str], base: Set[str], now: float
) -> SilencePlan:
    """``local``: this process's silences; ``remote``: the hash (id -> JSON); ``base``: the
    ids both held at the last sync (empty after Redis lost everything: nothing is read as
    ended then, every side's silences are copied to the other)."""
    plan = SilencePlan()
    mine = {s.id: s for s in local if s.active(now)}
    theirs: dict[str, Silence] = {}
    for sid, raw in remote.items():
        silence = decode_silence(sid, raw)
        if silence is None:
            plan.unreadable.append(sid)
        else:
            theirs[sid] = silence
    for sid, silence in mine.items():
        if sid in remote:
            continue
        if sid in base:
            plan.end.append(sid)
        else:
            plan.push[sid] = encode_silence(silence)
    for sid, silence in theirs.items():
        if sid in mine:
            continue
        if sid in base or not silence.active(now):
            plan.drop.append(sid)
        else:
            plan.adopt.append(silence)
    kept = (mine.keys() & theirs.keys()) | plan.push.keys() | {s.id for s in plan.adopt}
    plan.base = frozenset(kept)
    return plan


def plan_acks(alerts: Sequence[Alert], remote: Mapping[str, str], me: str, now: float) -> AckPlan:
    """``alerts``: this process's instances; ``remote``: the hash (field -> JSON); ``me``:
    who this process is, for the acks it adds."""
    plan = AckPlan()
    local = {a.key: a for a in alerts}
    found: dict[str, tuple[str, float]] = {}
    for name, raw in remote.items():
        key, ack = decode_field(name), decode_ack(raw)
        if key is None or ack is None:
            plan.drop.append(name)  # not ours to keep: acks are short-lived anyway
            continue
        state, since, by = ack
        found[name] = (state, since)
        alert = local.get(key)
        if alert is None:
            if now - since > ACK_KEPT:
                plan.drop.append(name)
        elif _same_state(alert, state, since):
            plan.apply.append((key, alert.since, by))
        elif alert.since > since + SINCE_SLACK:
            plan.drop.append(name)  # the instance has moved on (if ours lags, wait)
    for alert in alerts:
        if not (alert.acked and alert.state.firing):
            continue
        name = ack_field(alert.key)
        held = found.get(name)
        if held is None or alert.since > held[1] + SINCE_SLACK:
            plan.push[name] = encode_ack(alert, me)
            if name in plan.drop:
                plan.drop.remove(name)
    return plan


def _same_state(alert: Alert, state: str, since: float) -> bool:
    return alert.state.value == state and abs(alert.since - since) <= SINCE_SLACK


# -- the hashes' entries ---------------------------------------------------------------------


def encode_silence(silence: Silence) -> str:
    return json.dumps(silence.as_dict(), sort_keys=True)


def decode_silence(sid: str, raw: str) -> Silence | None:
    """A silence from the hash, checked as strictly as one made through the API; None for
    anything else."""
    try:
        data = json.loads(raw)
        matchers = data["matchers"]
        ends, created = float(data["ends"]), float(data["created"])
        comment, by = data["comment"], data.get("by", "")
    except (ValueError, KeyError, TypeError):
        return None
    good = (
        data.get("id") == sid
        and ID_RE.match(sid)
        and _matchers_ok(matchers)
        and isinstance(comment, str)
        and comment.strip()
        and len(comment) <= 1000
        and isinstance(by, str)
        and len(by) <= 200
        and math.isfinite(ends)
        and math.isfinite(created)
        and ends - created <= MAX_SILENCE + 60
    )
    return Silence(sid, dict(matchers), ends, comment, created, by) if good else None


def _matchers_ok(matchers: object) -> bool:
    return isinstance(matchers, dict) and all(
        k in MATCHER_KEYS and isinstance(g, str) and 0 < len(g) <= 200 for k, g in matchers.items()
    )


def ack_field(key: Key) -> str:
    return SEP.join((key.rule, key.host, key.series))


def decode_field(name: str) -> Key | None:
    parts = name.split(SEP)
    return Key(*parts) if len(parts) == 3 and all(parts) else None


def encode_ack(alert: Alert, by: str) -> str:
    return json.dumps({"state": alert.state.value, "since": alert.since, "by": by})


def decode_ack(raw: str) -> tuple[str, float, str] | None:
    try:
        data = json.loads(raw)
        state, since, by = data["state"], float(data["since"]), data.get("by", "")
    except (ValueError, KeyError, TypeError):
        return None
    if state not in ("warning", "critical") or not math.isfinite(since):
        return None
    return state, since, str(by)[:200]
