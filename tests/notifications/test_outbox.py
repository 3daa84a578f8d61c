"""The outbox (hub.notifications.outbox): a failed or skipped notification is put back in line, a sent one is not.

(Writing rows with the change that causes them, and delivering them: tests/jobs/test_dispatch.py.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.core.db import unit_of_work
from hub.core.errors import InvalidTransition
from hub.notifications.models import Notification, NotificationStatus
from hub.notifications.outbox import retry_notification
from tests.factories import make_return, move


def test_retry_now_puts_failed_and_skipped_back_in_line(session, session_factory, workflow, clock):
    r = make_return(session, workflow, now=clock())
    session.commit()
    move(session_factory, workflow, r.rma, "approved", now=clock())
    with unit_of_work(session_factory) as s:
        failed, skipped, sent = s.scalars(select(Notification).order_by(Notification.id)).all()
        failed.attempts, failed.next_attempt_at = 3, clock.advance(hours=1)
        skipped.status, skipped.last_error = NotificationStatus.SKIPPED, "Slack is off"
        sent.status = NotificationStatus.SENT
    at = clock.advance(minutes=5)
    with unit_of_work(session_factory) as s:
        n = retry_notification(s, failed.id, at)
        assert (n.status, n.attempts, n.next_attempt_at) == (NotificationStatus.PENDING, 3, at)  # keeps its count
        n = retry_notification(s, skipped.id, at)
        assert (n.status, n.attempts) == (NotificationStatus.PENDING, 0)
        with pytest.raises(InvalidTransition, match="is sent"):
            retry_notification(s, sent.id, at)
