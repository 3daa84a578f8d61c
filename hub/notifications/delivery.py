"""What the dispatcher asks of a channel adapter (e-mail, Slack), and how an adapter says it failed."""

from __future__ import annotations

from typing import Protocol

from hub.notifications.models import Notification


class DeliveryError(Exception):
    """A delivery failed; `retry_after` (seconds) when the far side said when to retry, `permanent` when
    retrying cannot help (a refused address)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Adapter(Protocol):
    """Delivers notifications of one channel."""

    channel: str

    def send(self, notification: Notification) -> str | None:
        """Deliver it, or raise DeliveryError; may return a reference (a Slack message's ts, a file path)."""
        ...


class DeliveryUnknown(DeliveryError):
    """The far side may or may not have taken the message (e.g. no answer after the end of an e-mail's DATA):
    the notification waits longer than a failure before it is tried again, with the same Message-ID."""
