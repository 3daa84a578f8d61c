"""The outbox admin page's reads (hub.notifications.queries): what has not gone out after a failure, and how many
notifications are in each state."""

from __future__ import annotations

from datetime import timedelta

from hub.core.db import unit_of_work
from hub.notifications.models import Notification, NotificationStatus
from hub.notifications.queries import State, outbox_overview

PENDING, SENDING, SENT = NotificationStatus.PENDING, NotificationStatus.SENDING, NotificationStatus.SENT
DEAD, SKIPPED = NotificationStatus.DEAD, NotificationStatus.SKIPPED


def _add(s, status=PENDING, *, at, attempts=0, last_error=None) -> int:
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
    s.flush()
    return n.id


def test_the_overview_lists_what_waits_after_a_failure_newest_first_and_counts_every_state(session_factory, clock):
    t = clock()
    with unit_of_work(session_factory) as s:
        first = _add(s, at=t)
        _add(s, SENDING, at=t)  # a first attempt on its way
        _add(s, SENT, at=t, attempts=1)
        failed = _add(s, at=t + timedelta(minutes=4), attempts=2, last_error="timed out")
        dead = _add(s, DEAD, at=t, attempts=8, last_error="refused")
        skipped = _add(s, SKIPPED, at=t, last_error="Slack is off")
        requeued = _add(s, at=t, last_error="refused")  # a dead one put back in line by "Retry now"
        resending = _add(s, SENDING, at=t, attempts=3, last_error="timed out")

    with session_factory() as s:
        overview = outbox_overview(s, t)

    assert [(p.notification.id, p.state) for p in overview.problems] == [
        (resending, State.SENDING),
        (requeued, State.PENDING),
        (skipped, State.SKIPPED),
        (dead, State.DEAD),
        (failed, State.FAILED),
    ]
    assert first not in {p.notification.id for p in overview.problems}
    assert [p.retryable for p in overview.problems] == [False, False, True, True, True]
    assert overview.total == 5
    assert [(c.state, c.count) for c in overview.counts] == [
        (State.FAILED, 1),
        (State.DEAD, 1),
        (State.SKIPPED, 1),
        (State.PENDING, 2),  # the first attempt and the one back in line
        (State.SENDING, 2),
        (State.SENT, 1),
    ]
    assert [c.state for c in overview.counts if c.alarming] == [State.FAILED, State.DEAD]
    assert overview.retryable == 3


def test_a_failed_notification_is_pending_once_its_next_attempt_is_due(session_factory, clock):
    t = clock()
    with unit_of_work(session_factory) as s:
        failed = _add(s, at=t + timedelta(minutes=4), attempts=2, last_error="timed out")

    with session_factory() as s:
        before, due = outbox_overview(s, t), outbox_overview(s, t + timedelta(minutes=4))

    assert [(p.notification.id, p.state) for p in before.problems] == [(failed, State.FAILED)]
    assert [(p.notification.id, p.state) for p in due.problems] == [(failed, State.PENDING)]
    assert {c.state: c.count for c in due.counts}[State.FAILED] == 0
    assert {c.state: c.count for c in due.counts}[State.PENDING] == 1
    assert due.retryable == 0


def test_zero_counts_do_not_alarm(session_factory, clock):
    with session_factory() as s:
        overview = outbox_overview(s, clock())
    assert overview.problems == []
    assert overview.total == 0
    assert all(c.count == 0 and not c.alarming for c in overview.counts)
