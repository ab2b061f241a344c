"""Notifications: the webhook and Apprise targets, grouping, quiet hours, the per-target
hourly limit, delivery with a timeout and retries, ``dashboard alerts test``, and the
heartbeat. Nothing heavy is imported here (monkey-patching comes first): ``build`` loads
the parts when it is called."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.alerts.notify.notifier import Notifier
    from dashboard.settings import AlertSettings


def build(
    settings: AlertSettings,
    spawn: Callable[..., Any],
    clock: Callable[[], float],
    **options: Any,
) -> Notifier:
    """The ``model.Outbox`` for ``[alerts]``: its targets, each delivery a task of ``spawn``
    (``socketio.start_background_task``). ``options`` are ``Notifier``'s (policy, localtime)."""
    from dashboard.alerts.notify.notifier import Notifier
    from dashboard.alerts.notify.targets import from_settings

    return Notifier(settings, from_settings(settings), spawn, clock, **options)
