"""The transactional outbox: write a notification in the caller's transaction; put failed ones back in line.

It knows no feature: returns, the portal, surveys and webhooks all write here, and the dispatcher
(jobs/dispatch.py) delivers what was committed, however long Slack or the mail server is away.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from hub.core.db import MAX_INTEGER
from hub.core.errors import InvalidTransition, NotFound
from hub.notifications.models import Notification, NotificationStatus
from hub.notifications.queries import waiting_for_a_retry


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
    """Put a failed, dead or skipped notification back in line for an attempt now (an admin's "retry now").

    A failed one keeps its count of attempts; a dead or skipped one starts afresh. Each keeps its last error
    until it goes out.
    """
    # locked (on PostgreSQL), so a dispatcher cannot claim it between this read and the write
    n = session.get(Notification, notification_id, with_for_update=True) if 0 < notification_id <= MAX_INTEGER else None
    if n is None:
        raise NotFound(f"There is no notification {notification_id}.")
    if n.status in (NotificationStatus.SENT, NotificationStatus.SENDING):
        raise InvalidTransition(f"notification {notification_id} is {n.status.value}; there is nothing to retry")
    if n.status in (NotificationStatus.DEAD, NotificationStatus.SKIPPED):
        n.attempts = 0
    n.status, n.next_attempt_at = NotificationStatus.PENDING, now
    session.flush()
    return n


def retry_all(session: Session, now: datetime) -> int:
    """Put every failed, dead and skipped notification back in line for an attempt now (an admin's "retry all");
    returns how many.

    As `retry_notification` does for one: a failed one keeps its count of attempts, a dead or skipped one starts
    afresh. One conditional UPDATE each, in the caller's transaction: a notification a dispatcher is sending, or
    one already in line, is left alone.
    """
    hurried = session.scalars(
        update(Notification)
        .where(waiting_for_a_retry(now))
        .values(next_attempt_at=now)
        .returning(Notification.id)
        .execution_options(synchronize_session="fetch")
    ).all()
    revived = session.scalars(
        update(Notification)
        .where(Notification.status.in_((NotificationStatus.DEAD, NotificationStatus.SKIPPED)))
        .values(status=NotificationStatus.PENDING, attempts=0, next_attempt_at=now)
        .returning(Notification.id)
        .execution_options(synchronize_session="fetch")
    ).all()
    session.flush()
    return len(hurried) + len(revived)
