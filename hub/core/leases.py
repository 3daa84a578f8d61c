"""Singleton leases: a scheduled job's run for one slot (a day, a team's day, five minutes) happens once,
however many workers run the scheduler."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base


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
