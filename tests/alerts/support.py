"""Helpers of the alert tests: a hand-moved clock, teams built in code, and what the scan left behind."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.runtime import Runtime
from hub.notifications.models import Notification
from hub.returns.drafts import validate_draft
from hub.returns.models import Channel, Event, Return
from hub.returns.permissions import Actor
from hub.returns.services import Imported, import_returns, move_return
from hub.workflow import WEEKDAYS, Team, Workflow
from jobs.delays import run_delay_scan
from tests.factories import make_draft

SYSTEM = Actor.system("test", Channel.CLI)


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    """A wall-clock time in a zone, as an aware datetime."""
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


class Clock:
    """A clock the test moves by hand (the runtime's and the web app's now())."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return when


def team(key: str = "t", *, tz: str = "Europe/Amsterdam", days: str = "mon tue wed thu fri",
         hours: tuple[str, str] = ("09:00", "17:00"), holidays: tuple[date, ...] = (), **overrides: Any) -> Team:
    """A team calendar built in code."""
    opens, closes = (time.fromisoformat(h) for h in hours)
    fields: dict[str, Any] = {
        "key": key, "name": key.title(), "color": "#64748b", "timezone": ZoneInfo(tz),
        "working_days": frozenset(WEEKDAYS.index(d) for d in days.split()), "opens": opens, "closes": closes,
        "holidays": frozenset(holidays),
    }
    fields.update(overrides)
    return Team(**fields)


def with_team(workflow: Workflow, key: str, **changes: Any) -> Workflow:
    """The workflow with one team's settings changed."""
    teams = dict(workflow.teams)
    teams[key] = replace(teams[key], **changes)
    return replace(workflow, teams=teams)


def make_returns(session: Session, workflow: Workflow, n: int, *, stage: str, now: datetime,
                 prefix: str = "RMA-") -> list[str]:
    """`n` returns created in one go in `stage` at `now` (an import-like batch: no handoff messages)."""
    rmas = [f"{prefix}{5000 + i}" for i in range(n)]
    today = workflow.today(now)
    import_returns(session, workflow, SYSTEM,
                   [Imported(validate_draft(make_draft(rma=rma), workflow, today), now, stage) for rma in rmas])
    session.flush()
    return rmas


def move(runtime: Runtime, rma: str, to_stage: str, at: datetime, **kwargs: Any) -> None:
    """Move a return in a transaction of its own, as a request does."""
    with runtime.unit_of_work() as s:
        move_return(s, runtime.workflow, SYSTEM, rma, to_stage, now=at, **kwargs)


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
        rows = s.execute(select(Return.rma, Event.payload).join(Return, Return.id == Event.return_id)
                         .where(Event.kind == "alert").order_by(Event.id)).all()
    return [(rma, p["stage"], p["level"]) for rma, p in rows]


def events(runtime: Runtime, rma: str) -> list[tuple[str, datetime, dict[str, Any]]]:
    """A return's events (kind, when, payload) in order."""
    with runtime.read_session_factory() as s:
        rows = s.execute(select(Event.kind, Event.created_at, Event.payload).join(Return)
                         .where(Return.rma == rma).order_by(Event.id)).all()
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


HOUR = timedelta(hours=1)
