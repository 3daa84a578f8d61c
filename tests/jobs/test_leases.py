"""Scheduled jobs run once per slot across workers: a lease per (job, slot) (an advisory transaction lock on
PostgreSQL, a row on SQLite), recorded when done; a dead worker's run is taken over; a failed run is retried."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from hub.core.db import make_engine, make_session_factory
from hub.core.leases import JobRun, five_minute_slot, run_once
from hub.core.runtime import Runtime
from hub.notifications.models import Notification
from jobs.digests import run_digests
from tests.factories import Clock, utc


def _runs(engine: Engine) -> list[tuple[str, str, bool]]:
    with make_session_factory(engine, read_only=True)() as s:
        return [(r.job, r.slot, r.finished_at is not None) for r in s.scalars(select(JobRun).order_by(JobRun.job))]


@pytest.fixture
def engines(database_url: str, db: Engine) -> Iterator[list[Engine]]:
    """Three engines on the test database: three workers' connections."""
    made = [make_engine(database_url) for _ in range(3)]
    yield made
    for e in made:
        e.dispose()


def test_a_slot_runs_once_and_the_next_slot_runs_again(db, clock):
    calls: list[str] = []
    assert run_once(db, "housekeeping", "2026-03-06", lambda: calls.append("a"), now=clock)
    assert not run_once(db, "housekeeping", "2026-03-06", lambda: calls.append("b"), now=clock)
    assert run_once(db, "housekeeping", "2026-03-07", lambda: calls.append("c"), now=clock)
    assert calls == ["a", "c"]
    assert _runs(db) == [("housekeeping", "2026-03-06", True), ("housekeeping", "2026-03-07", True)]


def _race(engines: list[Engine], slot: str, clock: Clock) -> tuple[list[int], list[bool]]:
    """Every engine's worker tries the slot at the same moment; who ran the work, and what each got."""
    calls: list[int] = []
    results: list[bool] = []
    barrier = threading.Barrier(len(engines))

    def worker(i: int, engine: Engine) -> None:
        barrier.wait(10)
        results.append(run_once(engine, "delay-scan", slot, lambda: (calls.append(i), time.sleep(0.2)), now=clock))

    threads = [threading.Thread(target=worker, args=(i, e)) for i, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return calls, results


def test_three_workers_at_the_same_moment_run_it_once(engines, clock):
    for attempt in range(5):
        calls, results = _race(engines, f"2026-03-06T10:{attempt:02d}", clock)
        assert len(calls) == 1, (attempt, calls)
        assert sorted(results) == [False, False, True]


def test_a_failed_run_gives_its_slot_back(db, clock):
    def boom() -> None:
        raise RuntimeError("SMTP is down")

    with pytest.raises(RuntimeError):
        run_once(db, "digest-warehouse", "2026-03-06", boom, now=clock)
    assert _runs(db) == []
    calls: list[int] = []
    assert run_once(db, "digest-warehouse", "2026-03-06", lambda: calls.append(1), now=clock)
    assert calls == [1]


HOLDER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime, timedelta
    from hub.core.db import make_engine
    from hub.core.leases import run_once

    def work():
        print("running", flush=True)
        time.sleep(600)

    run_once(make_engine(sys.argv[1]), "housekeeping", "2026-03-06", work,
             now=lambda: datetime.now(UTC), holder="dead-worker:1", ttl=timedelta(seconds=2))
    """
)


def test_a_worker_killed_mid_run_leaves_the_slot_to_the_next_worker(db, database_url):
    """A real process takes the slot and is killed while it runs: its lock (PostgreSQL) goes with its
    connection at once; its row (SQLite) lapses after its lease. Until then nobody else runs it."""
    calls: list[int] = []
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, database_url], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "running"
        assert not run_once(db, "housekeeping", "2026-03-06", lambda: calls.append(1), now=wall_clock)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    deadline = time.monotonic() + 10
    while not run_once(db, "housekeeping", "2026-03-06", lambda: calls.append(2), now=wall_clock):
        assert time.monotonic() < deadline, "the dead worker's slot was never taken over"
        time.sleep(0.2)
    assert calls == [2]
    assert _runs(db) == [("housekeeping", "2026-03-06", True)]


def wall_clock() -> datetime:
    """The lease is timed by the wall clock, as the killed holder's was."""
    return datetime.now(UTC)


def test_three_workers_send_each_teams_digest_once(runtime, engines, session_factory):
    clock = Clock(utc(2026, 3, 6, 9))  # Friday 10:00 in Amsterdam: every team's 09:00 digest is due
    workers = [Runtime(runtime.settings, runtime.workflow, e, make_session_factory(e), clock=clock) for e in engines]
    barrier = threading.Barrier(len(workers))
    sent: list[list[str]] = []

    def work(rt: Runtime) -> None:
        barrier.wait(10)
        sent.append(run_digests(rt))

    threads = [threading.Thread(target=work, args=(rt,)) for rt in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(team for teams in sent for team in teams) == ["customer_service", "logistics", "warehouse"]
    with session_factory() as s:
        per_team = dict(
            s.execute(
                select(Notification.recipient, func.count())
                .where(Notification.kind == "digest")
                .group_by(Notification.recipient)
            ).all()
        )
    assert set(per_team.values()) == {1}  # one e-mail and one Slack post per team, not one per worker
    assert len(per_team) == 6
    assert sorted(r for r in _runs(runtime.engine)) == [
        ("digest-customer_service", "2026-03-06", True),
        ("digest-logistics", "2026-03-06", True),
        ("digest-warehouse", "2026-03-06", True),
    ]
    # a worker started later the same day finds them done
    assert run_digests(workers[0]) == []


def test_a_digest_is_not_taken_before_it_is_due(runtime):
    runtime.clock = Clock(utc(2026, 3, 6, 7))  # 08:00 in Amsterdam: the 09:00 digests are not due
    assert run_digests(runtime) == []
    assert _runs(runtime.engine) == []  # no slot spent on a digest that was not sent


def test_five_minute_slots():
    assert five_minute_slot(utc(2026, 3, 6, 10, 4, 59)) == "2026-03-06T10:00"
    assert five_minute_slot(utc(2026, 3, 6, 10, 5)) == "2026-03-06T10:05"
    assert five_minute_slot(utc(2026, 3, 6, 23, 59) + timedelta(minutes=1)) == "2026-03-07T00:00"


def test_a_long_run_keeps_its_lease_past_its_lifetime(db, engines):
    """The holder renews its lease while it works: a run longer than the lease's lifetime is not taken over
    (on SQLite; on PostgreSQL the lock lasts as long as the run's transaction)."""
    started = threading.Event()
    result: list[bool] = []

    def long_run() -> None:
        started.set()
        time.sleep(2.5)

    holder = threading.Thread(
        target=lambda: result.append(
            run_once(db, "housekeeping", "2026-03-06", long_run, now=wall_clock, ttl=timedelta(seconds=1))
        )
    )
    holder.start()
    assert started.wait(10)
    time.sleep(1.6)  # past the lease's first lifetime
    assert not run_once(engines[0], "housekeeping", "2026-03-06", lambda: None, now=wall_clock)
    holder.join(30)
    assert result == [True]
