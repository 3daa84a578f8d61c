"""Read side of the delay scan, for the /metrics endpoint: its last finished run and the alerts it raised."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.core.leases import JobRun
from hub.returns.models import Event

DELAY_SCAN_JOB = "delay-scan"  # the job name the delay scan's runs are recorded under in job_runs


@dataclass(frozen=True)
class ScanRun:
    """One finished run of the delay scan."""

    started_at: datetime
    finished_at: datetime

    @property
    def seconds(self) -> float:
        """How long it took."""
        return (self.finished_at - self.started_at).total_seconds()


def last_delay_scan(session: Session) -> ScanRun | None:
    """The newest finished run of the delay scan (slots sort by time: the primary key read backwards)."""
    row = session.execute(
        select(JobRun.started_at, JobRun.finished_at)
        .where(JobRun.job == DELAY_SCAN_JOB, JobRun.finished_at.is_not(None))
        .order_by(JobRun.slot.desc())
        .limit(1)
    ).first()
    if row is None or row.finished_at is None:
        return None
    return ScanRun(row.started_at, row.finished_at)


def alerts_raised_since(session: Session, since: datetime) -> dict[str, int]:
    """Delay alerts raised from `since` on, by level ("due_soon", "overdue", "escalated", "promise_broken").

    The events table has no index on its time: the newest event before `since` is found by reading the primary
    key backwards (only the events after it), and the alerts are counted in the id range after it. Events are
    appended in time order; one written with an earlier time later (an import of old history) ends the window
    early, so the count is then low until the window has moved past it.
    """
    floor = select(Event.id).where(Event.created_at < since).order_by(Event.id.desc()).limit(1).scalar_subquery()
    level = Event.payload["level"].as_string()
    rows = session.execute(
        select(level, func.count()).where(Event.id > func.coalesce(floor, 0), Event.kind == "alert").group_by(level)
    ).tuples()
    return {str(lvl): n for lvl, n in rows if lvl is not None}
