"""Helpers of the alert tests: a move and a scan at a given moment, and what the scan left behind."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from hub.core.runtime import Runtime
from hub.notifications.models import Notification
from hub.returns.models import Event, Return
from jobs.delays import run_delay_scan
from tests import factories
from tests.factories import Clock

HOUR = timedelta(hours=1)


def move(runtime: Runtime, rma: str, to_stage: str, at: datetime, **kwargs: Any) -> None:
    """Move a return in a transaction of its own, as a request does (tests.factories.move on the runtime)."""
    factories.move(runtime.session_factory, runtime.workflow, rma, to_stage, now=at, **kwargs)


def scan(runtime: Runtime, at: datetime, *, times: int = 1) -> None:
    """Run the delay scan job `times` times at one instant."""
    if isinstance(runtime.clock, Clock):
        runtime.clock.set(at)
    else:
        runtime.clock = Clock(at)
    for _ in range(times):
        run_delay_scan(runtime)


def alerts(runtime: Runtime) -> list[tuple[str, str, str]]:
    """Every alert event: (rma, stage, level), in the order they were written."""
    with runtime.read_session_factory() as s:
        rows = s.execute(
            select(Return.rma, Event.payload)
            .join(Return, Return.id == Event.return_id)
            .where(Event.kind == "alert")
            .order_by(Event.id)
        ).all()
    return [(rma, p["stage"], p["level"]) for rma, p in rows]


def events(runtime: Runtime, rma: str) -> list[tuple[str, datetime, dict[str, Any]]]:
    """A return's events (kind, when, payload) in order."""
    with runtime.read_session_factory() as s:
        rows = s.execute(
            select(Event.kind, Event.created_at, Event.payload).join(Return).where(Return.rma == rma).order_by(Event.id)
        ).all()
    return [tuple(r) for r in rows]


def alert_messages(runtime: Runtime) -> list[tuple[str, str, str, str]]:
    """Every alert in the outbox: (rma, level, channel, recipient), in order."""
    with runtime.read_session_factory() as s:
        rows = s.scalars(select(Notification).where(Notification.kind == "alert").order_by(Notification.id)).all()
    return [(n.payload["rma"], n.payload["level"], n.channel, n.recipient) for n in rows]


def digests(runtime: Runtime) -> list[Notification]:
    """Every digest in the outbox, in order."""
    with runtime.read_session_factory() as s:
        return list(s.scalars(select(Notification).where(Notification.kind == "digest").order_by(Notification.id)))


def routes(runtime: Runtime, rma: str, level: str) -> Counter[tuple[str, str]]:
    """Where one alert of one return went: (channel, recipient) -> how many messages."""
    return Counter((c, to) for r, lv, c, to in alert_messages(runtime) if r == rma and lv == level)


def stored(runtime: Runtime, rma: str) -> Return:
    """The return as the database holds it now."""
    with runtime.read_session_factory() as s:
        r = s.scalar(select(Return).where(Return.rma == rma))
        assert r is not None
        s.expunge(r)
        return r
