"""Singleton leases: a scheduled job's run for one slot (a day, a team's day, five minutes) happens once,
however many workers run the scheduler."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, String, delete, insert, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base

log = logging.getLogger(__name__)


class JobRun(Base):
    """One scheduled job's run for one slot: who holds it, until when, and whether it finished."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(60), primary_key=True)  # "digest-warehouse", "housekeeping", ...
    slot: Mapped[str] = mapped_column(String(40), primary_key=True)  # "2026-12-02", "2026-12-02T10:05", ...
    holder: Mapped[str] = mapped_column(String(100))  # host:pid of the worker that runs it
    started_at: Mapped[datetime]
    lease_until: Mapped[datetime]  # renewed while it runs; a lapsed lease was left by a dead worker
    finished_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<JobRun {self.job} {self.slot} {'done' if self.finished_at else 'running'}>"


LEASE_TTL = timedelta(minutes=1)  # on SQLite: a lease not renewed for this long was left by a dead worker


def holder_id() -> str:
    """Who holds a lease: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def five_minute_slot(now: datetime) -> str:
    """The five-minute slot `now` is in, in UTC ("2026-12-02T10:05")."""
    now = now.astimezone(UTC)
    return now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")


def run_once(
    engine: Engine,
    job: str,
    slot: str,
    work: Callable[[], object],
    *,
    now: Callable[[], datetime],
    holder: str | None = None,
    ttl: timedelta = LEASE_TTL,
) -> bool:
    """Run `work` unless this (job, slot) ran already or is running elsewhere; True when it ran here.

    On PostgreSQL a transaction-level advisory lock on (job, slot) is held for the run (safe behind a
    transaction-pooling PgBouncer), and the finished run is recorded in the same transaction: a worker that
    dies mid-run leaves neither lock nor record, and the next worker runs it. On SQLite a `job_runs` row is the
    lease (the primary key keeps it unique); one left by a dead worker lapses after `ttl`. A run that raises
    gives its slot back, so a later attempt (the next trigger, or a worker starting) runs it again.
    """
    holder = holder or holder_id()
    if engine.dialect.name == "postgresql":
        return _run_once_locked(engine, job, slot, work, now, holder)
    return _run_once_leased(engine, job, slot, work, now, holder, ttl)


def _lock_key(job: str, slot: str) -> int:
    """A signed 64-bit advisory lock key for (job, slot)."""
    digest = hashlib.sha256(f"job-run|{job}|{slot}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _run_once_locked(
    engine: Engine, job: str, slot: str, work: Callable[[], object], now: Callable[[], datetime], holder: str
) -> bool:
    with engine.connect() as conn, conn.begin():
        if not conn.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _lock_key(job, slot)}):
            return False  # running on another worker right now
        if conn.scalar(select(JobRun.finished_at).where(JobRun.job == job, JobRun.slot == slot)) is not None:
            return False
        started = now()
        work()
        finished = now()
        conn.execute(delete(JobRun).where(JobRun.job == job, JobRun.slot == slot))
        conn.execute(
            insert(JobRun).values(
                job=job, slot=slot, holder=holder, started_at=started, lease_until=finished, finished_at=finished
            )
        )
    return True


def _run_once_leased(
    engine: Engine,
    job: str,
    slot: str,
    work: Callable[[], object],
    now: Callable[[], datetime],
    holder: str,
    ttl: timedelta,
) -> bool:
    key = (JobRun.job == job, JobRun.slot == slot)
    started = now()
    with engine.begin() as conn:  # BEGIN IMMEDIATE: one worker at a time decides
        row = conn.execute(select(JobRun.finished_at, JobRun.lease_until).where(*key)).first()
        if row is not None and (row.finished_at is not None or row.lease_until > started):
            return False  # done, or running on another worker
        conn.execute(delete(JobRun).where(*key))
        conn.execute(
            insert(JobRun).values(job=job, slot=slot, holder=holder, started_at=started, lease_until=started + ttl)
        )
    mine = (*key, JobRun.holder == holder, JobRun.finished_at.is_(None))

    def renew() -> bool:  # every third of its lifetime: only a dead worker's lease lapses
        with engine.begin() as conn:
            conn.execute(update(JobRun).where(*mine).values(lease_until=now() + ttl))
        return True

    try:
        with Renewing(renew, ttl.total_seconds() / 3, f"the lease on {job} {slot}"):
            work()
    except BaseException:
        with engine.begin() as conn:
            conn.execute(delete(JobRun).where(*mine))
        raise
    with engine.begin() as conn:
        conn.execute(update(JobRun).where(*mine).values(finished_at=now()))
    return True


class Renewing:
    """Calls `renew` every `every` seconds in a thread of its own while the `with` block runs, so a lease or claim
    held by a live process never lapses and only a dead one's does. It stops early when `renew` says False (the
    lease was taken over); a renewal that fails is logged and tried again at the next beat."""

    def __init__(self, renew: Callable[[], bool], every: float, what: str) -> None:
        self.renew, self.every, self.what = renew, every, what
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"renew {what}", daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                if not self.renew():
                    return
            except Exception:
                log.exception("cannot renew %s; trying again", self.what)

    def __enter__(self) -> Renewing:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.thread.join()
