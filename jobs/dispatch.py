"""The outbox dispatcher: claims due notifications, delivers them, retries with backoff, never twice.

Claims are rows marked `sending` by one dispatcher in a short transaction (`FOR UPDATE SKIP LOCKED`
on PostgreSQL; SQLite's write lock serialises claims), so two dispatchers never take the same row.
A claim left behind by a crashed dispatcher is taken over after `claim_ttl`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import Settings
from hub.core.db import unit_of_work, utcnow
from hub.core.runtime import Runtime
from hub.notifications.delivery import Adapter, DeliveryError
from hub.notifications.models import Notification, NotificationStatus
from hub.workflow import Workflow

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
CLAIM_TTL = timedelta(minutes=5)


@dataclass
class DispatchReport:
    """What one dispatch run did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retried}, dead {self.dead}, skipped {self.skipped}"


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 30 s, 1 min, 2 min, ... at most an hour."""
    factor: int = 2 ** max(0, attempts - 1)  # typeshed types int ** int as Any (a negative power is a float)
    return min(BACKOFF_CAP, BACKOFF_BASE * factor)


def worker_id() -> str:
    """Who is claiming: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(
    session: Session,
    worker: str,
    now: datetime,
    limit: int,
    claim_ttl: timedelta = CLAIM_TTL,
    due_by: datetime | None = None,
) -> list[Notification]:
    """Mark up to `limit` notifications due by `due_by` (default: now) as being sent by `worker` and return them."""
    due_by = due_by or now
    stmt = (
        select(Notification)
        .where(
            or_(
                and_(Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= due_by),
                and_(Notification.status == NotificationStatus.SENDING, Notification.claimed_at < now - claim_ttl),
            )
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    for n in rows:
        n.status, n.claimed_by, n.claimed_at = NotificationStatus.SENDING, worker, now
    session.flush()
    return rows


def _update_claimed(session_factory: sessionmaker[Session], n: Notification, worker: str, **values: object) -> bool:
    """Update the row while this worker still holds its claim; False when another dispatcher took it over."""
    with unit_of_work(session_factory) as s:
        # an UPDATE runs on a cursor: Session.execute is typed to return a plain Result, which has no rowcount
        result = cast(
            CursorResult[Any],
            s.execute(
                update(Notification)
                .where(
                    Notification.id == n.id,
                    Notification.claimed_by == worker,
                    Notification.status == NotificationStatus.SENDING,
                )
                .values(**values)
            ),
        )
    return result.rowcount == 1


def _finish(session_factory: sessionmaker[Session], n: Notification, worker: str, **values: object) -> bool:
    if _update_claimed(session_factory, n, worker, claimed_by=None, claimed_at=None, **values):
        return True
    log.warning("notification %s was taken over by another dispatcher while %s sent it", n.id, worker)
    return False


def dispatch(
    session_factory: sessionmaker[Session],
    adapters: Mapping[str, Adapter],
    *,
    clock: Callable[[], datetime] = utcnow,
    max_attempts: int = 8,
    batch: int = 50,
    worker: str | None = None,
    unavailable: Mapping[str, str] | None = None,
) -> DispatchReport:
    """Deliver every notification due now, once; failures wait for their next attempt.

    `unavailable` maps a channel that is not configured here to the reason: its notifications are
    marked skipped, not retried forever.
    """
    worker = worker or worker_id()
    report = DispatchReport()
    unavailable = unavailable or {}
    # what is due when the run starts: a row retried during a slow run waits for the next run, instead of being
    # claimed again and then left "sending" (the loop below never delivers a row twice)
    due_by = clock()
    seen: set[int] = set()
    while True:
        with unit_of_work(session_factory) as s:
            rows = [n for n in claim(s, worker, clock(), batch, due_by=due_by) if n.id not in seen]
        if not rows:
            return report
        for n in rows:
            seen.add(n.id)
            _deliver(session_factory, adapters, n, worker, clock, max_attempts, unavailable, report)


def _renew(session_factory: sessionmaker[Session], n: Notification, worker: str, now: datetime) -> bool:
    """Refresh our claim right before sending: a row that waited behind slow sends in a batch may have been
    taken over as abandoned (claim_ttl) by another dispatcher, which then sends it."""
    return _update_claimed(session_factory, n, worker, claimed_at=now)


def _deliver(
    session_factory: sessionmaker[Session],
    adapters: Mapping[str, Adapter],
    n: Notification,
    worker: str,
    clock: Callable[[], datetime],
    max_attempts: int,
    unavailable: Mapping[str, str],
    report: DispatchReport,
) -> None:
    adapter = adapters.get(n.channel)
    if adapter is None:
        reason = unavailable.get(n.channel, f"no adapter for channel {n.channel!r}")
        _finish(session_factory, n, worker, status=NotificationStatus.SKIPPED, last_error=reason)
        report.skipped += 1
        return
    if not _renew(session_factory, n, worker, clock()):
        log.warning("notification %s was taken over by another dispatcher before %s sent it", n.id, worker)
        return
    try:
        ref = adapter.send(n)
    except Exception as exc:
        attempts = n.attempts + 1
        message = str(exc) or type(exc).__name__
        if not isinstance(exc, DeliveryError):
            log.exception("unexpected error delivering notification %s", n.id)
            message = f"{type(exc).__name__}: {message}"
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        if permanent or attempts >= max_attempts:
            _finish(
                session_factory, n, worker, status=NotificationStatus.DEAD, attempts=attempts, last_error=message[:2000]
            )
            report.dead += 1
            log.error(
                "notification %s (%s %s to %s) is dead after %d attempt(s): %s",
                n.id,
                n.channel,
                n.kind,
                n.recipient,
                attempts,
                message,
            )
            return
        retry_after = exc.retry_after if isinstance(exc, DeliveryError) else None
        wait = timedelta(seconds=retry_after) if retry_after else backoff(attempts)
        _finish(
            session_factory,
            n,
            worker,
            status=NotificationStatus.PENDING,
            attempts=attempts,
            last_error=message[:2000],
            next_attempt_at=clock() + wait,
        )
        report.retried += 1
        log.warning(
            "notification %s (%s %s) failed, attempt %d, retrying in %s: %s",
            n.id,
            n.channel,
            n.kind,
            attempts,
            wait,
            message,
        )
        return
    _finish(
        session_factory,
        n,
        worker,
        status=NotificationStatus.SENT,
        attempts=n.attempts + 1,
        sent_at=clock(),
        delivery_ref=ref,
        last_error=None,
    )
    report.sent += 1


def channel_adapters(settings: Settings, workflow: Workflow) -> tuple[dict[str, Adapter], dict[str, str]]:
    """The adapters this installation can deliver through, and why the others are off."""
    from integrations.email import EmailDelivery

    adapters: dict[str, Adapter] = {"email": EmailDelivery(settings, workflow)}
    unavailable: dict[str, str] = {}
    if settings.slack_enabled:
        from integrations.slack.delivery import SlackDelivery

        adapters["slack"] = SlackDelivery(settings, workflow)
    else:
        unavailable["slack"] = "Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"
    return adapters, unavailable


def run_dispatch(runtime: Runtime) -> DispatchReport:
    """One dispatch run with the runtime's settings, workflow and clock (the CLI and the scheduler call this)."""
    adapters, unavailable = channel_adapters(runtime.settings, runtime.workflow)
    report = dispatch(
        runtime.session_factory,
        adapters,
        clock=runtime.now,
        max_attempts=runtime.settings.outbox_max_attempts,
        unavailable=unavailable,
    )
    # one line per run that did something; an idle run every few seconds would drown the log
    log.log(
        logging.INFO if report.sent + report.retried + report.dead + report.skipped else logging.DEBUG,
        "outbox dispatch: %s",
        report,
    )
    return report
