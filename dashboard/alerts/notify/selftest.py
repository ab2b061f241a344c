"""``dashboard alerts test [--target NAME]``: a test notification to every target (or one),
sent now, each answer printed. Exit 0 when every target accepted it; 1 when one did not;
2 for an unknown ``--target`` (the names are listed); 78 when no target is configured or an
Apprise URL is refused."""

from __future__ import annotations

import socket
import time
from typing import TextIO

from dashboard import exits
from dashboard.alerts.model import Alert, Key, Notice, State
from dashboard.alerts.notify import targets
from dashboard.alerts.notify.delivery import SELFTEST, Policy, deliver
from dashboard.alerts.notify.message import compose
from dashboard.settings import Settings

EX_FAILED = 1


def send_test(
    settings: Settings, target: str | None, out: TextIO, policy: Policy = SELFTEST
) -> int:
    try:
        found = targets.from_settings(settings.alerts)
    except ValueError as exc:
        print(f"{settings.source}: {exc}", file=out)
        return exits.EX_CONFIG
    if not found:
        print(
            f"{settings.source}: no notification targets: set [alerts] webhook or notify "
            "(Apprise URLs) to send alerts somewhere",
            file=out,
        )
        return exits.EX_CONFIG
    chosen = [t for t in found if target is None or t.name == target]
    if not chosen:
        shown = ", ".join(t.name for t in found)
        print(f"unknown target {target!r}; the targets are: {shown}", file=out)
        return exits.EX_USAGE
    message = compose([notice_for_test(time.time())], time.time())
    failed = 0
    for each in chosen:
        print(f"{each.name}: sending ...", file=out, flush=True)
        outcome = deliver(each, message, policy)
        tries = f"{outcome.attempts} attempt{'s' if outcome.attempts > 1 else ''}"
        verdict = "ok" if outcome.ok else "FAILED"
        print(f"{each.name}: {verdict}: {outcome.answer.detail} ({tries}, "
              f"{outcome.seconds:.1f} s)", file=out)  # fmt: skip
        failed += not outcome.ok
    total = len(chosen)
    print(f"{total - failed} of {total} target{'s' if total > 1 else ''} accepted it", file=out)
    return exits.EX_OK if not failed else EX_FAILED


def notice_for_test(now: float) -> Notice:
    host = socket.gethostname()
    alert = Alert(Key("test", host, "test"), State.OK, None, None, now, summary="")
    return Notice("test", alert, 0.0, now)
