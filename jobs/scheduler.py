"""The scheduler (APScheduler 3): which jobs run when, in the worker or inside the web process.

Every worker may run it. The outbox dispatch is safe to run anywhere at once (rows are claimed); the delay
scan (per five minutes), housekeeping (per day) and each team's digest (per local day) run once per slot
across workers (hub.core.leases). Nothing of the schedule lives only in memory: on start each daily job runs
at once and does what is due and not yet done, so a digest missed while no worker ran goes out, once; and every
few minutes the digests are checked again, so one whose run failed or whose worker died goes out that day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from hub.alerts.queries import DELAY_SCAN_JOB
from hub.core.leases import five_minute_slot, run_once
from hub.core.runtime import Runtime
from jobs.delays import run_delay_scan
from jobs.digests import run_digests
from jobs.dispatch import run_dispatch
from jobs.housekeeping import run_housekeeping

log = logging.getLogger(__name__)

DISPATCH_SECONDS = 5
DELAY_SCAN_MINUTES = 5
DIGEST_CATCH_UP_MINUTES = 5  # a digest whose run failed or was cut short goes out at most this much later
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _logged(name: str, job: Callable[[Runtime], object], runtime: Runtime) -> None:
    """Run one job; a failure is logged and the next run goes on."""
    try:
        job(runtime)
    except Exception:
        log.exception("job %s failed; it runs again at its next time", name)


def _once_per(
    slot: Callable[[datetime], str], name: str, job: Callable[[Runtime], object]
) -> Callable[[Runtime], None]:
    """The job, run once per slot however many workers run the scheduler (hub.core.leases.run_once)."""

    def run(runtime: Runtime) -> None:
        taken = slot(runtime.now())
        if not run_once(runtime.engine, name, taken, lambda: job(runtime), now=runtime.now):
            log.debug("%s for %s: done already or running on another worker", name, taken)

    return run


def _utc_day(now: datetime) -> str:
    return now.astimezone(UTC).date().isoformat()


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
        args=("delay-scan", _once_per(five_minute_slot, DELAY_SCAN_JOB, run_delay_scan), runtime),
        id="delay-scan",
        name="raise delay alerts",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=300,
    )
    scheduler.add_job(
        _logged,
        CronTrigger(hour=3, minute=17, timezone=UTC),
        args=("housekeeping", _once_per(_utc_day, "housekeeping", run_housekeeping), runtime),
        id="housekeeping",
        name="forget old delivered notifications",
        next_run_time=datetime.now(UTC),  # once a day: a day no worker ran at 03:17 is caught up on start
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=6 * 3600,
    )
    scheduler.add_job(
        _logged,
        "interval",
        minutes=DIGEST_CATCH_UP_MINUTES,
        args=("digest-catch-up", run_digests, runtime),
        id="catch-up-digests",
        name="send a digest that is due and was not sent (a failed or interrupted run)",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=300,
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
            next_run_time=datetime.now(UTC),  # a digest due today but missed while no worker ran goes out now
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            misfire_grace_time=3 * 3600,
        )
    return scheduler
