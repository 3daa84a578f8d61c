"""The scheduler (APScheduler 3): which jobs run when, in the worker or inside the web process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from hub.core.runtime import Runtime
from jobs.delays import run_delay_scan
from jobs.digests import run_digests
from jobs.dispatch import run_dispatch
from jobs.housekeeping import run_housekeeping

log = logging.getLogger(__name__)

DISPATCH_SECONDS = 5
DELAY_SCAN_MINUTES = 5
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _logged(name: str, job: Callable[[Runtime], object], runtime: Runtime) -> None:
    """Run one job; a failure is logged and the next run goes on."""
    try:
        job(runtime)
    except Exception:
        log.exception("job %s failed; it runs again at its next time", name)


def build_scheduler(runtime: Runtime, *, blocking: bool = False) -> BaseScheduler:
    """A scheduler with every job registered under a stable id, one instance at a time, runs coalesced."""
    scheduler: BaseScheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=UTC)
    scheduler.add_job(
        _logged,
        "interval",
        seconds=DISPATCH_SECONDS,
        args=("outbox-dispatch", run_dispatch, runtime),
        id="outbox-dispatch",
        name="deliver the outbox",
        next_run_time=datetime.now(UTC),  # a restarted worker delivers at once, not after the first interval
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=60,
    )
    scheduler.add_job(
        _logged,
        "interval",
        minutes=DELAY_SCAN_MINUTES,
        args=("delay-scan", run_delay_scan, runtime),
        id="delay-scan",
        name="raise delay alerts",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=300,
    )
    scheduler.add_job(
        _logged,
        CronTrigger(hour=3, minute=17, timezone=UTC),
        args=("housekeeping", run_housekeeping, runtime),
        id="housekeeping",
        name="forget old delivered notifications",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=6 * 3600,
    )
    for team in runtime.workflow.teams.values():
        if team.digest_time is None:
            continue
        days = ",".join(DAYS[d] for d in sorted(team.working_days))
        trigger = CronTrigger(
            day_of_week=days, hour=team.digest_time.hour, minute=team.digest_time.minute, timezone=team.timezone
        )
        scheduler.add_job(
            _logged,
            trigger,
            args=(f"digest-{team.key}", lambda rt, key=team.key: run_digests(rt, key), runtime),
            id=f"digest-{team.key}",
            name=f"daily digest for {team.name}",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            misfire_grace_time=3 * 3600,
        )
    return scheduler
