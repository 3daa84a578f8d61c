"""Two workers scanning the same due returns at the same instant raise each alert exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from hub.alerts.scan import ScanReport
from hub.core.db import make_engine, make_session_factory
from hub.core.runtime import Runtime
from hub.notifications.models import Notification
from hub.returns.models import Event
from jobs.delays import run_delay_scan
from tests.factories import Clock, make_returns, utc

N = 200
# "Received — to inspect", entered Thursday 5 March 2026 10:00 Amsterdam: see test_alert_levels
STEPS = [
    (utc(2026, 3, 6, 6, 45), "due_soon", 2),  # the team's channel and address
    (utc(2026, 3, 6, 9), "overdue", 2),
    (utc(2026, 3, 9, 9), "escalated", 4),  # and the escalation channel and address
    (utc(2026, 3, 19, 9), "promise_broken", 4),
]


@pytest.fixture(params=["one runtime", "two runtimes"])
def workers(request, runtime) -> Iterator[tuple[Runtime, Runtime]]:
    """Two workers: threads sharing the app's runtime, or two runtimes (own engines) on the same database."""
    if request.param == "one runtime":
        yield runtime, runtime
        return
    engine = make_engine(runtime.settings.database_url)
    other = Runtime(
        runtime.settings, runtime.workflow, engine, make_session_factory(engine), clock=Clock(runtime.now())
    )
    yield runtime, other
    engine.dispose()


def _race(workers: tuple[Runtime, Runtime]) -> list[ScanReport]:
    """Both workers scan at once (small batches, so their transactions interleave); their reports."""
    barrier = threading.Barrier(len(workers))
    reports: list[ScanReport] = []
    errors: list[BaseException] = []

    def work(rt: Runtime) -> None:
        try:
            barrier.wait(timeout=30)
            reports.append(run_delay_scan(rt, batch=25))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(rt,)) for rt in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not [t for t in threads if t.is_alive()], "a worker hangs"
    if errors:
        raise errors[0]
    return reports


def test_two_workers_raise_each_alert_exactly_once(session, workflow, now, workers):
    make_returns(session, workflow, N, stage="received", now=now)
    session.commit()
    first, _ = workers
    for at, level, routes in STEPS:
        for rt in workers:
            rt.clock.set(at)
        reports = _race(workers)
        assert sum(r.raised.get(level, 0) for r in reports) == N, level
        assert sum(r.notifications for r in reports) == N * routes, level
        # and once more each, at the same instant: nothing left to raise
        assert all(not r.raised for r in _race(workers))

    with first.read_session_factory() as s:
        per_return = Counter(
            (rid, p["level"])
            for rid, p in s.execute(select(Event.return_id, Event.payload).where(Event.kind == "alert"))
        )
        messages = Counter(
            (p["rma"], p["level"], channel, to)
            for p, channel, to in s.execute(
                select(Notification.payload, Notification.channel, Notification.recipient).where(
                    Notification.kind == "alert"
                )
            )
        )
        alert_rows = s.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "alert"))
    assert len(per_return) == N * len(STEPS)
    assert set(per_return.values()) == {1}
    assert set(messages.values()) == {1}  # no message twice to anyone
    assert alert_rows == N * sum(routes for *_, routes in STEPS)
