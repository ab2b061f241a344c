"""An Apprise URL as a target: title and text through ``Apprise.notify``, one URL per
``Apprise`` object so each target has its own result, retries and counters.

Apprise is blocking. It runs in the delivery task (a green thread under eventlet or gevent,
whose patched sockets make it cooperative; a thread under threading) and the caller bounds
each attempt (``deadline.within``). Apprise's own worker pool is switched off
(``async_mode=False``, ``service_timeout=0``): one bound, ours, and no threads of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from dashboard.alerts.notify import names
from dashboard.alerts.notify.message import Message
from dashboard.alerts.notify.target import Answer, Redactor

# Apprise logs URLs whole, tokens and passwords in them; its failures reach the log through
# our own lines instead (the target's name, the answer redacted).
logging.getLogger("apprise").setLevel(logging.CRITICAL)


class AppriseTarget:
    kind = "apprise"

    def __init__(self, url: str, name: str) -> None:
        import apprise  # here: heavy (requests, markdown), and only when a URL is configured

        self.name = name
        self._apprise = apprise
        self.redact = Redactor(url, keep=(names.server_host(url),))
        asset = apprise.AppriseAsset(async_mode=False, service_timeout=0)
        self._service = apprise.Apprise(asset=asset)
        if not self._service.add(url):
            raise ValueError(
                f"[alerts] notify: {name}: Apprise does not accept this URL "
                "(unknown scheme, or a part it needs is missing; see Apprise's list of services)"
            )

    def send(self, message: Message, timeout: float) -> Answer:
        self._set_socket_timeout(timeout)
        kind = self._apprise.NotifyType
        level = kind.FAILURE if message.critical else kind.WARNING
        if message.status in ("resolved", "test"):
            level = kind.SUCCESS if message.status == "resolved" else kind.INFO
        result = self._service.notify(body=message.text(), title=message.title(), notify_type=level)
        try:
            return Answer(bool(result), self.redact(_describe(result)))
        finally:
            getattr(result, "close", lambda: None)()

    def _set_socket_timeout(self, timeout: float) -> None:
        """Apprise's services read their socket timeouts (connect, read) from these: at most
        the attempt's (a URL's own ``cto``/``rto`` may be shorter)."""
        for service in self._service:
            for attribute in ("socket_connect_timeout", "socket_read_timeout"):
                current = getattr(service, attribute, None)
                if isinstance(current, int | float) and (current <= 0 or current > timeout):
                    setattr(service, attribute, timeout)


def _describe(result: Any) -> str:
    """``apprise: SUCCESS`` or ``apprise: FAILURE: <what its log said>``."""
    status = getattr(getattr(result, "status", None), "name", "SUCCESS" if result else "FAILURE")
    said = [
        entry.message
        for entry in getattr(result, "logs", lambda: [])()
        if entry.level in ("WARNING", "ERROR", "CRITICAL")
    ]
    return f"apprise: {status}" + (f": {said[-1]}" if said else "")
