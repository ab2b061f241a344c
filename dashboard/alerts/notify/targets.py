"""The targets ``[alerts]`` names: the webhook (if set), then each Apprise URL of
``notify``, in order, each with its display name (``names``)."""

from __future__ import annotations

from dashboard.alerts.notify import names
from dashboard.alerts.notify.target import Target
from dashboard.settings import AlertSettings


def from_settings(settings: AlertSettings) -> list[Target]:
    """Raises ``ValueError`` naming the target for an Apprise URL that Apprise refuses."""
    found: list[Target] = []
    labels = names.unique(
        (["webhook"] if settings.webhook else []) + [names.apprise_name(u) for u in settings.notify]
    )
    if settings.webhook:
        from dashboard.alerts.notify.webhook import Webhook

        found.append(Webhook(settings.webhook, settings.webhook_secret, labels.pop(0)))
    if settings.notify:
        from dashboard.alerts.notify.apprise_target import AppriseTarget

        pairs = zip(settings.notify, labels, strict=True)
        found.extend(AppriseTarget(url, name) for url, name in pairs)
    return found
