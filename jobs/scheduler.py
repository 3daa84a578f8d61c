"""The scheduler (APScheduler 3): which jobs run when, in the worker or inside the web process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from hub.runtime import Runtime
from jobs.dispatch import run_dispatch

log = logging.getLogger(__name__)

DISPATCH_SECONDS = 5


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
        _logged, "interval", seconds=DISPATCH_SECONDS, args=("outbox-dispatch", run_dispatch, runtime),
        id="outbox-dispatch", name="deliver the outbox", max_instances=1, coalesce=True, replace_existing=True,
        misfire_grace_time=60,
    )
    return scheduler
