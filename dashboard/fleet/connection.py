"""The Redis connection of an agent or a web process, and the words used about it.

The password comes from the URL (``redis://user:secret@host:6379/0``, an ACL user) or from
``[queue] password_file`` (so systemd's ``LoadCredential=`` can provide it); ``rediss://``
is TLS. The secret never appears in a log line, an error, ``/healthz`` or ``check``: every
message names the URL through ``redacted``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dashboard.settings import QueueSettings, redacted

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0
# Long enough for a blocking XREAD's own wait (see consumer.BLOCK_MS) plus the answer.
SOCKET_TIMEOUT = 10.0


class QueueError(Exception):
    """Redis cannot be used as configured; ``str()`` says what to do (never the secret)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # down | auth | tls | refused


class Link:
    """What an agent's sender and a web process's consumer share: the connection's state as
    ``/healthz`` shows it (``starting``, ``ok`` or a ``QueueError`` kind) and its error, each
    change logged once rather than on every retry."""

    settings: QueueSettings
    _redis: Any

    def __init__(self) -> None:
        self.state = "starting"
        self.error: str | None = None
        self._redis = None

    def _up(self, what: str) -> None:
        if self.state != "ok":
            log.info("queue: %s", what)
        self.state, self.error = "ok", None

    def _down(self, exc: BaseException) -> None:
        problem = exc if isinstance(exc, QueueError) else explain(exc, self.settings)
        if str(problem) != self.error:
            log.warning("queue: %s", problem)
        self.state, self.error, self._redis = problem.kind, str(problem), None


def password(settings: QueueSettings) -> str | None:
    """The password from ``[queue] password_file``, if one is set (its last newline cut)."""
    if settings.password_file is None:
        return None
    return Path(settings.password_file).read_text(encoding="utf-8").rstrip("\r\n")


def connect(settings: QueueSettings, decode: bool = False) -> Any:
    """A ``redis.Redis`` for ``[queue] url`` (nothing is sent yet: the first command connects).

    ``health_check_interval`` makes redis-py check an idle connection before reusing it, so a
    restarted Redis is noticed at once rather than on a half-dead socket.
    """
    import redis

    options: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": SOCKET_TIMEOUT,
        "health_check_interval": 15,
        "decode_responses": decode,
    }
    secret = password(settings)
    if secret is not None:
        options["password"] = secret
    return redis.Redis.from_url(settings.url, **options)


def explain(exc: BaseException, settings: QueueSettings) -> QueueError:
    """A redis-py exception as a ``QueueError`` that says what is wrong, secret-free."""
    import redis

    where = f"Redis at {redacted(settings.url)}"
    text = redacted(str(exc)).replace(password(settings) or "\0", "***")
    if isinstance(exc, redis.AuthenticationError) or "WRONGPASS" in text or "NOAUTH" in text:
        return QueueError(
            "auth",
            f"{where} refused the credentials ({text}): check the user and password in "
            "[queue] url or [queue] password_file",
        )
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return QueueError(
            "tls",
            f"{where} sent a certificate this machine does not trust ({text}): name the CA "
            "that signed it with ?ssl_ca_certs=/path/to/ca.pem in [queue] url, or add the CA "
            "to the system's store",
        )
    if isinstance(exc, redis.exceptions.NoPermissionError) or "NOPERM" in text:
        return QueueError(
            "refused",
            f"{where} does not allow this user what the dashboard needs ({text}): see "
            "docs/scale-out.md for the ACL rules",
        )
    return QueueError("down", f"{where} cannot be reached ({text}); retrying")


def probe(settings: QueueSettings) -> tuple[str, str | None]:
    """``dashboard check``'s look at Redis: a line, and what is wrong (``auth``, ``down``,
    ``refused``) or None."""
    from dashboard.fleet.wire import HOSTS_KEY

    try:
        redis = connect(settings)
        redis.ping()
        hosts = redis.scard(HOSTS_KEY)
    except Exception as exc:  # redis-py raises many kinds; explain() sorts them
        problem = explain(exc, settings)
        return f"WARNING: {problem}".replace("; retrying", ""), problem.kind
    return f"{redacted(settings.url)} ok ({hosts} hosts reporting)", None
