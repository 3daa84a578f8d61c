"""The scheduler: which jobs, under which ids and triggers; a failing run is logged and the next one goes on."""

from __future__ import annotations

import itertools
import logging
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs.scheduler import _logged, build_scheduler
from tests.alerts.support import alerts, digests
from tests.factories import local, make_return, utc, with_team

JOB_IDS = {"outbox-dispatch", "delay-scan", "digest-customer_service", "digest-logistics", "digest-warehouse"}


def _jobs(scheduler) -> dict:
    return {job.id: job for job in scheduler.get_jobs()}


def _digest_ids(jobs: dict) -> set[str]:
    return {i for i in jobs if i.startswith("digest-")}


def test_every_job_is_registered_once_under_a_stable_id(runtime):
    registered = build_scheduler(runtime).get_jobs()
    jobs = {job.id: job for job in registered}
    assert len(jobs) == len(registered)  # no id twice
    assert set(jobs) >= JOB_IDS  # other jobs (housekeeping) may join them
    assert _digest_ids(jobs) == {"digest-customer_service", "digest-logistics", "digest-warehouse"}
    for job in jobs.values():
        assert job.max_instances == 1, job.id
        assert job.coalesce is True, job.id
        assert job.misfire_grace_time >= 60, job.id
    assert isinstance(jobs["outbox-dispatch"].trigger, IntervalTrigger)
    assert jobs["outbox-dispatch"].trigger.interval == timedelta(seconds=5)
    assert jobs["delay-scan"].trigger.interval == timedelta(minutes=5)
    assert isinstance(build_scheduler(runtime, blocking=True), BlockingScheduler)


def test_building_twice_gives_the_same_ids(runtime):
    first, second = set(_jobs(build_scheduler(runtime))), set(_jobs(build_scheduler(runtime)))
    assert first == second >= JOB_IDS


def test_digest_jobs_run_at_the_digest_time_in_the_teams_zone_on_its_working_days(workflow, runtime):
    wf = with_team(
        workflow, "warehouse", timezone=ZoneInfo("America/New_York"), working_days=frozenset({0, 1, 2, 3, 4, 5})
    )  # and Saturdays
    wf = with_team(wf, "logistics", digest_time=None)
    wf = with_team(wf, "customer_service", digest_time=time(8, 30))
    jobs = _jobs(build_scheduler(replace(runtime, workflow=wf)))
    assert _digest_ids(jobs) == {"digest-customer_service", "digest-warehouse"}  # logistics has none
    assert {"outbox-dispatch", "delay-scan"} <= set(jobs)

    cs, warehouse = jobs["digest-customer_service"].trigger, jobs["digest-warehouse"].trigger
    assert isinstance(cs, CronTrigger)
    assert str(cs.timezone) == "Europe/Amsterdam"
    assert str(warehouse.timezone) == "America/New_York"
    fields = {f.name: str(f) for f in cs.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon,tue,wed,thu,fri", "8", "30")
    assert {f.name: str(f) for f in warehouse.fields}["day_of_week"] == "mon,tue,wed,thu,fri,sat"

    def fires_after(trigger, moment):
        return trigger.get_next_fire_time(None, moment)

    # Thursday 10:00 Amsterdam: the next one is Friday 08:30; after Friday's, Monday's
    assert fires_after(cs, utc(2026, 3, 5, 9)) == local("Europe/Amsterdam", 2026, 3, 6, 8, 30)
    assert fires_after(cs, utc(2026, 3, 6, 8)) == local("Europe/Amsterdam", 2026, 3, 9, 8, 30)
    # across the European switch to summer time: 08:30 CEST is 06:30 UTC
    assert fires_after(cs, utc(2026, 3, 27, 9)) == utc(2026, 3, 30, 6, 30)
    # New York: Saturday is a working day here; after the US switch 09:00 is 13:00 UTC
    assert fires_after(warehouse, utc(2026, 3, 6, 15)) == local("America/New_York", 2026, 3, 7, 9)
    assert fires_after(warehouse, utc(2026, 3, 7, 15)) == utc(2026, 3, 9, 13)


def test_a_digest_job_sends_only_its_teams_digest(runtime):
    job = _jobs(build_scheduler(runtime))["digest-warehouse"]
    runtime.clock = lambda: utc(2026, 3, 5, 8)
    job.func(*job.args, **job.kwargs)
    assert {(n.payload["team"], n.channel) for n in digests(runtime)} == {
        ("warehouse", "slack"),
        ("warehouse", "email"),
    }


def test_a_job_that_raises_is_logged_and_the_next_run_goes_on(session, workflow, runtime, now, caplog):
    rma = make_return(session, workflow, stage="received", now=now).rma
    session.commit()
    job = _jobs(build_scheduler(runtime))["delay-scan"]
    moments = itertools.chain([RuntimeError("the database went away")], itertools.repeat(utc(2026, 3, 6, 9)))

    def flaky_clock():
        value = next(moments)
        if isinstance(value, Exception):
            raise value
        return value

    runtime.clock = flaky_clock
    with caplog.at_level(logging.INFO):
        job.func(*job.args, **job.kwargs)  # the wrapper the scheduler calls: it must not raise
        failures = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(failures) == 1
        assert "job delay-scan failed" in failures[0].getMessage()
        assert "the database went away" in failures[0].exc_text
        job.func(*job.args, **job.kwargs)
    assert alerts(runtime) == [(rma, "received", "overdue")]
    lines = [r.getMessage() for r in caplog.records if r.name == "jobs.delays"]
    assert lines == [
        "delay scan: checked 1 return(s) whose alert time had come: 1 overdue; 0 snooze(s) ended; "
        "2 notification(s) queued"
    ]


def test_the_wrapper_logs_any_failing_job(runtime, caplog):
    calls = []

    def boom(rt):
        calls.append(rt)
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="jobs.scheduler"):
        _logged("boom", boom, runtime)
        _logged("boom", boom, runtime)
    assert len(calls) == 2
    assert [r.getMessage() for r in caplog.records] == ["job boom failed; it runs again at its next time"] * 2


def test_a_starting_worker_runs_the_daily_jobs_and_the_scan_at_once(runtime):
    """Nothing of the schedule lives only in memory: a digest due today that no worker sent (none ran at its
    time) goes out when one starts; each job then does only what is due and not done (tests/jobs/test_leases)."""
    before = datetime.now(UTC)
    jobs = _jobs(build_scheduler(runtime))
    for job_id in ("delay-scan", "housekeeping", "digest-customer_service", "digest-logistics", "digest-warehouse"):
        first = jobs[job_id].next_run_time
        assert before - timedelta(seconds=1) <= first <= datetime.now(UTC) + timedelta(seconds=1), job_id


def test_digests_are_checked_again_every_few_minutes_so_a_failed_run_goes_out_that_day(runtime, session_factory):
    runtime.clock = lambda: utc(2026, 3, 6, 11)  # Friday noon in Amsterdam: the 09:00 digests are due, none sent
    job = _jobs(build_scheduler(runtime))["catch-up-digests"]
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(minutes=5)
    job.func(*job.args, **job.kwargs)
    sent = sorted(n.payload["team"] for n in digests(runtime))
    assert sent == ["customer_service", "customer_service", "logistics", "logistics", "warehouse", "warehouse"]
    job.func(*job.args, **job.kwargs)  # and once only
    assert len(digests(runtime)) == 6
