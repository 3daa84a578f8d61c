"""The outbox dispatcher: claims due notifications, delivers them, retries with backoff.

Claims are rows marked `sending` by one dispatcher in a short transaction (`FOR UPDATE SKIP LOCKED`
on PostgreSQL; SQLite's write lock serialises claims), so two dispatchers never take the same row.
A dispatcher claims one row at a time and renews its claim every few seconds while the send is in
progress, so a claim left behind by a crashed dispatcher is one row, taken over after a short `claim_ttl`.

Delivery is at least once, with the same Message-ID: a crash after the far side accepted a message but
before the row is marked sent, or a server that does not answer the end of a message (delivery unknown,
tried again only after UNKNOWN_WAIT), can give a second copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import Settings
from hub.core.db import unit_of_work, utcnow
from hub.core.leases import Renewing, holder_id
from hub.core.runtime import Runtime
from hub.notifications.delivery import Adapter, DeliveryError, DeliveryUnknown
from hub.notifications.models import UNKNOWN_PREFIX, Notification, NotificationStatus
from hub.notifications.pace import SharedPace
from hub.workflow import Workflow

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
CLAIM_TTL = timedelta(seconds=15)  # a claim not renewed for this long was left by a crashed dispatcher
RENEW_EVERY = 3.0  # seconds: how often a claim is renewed while its send is in progress
SLACK_INTERVAL = 1.0  # seconds between two messages to one Slack channel, across every dispatcher
UNKNOWN_WAIT = timedelta(hours=1)  # the wait after "delivery unknown": the far side may have the message


@dataclass
class DispatchReport:
    """What one dispatch run did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0
    unknown: int = 0  # no answer after the end of the message: tried again after UNKNOWN_WAIT

    def __str__(self) -> str:
        text = f"sent {self.sent}, retrying {self.retried}, dead {self.dead}, skipped {self.skipped}"
        return f"{text}, delivery unknown {self.unknown}" if self.unknown else text


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 30 s, 1 min, 2 min, ... at most an hour."""
    factor: int = 2 ** max(0, attempts - 1)  # typeshed types int ** int as Any (a negative power is a float)
    return min(BACKOFF_CAP, BACKOFF_BASE * factor)


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
    batch: int = 1,
    worker: str | None = None,
    unavailable: Mapping[str, str] | None = None,
) -> DispatchReport:
    """Deliver every notification due now, once; failures wait for their next attempt.

    It claims `batch` rows at a time (one by default: a crash strands no more than the row being sent).

    `unavailable` maps a channel that is not configured here to the reason: its notifications are
    marked skipped, not retried forever.
    """
    worker = worker or holder_id()  # host and process, as for a job's lease
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


def _keep_claim(
    session_factory: sessionmaker[Session], n: Notification, worker: str, clock: Callable[[], datetime]
) -> Renewing:
    """Renews a claim every RENEW_EVERY seconds while its send is in progress (a send may wait minutes for a
    mail server's answer), so only a crashed dispatcher's claim goes stale."""

    def renew() -> bool:
        if _renew(session_factory, n, worker, clock()):
            return True
        log.warning("notification %s was taken over by another dispatcher while %s sent it", n.id, worker)
        return False

    return Renewing(renew, RENEW_EVERY, f"the claim on notification {n.id}")


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
        with _keep_claim(session_factory, n, worker, clock):
            ref = adapter.send(n)
    except Exception as exc:
        attempts = n.attempts + 1
        message = str(exc) or type(exc).__name__
        unknown = isinstance(exc, DeliveryUnknown)
        if unknown and not message.startswith(UNKNOWN_PREFIX):
            message = f"{UNKNOWN_PREFIX}{message}"
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
        if unknown:  # the far side may have it: a second copy, if any, comes late and with the same Message-ID
            wait = max(wait, UNKNOWN_WAIT)
        _finish(
            session_factory,
            n,
            worker,
            status=NotificationStatus.PENDING,
            attempts=attempts,
            last_error=message[:2000],
            next_attempt_at=clock() + wait,
        )
        if unknown:
            report.unknown += 1
        else:
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


def channel_adapters(
    settings: Settings, workflow: Workflow, engine: Engine | None = None
) -> tuple[dict[str, Adapter], dict[str, str]]:
    """The adapters this installation can deliver through, and why the others are off. With an `engine`,
    Slack's one message a second per channel is kept in the database, shared by every dispatcher."""
    from integrations.email import EmailDelivery

    adapters: dict[str, Adapter] = {"email": EmailDelivery(settings, workflow)}
    unavailable: dict[str, str] = {}
    if settings.slack_enabled:
        from integrations.slack.delivery import SlackDelivery

        pace = SharedPace(engine, SLACK_INTERVAL, prefix="slack:") if engine is not None else None
        adapters["slack"] = SlackDelivery(settings, workflow, throttle=pace)
    else:
        unavailable["slack"] = "Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"
    return adapters, unavailable


def run_dispatch(runtime: Runtime) -> DispatchReport:
    """One dispatch run with the runtime's settings, workflow and clock (the CLI and the scheduler call this)."""
    adapters, unavailable = channel_adapters(runtime.settings, runtime.workflow, runtime.engine)
    report = dispatch(
        runtime.session_factory,
        adapters,
        clock=runtime.now,
        max_attempts=runtime.settings.outbox_max_attempts,
        unavailable=unavailable,
    )
    # one line per run that did something; an idle run every few seconds would drown the log
    log.log(
        logging.INFO if report.sent + report.retried + report.dead + report.skipped + report.unknown else logging.DEBUG,
        "outbox dispatch: %s",
        report,
    )
    return report
