"""The outbox (hub.notifications.outbox): a failed, dead or skipped notification is put back in line (one, or all
at once), a sent one is not, nor by "retry all" one whose delivery is unknown.

(Writing rows with the change that causes them, and delivering them: tests/jobs/test_dispatch.py.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.core.db import unit_of_work
from hub.core.errors import InvalidTransition, NotFound
from hub.notifications.models import Notification, NotificationStatus
from hub.notifications.outbox import retry_all, retry_notification
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


# --- retry all ---------------------------------------------------------------------------------------


def _row(
    s,
    status: NotificationStatus = NotificationStatus.PENDING,
    *,
    at,
    attempts: int = 0,
    last_error: str | None = None,
) -> Notification:
    n = Notification(
        channel="email",
        kind="handoff",
        recipient="logistics@shop.example",
        payload={},
        status=status,
        attempts=attempts,
        last_error=last_error,
        next_attempt_at=at,
    )
    s.add(n)
    return n


def _states(session_factory) -> dict[int, tuple[NotificationStatus, int, object]]:
    with session_factory() as s:
        rows = {n.id: (n.status, n.attempts, n.next_attempt_at) for n in s.scalars(select(Notification))}
        s.rollback()
    return rows


def test_retry_all_puts_failed_dead_and_skipped_back_in_line_and_nothing_else(session_factory, clock):
    t = clock()
    with unit_of_work(session_factory) as s:
        rows = {
            "failed": _row(s, at=t + timedelta(minutes=8), attempts=4, last_error="timed out"),
            "dead": _row(s, NotificationStatus.DEAD, at=t, attempts=8, last_error="refused"),
            "skipped": _row(s, NotificationStatus.SKIPPED, at=t, last_error="Slack is off"),
            "first": _row(s, at=t + timedelta(seconds=1)),  # a first attempt, however soon or late, is no retry
            "due": _row(s, at=t, attempts=2, last_error="timed out"),  # in line already
            "sending": _row(s, NotificationStatus.SENDING, at=t, attempts=1, last_error="timed out"),
            "sent": _row(s, NotificationStatus.SENT, at=t, attempts=1),
            # the server may have it: it waits its hour, "retry all" does not hurry a second copy
            "unknown": _row(s, at=t + timedelta(minutes=50), attempts=1, last_error="delivery unknown: no answer"),
        }
        s.flush()
        ids = {k: n.id for k, n in rows.items()}
    before = _states(session_factory)
    at = clock.advance(minutes=1)

    with unit_of_work(session_factory) as s:
        assert retry_all(s, at) == 3

    after = _states(session_factory)
    assert after[ids["failed"]] == (NotificationStatus.PENDING, 4, at)  # keeps its count, as retry_notification does
    assert after[ids["dead"]] == (NotificationStatus.PENDING, 0, at)
    assert after[ids["skipped"]] == (NotificationStatus.PENDING, 0, at)
    for k in ("first", "due", "sending", "sent", "unknown"):
        assert after[ids[k]] == before[ids[k]], k
    with unit_of_work(session_factory) as s:
        assert retry_all(s, at) == 0  # nothing left to retry


def test_retry_all_flushes_and_leaves_the_commit_to_the_caller(session_factory, clock):
    with unit_of_work(session_factory) as s:
        dead = _row(s, NotificationStatus.DEAD, at=clock(), attempts=8, last_error="refused")
        skipped = _row(s, NotificationStatus.SKIPPED, at=clock(), last_error="Slack is off")
    with session_factory() as s:
        assert retry_all(s, clock.advance(minutes=1)) == 2
        assert s.get(Notification, dead.id).status is NotificationStatus.PENDING  # the session sees its change
        s.rollback()
    assert {st for st, _, _ in _states(session_factory).values()} == {
        NotificationStatus.DEAD,
        NotificationStatus.SKIPPED,
    }
    assert _states(session_factory)[skipped.id][0] is NotificationStatus.SKIPPED


@pytest.mark.parametrize("bad_id", [999_999, 0, -1, 2**31, 2**63])
def test_retrying_a_notification_that_does_not_exist_raises_not_found(session, clock, bad_id):
    with pytest.raises(NotFound, match=f"There is no notification {bad_id}"):
        retry_notification(session, bad_id, clock())
