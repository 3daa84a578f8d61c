"""Daily digests: each team's open, overdue, due-today, blocked and unassigned returns, once a working day."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.notifications.models import ProcessedRequest
from hub.notifications.outbox import enqueue
from hub.returns.models import Return
from hub.workflow import Team, Workflow
from hub.workflow.calendar import is_working_day

DIGEST_LIST = 15  # returns listed per section; the counts are always complete


def digest_due(team: Team, now: datetime) -> date | None:
    """The team's local date when its digest time has passed today on a working day, else None."""
    if team.digest_time is None:
        return None
    local = now.astimezone(team.timezone)
    if not is_working_day(local.date(), team) or local.time() < team.digest_time:
        return None
    return local.date()


def build_digest(session: Session, workflow: Workflow, team: Team, now: datetime) -> dict[str, Any]:
    """What a team's digest says: open count, overdue oldest first, due today, blocked, unassigned."""
    stage_keys = [s.key for s in workflow.open_stages if s.team == team.key]
    base = (
        select(Return.rma, Return.customer_name, Return.stage, Return.stage_due_at, User.name)
        .outerjoin(User, User.id == Return.assignee_id)
        .where(Return.closed_at.is_(None), Return.stage.in_(stage_keys))
    )
    local = now.astimezone(team.timezone)
    end_of_day = datetime.combine(local.date(), time(23, 59, 59), tzinfo=team.timezone)

    def listed(stmt: Select[Any]) -> list[dict[str, Any]]:
        return [
            {
                "rma": rma,
                "customer_name": name,
                "stage_name": workflow.stages[stage].name,
                "due_at": due.isoformat() if due else None,
                "assignee": assignee,
            }
            for rma, name, stage, due, assignee in session.execute(stmt.limit(DIGEST_LIST))
        ]

    def count(*conditions: Any) -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(Return)
                .where(Return.closed_at.is_(None), Return.stage.in_(stage_keys), *conditions)
            )
            or 0
        )

    overdue_c = Return.stage_due_at <= now
    today_c = (Return.stage_due_at > now) & (Return.stage_due_at <= end_of_day)
    blocked_c = Return.is_blocked.is_(True)
    unassigned_c = Return.assignee_id.is_(None)
    return {
        "team": team.key,
        "team_name": team.name,
        "date": local.date().isoformat(),
        "open_count": count(),
        "overdue_count": count(overdue_c),
        "overdue": listed(base.where(overdue_c).order_by(Return.stage_due_at)),
        "due_today_count": count(today_c),
        "due_today": listed(base.where(today_c).order_by(Return.stage_due_at)),
        "blocked_count": count(blocked_c),
        "blocked": listed(base.where(blocked_c).order_by(Return.stage_entered_at)),
        "unassigned_count": count(unassigned_c),
        "unassigned": listed(base.where(unassigned_c).order_by(Return.stage_entered_at)),
    }


def send_digest(session: Session, workflow: Workflow, team: Team, now: datetime, *, force: bool = False) -> bool:
    """Queue today's digest for a team once (a second worker finds it done); False when not due or done."""
    day = digest_due(team, now)
    if day is None and not force:
        return False
    day = day or now.astimezone(team.timezone).date()
    key = f"digest:{team.key}:{day.isoformat()}"
    try:
        with session.begin_nested():
            session.add(ProcessedRequest(key=key, received_at=now))
            session.flush()
    except IntegrityError:
        return False
    payload = build_digest(session, workflow, team, now)
    for channel, recipient in (("slack", team.slack_channel), ("email", team.email)):
        if recipient:
            enqueue(
                session, channel=channel, kind="digest", recipient=recipient, payload=payload, return_id=None, now=now
            )
    session.flush()
    return True


def digest_teams(workflow: Workflow) -> list[Team]:
    """Teams that get a digest."""
    return [t for t in workflow.teams.values() if t.digest_time is not None]
