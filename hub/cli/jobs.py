"""Background work: `dispatch` delivers the outbox once; `worker` runs every scheduled job."""

from __future__ import annotations

import contextlib

import click

from hub.cli.common import Context, fail


@click.command("dispatch")
@click.pass_obj
def dispatch_cmd(ctx: Context) -> None:
    """Deliver every notification that is due now (e-mail, Slack), once, and say what happened."""
    from jobs.dispatch import run_dispatch

    rt = ctx.ready_runtime()
    try:
        report = run_dispatch(rt)
    except ValueError as exc:  # a bad HUB_SMTP_URL or HUB_MAIL_FROM
        fail(str(exc))
    click.echo(f"Outbox: {report}.")


@click.command("worker")
@click.pass_obj
def worker_cmd(ctx: Context) -> None:
    """Run the scheduled jobs (outbox delivery every few seconds) until stopped with Ctrl+C or SIGTERM."""
    import logging
    import signal

    from jobs.scheduler import build_scheduler

    rt = ctx.ready_runtime()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # each job logs its own line
    scheduler = build_scheduler(rt, blocking=True)

    def _stop(_signum: int, _frame: object) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    jobs = ", ".join(f"{j.id} ({j.trigger})" for j in scheduler.get_jobs())
    click.echo(f"Returns Hub worker: {jobs}. Ctrl+C to stop.")
    with contextlib.suppress(KeyboardInterrupt):
        scheduler.start()
    click.echo("Worker stopped.")
