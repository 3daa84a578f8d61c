"""Housekeeping forgets old delivered notifications, processed requests and failed logins."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.accounts.models import LoginAttempt
from hub.notifications.models import Notification, NotificationStatus, ProcessedRequest
from jobs.housekeeping import run_housekeeping


def test_housekeeping_keeps_what_is_recent_or_failed(runtime, session, now):
    old, recent = now - timedelta(days=40), now - timedelta(days=2)
    for status in NotificationStatus:
        for at in (old, recent):
            session.add(
                Notification(
                    channel="email",
                    kind="handoff",
                    recipient="x@shop.example",
                    payload={},
                    status=status,
                    created_at=at,
                    next_attempt_at=at,
                )
            )
    session.add_all(
        [
            ProcessedRequest(key="event:old", received_at=old),
            ProcessedRequest(key="event:new", received_at=recent),
            LoginAttempt(email="a@b.cc", ip="1.2.3.4", at=now - timedelta(days=2)),
            LoginAttempt(email="a@b.cc", ip="1.2.3.4", at=now - timedelta(minutes=5)),
        ]
    )
    session.commit()
    runtime.clock = lambda: now

    done = run_housekeeping(runtime)

    assert done == {"notifications": 2, "processed requests": 1, "failed logins": 1, "expired logins": 0, "job runs": 0}
    session.expire_all()
    left = {(n.status, n.created_at == old) for n in session.scalars(select(Notification))}
    assert (NotificationStatus.SENT, True) not in left
    assert (NotificationStatus.SKIPPED, True) not in left
    assert (NotificationStatus.DEAD, True) in left  # an admin still has to see it
    assert (NotificationStatus.PENDING, True) in left
    assert session.scalars(select(ProcessedRequest.key)).all() == ["event:new"]
    assert len(session.scalars(select(LoginAttempt)).all()) == 1
