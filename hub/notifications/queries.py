"""The outbox's reads for the admin page: what has not gone out after a failure, and how many are in each state.

A notification in its first attempt (pending or being sent, no attempt made and no error) is the outbox working;
one that has had a failed attempt or an error (failed, put back in line, dead or skipped) needs an admin's eye
until it goes out. One whose delivery is unknown (the mail server did not answer the end of the message: it may
have it) waits an hour for its next attempt, and is left out of "retry all".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from hub.notifications.models import UNKNOWN_PREFIX, Notification, NotificationStatus

PAGE_SIZE = 200  # the admin page lists the newest this many; it says so when there are more


class State(enum.Enum):
    """A notification's state as the admin page names it: the stored status, with "pending" split in two."""

    FAILED = "failed"  # an attempt failed: pending, its next attempt still ahead
    UNKNOWN = "unknown"  # delivery unknown (the far side may have it): pending, its next attempt still ahead
    DEAD = "dead"
    SKIPPED = "skipped"
    PENDING = "pending"  # in line for the next dispatch: a first attempt, or one put back in line
    SENDING = "sending"
    SENT = "sent"


ALARMING = frozenset({State.FAILED, State.DEAD})
RETRYABLE = frozenset({State.FAILED, State.DEAD, State.SKIPPED})


def after_a_failure() -> ColumnElement[bool]:
    """An earlier attempt failed or the notification was skipped: it has attempts or an error."""
    return or_(Notification.attempts > 0, Notification.last_error.is_not(None))


def _unknown() -> ColumnElement[bool]:
    return Notification.last_error.startswith(UNKNOWN_PREFIX, autoescape=True)


def waiting_for_a_retry(now: datetime) -> ColumnElement[bool]:
    """Failed: pending after a failure (not one whose delivery is unknown), its next attempt still ahead."""
    return and_(
        Notification.status == NotificationStatus.PENDING,
        after_a_failure(),
        Notification.next_attempt_at > now,
        or_(Notification.last_error.is_(None), ~_unknown()),
    )


def delivery_unknown(now: datetime) -> ColumnElement[bool]:
    """Delivery unknown: pending after an attempt the far side may have taken, its next attempt still ahead."""
    return and_(Notification.status == NotificationStatus.PENDING, _unknown(), Notification.next_attempt_at > now)


def not_out_after_a_failure() -> ColumnElement[bool]:
    """Not delivered, and not in a normal first attempt: dead, skipped, or pending or sending after a failure."""
    return or_(
        Notification.status.in_((NotificationStatus.DEAD, NotificationStatus.SKIPPED)),
        and_(Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING)), after_a_failure()),
    )


def state_of(n: Notification, now: datetime) -> State:
    """The admin page's name for where a notification is."""
    if n.status is NotificationStatus.PENDING:
        failed = (n.attempts > 0 or n.last_error is not None) and n.next_attempt_at > now
        if failed and n.last_error is not None and n.last_error.startswith(UNKNOWN_PREFIX):
            return State.UNKNOWN
        return State.FAILED if failed else State.PENDING
    return State(n.status.value)


@dataclass(frozen=True)
class Problem:
    """A notification that has not gone out after a failure, and its state now."""

    notification: Notification
    state: State

    @property
    def retryable(self) -> bool:
        """Whether "retry now" has something to do (pending ones are in line, sending ones on their way)."""
        return self.state in RETRYABLE


@dataclass(frozen=True)
class Count:
    """How many notifications are in one state."""

    state: State
    count: int

    @property
    def alarming(self) -> bool:
        """Whether an admin should act: some failed or died."""
        return self.count > 0 and self.state in ALARMING


@dataclass(frozen=True)
class OutboxOverview:
    """The admin page: the problems (newest first, at most PAGE_SIZE), their total, and the counts by state."""

    problems: list[Problem]
    total: int
    counts: list[Count]  # problems first: failed, (unknown, when there are some,) dead, skipped, pending, sending, sent

    @property
    def retryable(self) -> int:
        """How many notifications "retry all" puts back in line."""
        return sum(c.count for c in self.counts if c.state in RETRYABLE)

    def count(self, state: State) -> int:
        """How many notifications are in this state."""
        return next((c.count for c in self.counts if c.state is state), 0)


def outbox_overview(session: Session, now: datetime) -> OutboxOverview:
    """What the admin page shows at `now`."""
    rows = session.scalars(
        select(Notification).where(not_out_after_a_failure()).order_by(Notification.id.desc()).limit(PAGE_SIZE)
    ).all()
    by_status = dict(
        session.execute(select(Notification.status, func.count()).group_by(Notification.status)).tuples().all()
    )
    failed, unknown, total = session.execute(
        select(
            func.count().filter(waiting_for_a_retry(now)),
            func.count().filter(delivery_unknown(now)),
            func.count().filter(not_out_after_a_failure()),
        ).select_from(Notification)
    ).one()
    stored = {State(s.value): by_status.get(s, 0) for s in NotificationStatus}
    stored[State.FAILED], stored[State.UNKNOWN] = failed, unknown
    stored[State.PENDING] -= failed + unknown
    return OutboxOverview(
        problems=[Problem(n, state_of(n, now)) for n in rows],
        total=total,
        counts=[Count(s, stored[s]) for s in State if s is not State.UNKNOWN or stored[s]],
    )


@dataclass(frozen=True)
class ChannelBacklog:
    """What one channel has not delivered yet, for the /metrics endpoint: counts by state, the oldest's age."""

    channel: str
    counts: dict[State, int]  # PENDING, FAILED, UNKNOWN, DEAD (named as on the admin page)
    oldest_due: datetime | None  # created_at of its oldest notification due now and not delivered (pending or sending)


def backlog_by_channel(session: Session, now: datetime) -> list[ChannelBacklog]:
    """Per channel, the notifications not delivered yet: one grouped query over the rows that are pending,
    sending or dead, found through the status index (the delivered ones, nearly all, are never read)."""
    # due now: a row waiting out a retry delay (an hour after "delivery unknown") is not what a stuck worker leaves
    waiting = Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING)) & (
        Notification.next_attempt_at <= now
    )
    rows = session.execute(
        select(
            Notification.channel,
            func.count().filter(Notification.status == NotificationStatus.PENDING),
            func.count().filter(waiting_for_a_retry(now)),
            func.count().filter(delivery_unknown(now)),
            func.count().filter(Notification.status == NotificationStatus.DEAD),
            func.min(Notification.created_at).filter(waiting),
        )
        .where(
            Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING, NotificationStatus.DEAD))
        )
        .group_by(Notification.channel)
    ).tuples()
    backlog = []
    for channel, pending, failed, unknown, dead, oldest in rows:
        counts = {
            State.PENDING: pending - failed - unknown,
            State.FAILED: failed,
            State.UNKNOWN: unknown,
            State.DEAD: dead,
        }
        backlog.append(ChannelBacklog(channel, counts, oldest))
    return backlog
