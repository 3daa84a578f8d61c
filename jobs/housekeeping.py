"""Housekeeping: forget what is only kept for a while (delivered notifications, processed requests, failed logins)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete
from sqlalchemy.orm import Session

from hub.accounts.logins import expired_logins
from hub.accounts.models import LoginAttempt
from hub.core.leases import JobRun
from hub.core.runtime import Runtime
from hub.notifications.models import Notification, NotificationStatus, ProcessedRequest

log = logging.getLogger(__name__)
KEEP_DELIVERED = timedelta(days=30)  # sent and skipped notifications stay visible this long
KEEP_PROCESSED = timedelta(days=30)  # Slack retries come within minutes; digests are keyed by day
KEEP_FAILED_LOGINS = timedelta(days=1)  # the lock-out window is 15 minutes
KEEP_JOB_RUNS = timedelta(days=7)  # a slot is at most a day: a week of runs shows what ran where


def run_housekeeping(runtime: Runtime) -> dict[str, int]:
    """Delete rows past their keeping time; logs one line. Failed and dead notifications are kept."""
    now = runtime.now()
    with runtime.unit_of_work() as s:
        done = {
            "notifications": _deleted(
                s,
                delete(Notification).where(
                    Notification.status.in_((NotificationStatus.SENT, NotificationStatus.SKIPPED)),
                    Notification.created_at < now - KEEP_DELIVERED,
                ),
            ),
            "processed requests": _deleted(
                s, delete(ProcessedRequest).where(ProcessedRequest.received_at < now - KEEP_PROCESSED)
            ),
            "failed logins": _deleted(s, delete(LoginAttempt).where(LoginAttempt.at < now - KEEP_FAILED_LOGINS)),
            "expired logins": _deleted(s, expired_logins(now)),  # refused once expired: this only tidies up
            "job runs": _deleted(s, delete(JobRun).where(JobRun.started_at < now - KEEP_JOB_RUNS)),
        }
    log.info("housekeeping: deleted %s", ", ".join(f"{n} {what}" for what, n in done.items()))
    return done


def _deleted(session: Session, stmt: Delete) -> int:
    """Run a DELETE; the number of rows it removed."""
    # a DELETE runs on a cursor: Session.execute is typed to return a plain Result, which has no rowcount
    return cast(CursorResult[Any], session.execute(stmt)).rowcount
