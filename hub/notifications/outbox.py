"""The transactional outbox: write a notification in the caller's transaction; put a failed one back in line.

It knows no feature: returns, the portal, surveys and webhooks all write here, and the dispatcher
(jobs/dispatch.py) delivers what was committed, however long Slack or the mail server is away.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.core.errors import InvalidTransition, NotFound
from hub.notifications.models import Notification, NotificationStatus


def enqueue(
    session: Session,
    *,
    channel: str,
    kind: str,
    recipient: str,
    payload: Mapping[str, Any],
    return_id: int | None,
    now: datetime,
) -> Notification:
    """Write one notification to the outbox; `return_id` ties it to the return it is about (None: to none)."""
    n = Notification(
        channel=channel,
        kind=kind,
        recipient=recipient,
        return_id=return_id,
        payload=dict(payload),
        created_at=now,
        next_attempt_at=now,
    )
    session.add(n)
    return n


def retry_notification(session: Session, notification_id: int, now: datetime) -> Notification:
    """Put a failed or dead notification back in line for an attempt now (an admin's "retry now")."""
    n = session.get(Notification, notification_id)
    if n is None:
        raise NotFound(f"no notification {notification_id}")
    if n.status in (NotificationStatus.SENT, NotificationStatus.SENDING):
        raise InvalidTransition(f"notification {notification_id} is {n.status.value}; there is nothing to retry")
    if n.status in (NotificationStatus.DEAD, NotificationStatus.SKIPPED):
        n.attempts = 0
    n.status, n.next_attempt_at = NotificationStatus.PENDING, now
    session.flush()
    return n
