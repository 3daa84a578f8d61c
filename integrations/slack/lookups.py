"""What Slack shows: a return's facts, lists of returns (mine, a team's queue, the overdue ones) and queue sizes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload

from hub.accounts.models import User
from hub.returns.models import Event, Return
from hub.returns.notices import return_facts
from hub.returns.permissions import may_act_on, stages_reachable
from hub.returns.timeline import describe_event
from hub.workflow import Team, Workflow
from integrations.slack.blocks import MAX_LIST, cut, when

LAST_EVENTS = 5


def find_returns(session: Session, text: str, limit: int = MAX_LIST + 1) -> list[Return]:
    """The return with this RMA, or else the returns of this order number (case-insensitive)."""
    text = text.strip()
    r = session.scalar(select(Return).where(Return.rma == text.upper()))
    if r is not None:
        return [r]
    stmt = select(Return).where(Return.order_number.in_({text, text.upper()})).order_by(Return.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def event_text(e: Event, workflow: Workflow) -> str:
    """One timeline entry as Slack shows it: the shared wording, with its note cut short."""
    said = describe_event(
        e.kind,
        e.payload or {},
        workflow,
        from_stage=e.from_stage,
        to_stage=e.to_stage,
        format_time=lambda iso: when(iso, "{date_short} {time}"),
    )
    if not said.detail:
        return said.line
    detail = cut(said.detail, 120)
    return f"{said.line}: “{detail}”" if said.quoted else f"{said.line}: {detail}"


def detail_facts(session: Session, workflow: Workflow, r: Return, now: datetime, actor: Any) -> dict[str, Any]:
    """Everything `/returns <RMA>` shows: the notification facts, state, the last events and the moves allowed."""
    facts: dict[str, Any] = {**return_facts(r, workflow)}
    events = list(
        session.scalars(select(Event).where(Event.return_id == r.id).order_by(Event.id.desc()).limit(LAST_EVENTS))
    )
    facts.update(
        closed=r.is_closed,
        is_blocked=r.is_blocked,
        blocked_reason=r.blocked_reason,
        overdue=bool(r.stage_due_at and not r.is_closed and r.stage_due_at <= now),
        events=[
            {"at": e.created_at, "actor": e.actor_label, "channel": e.channel.value, "text": event_text(e, workflow)}
            for e in reversed(events)
        ],
        next_stages=[{"key": s.key, "name": s.name} for s in stages_reachable(workflow, actor, r)]
        if r.stage in workflow.stages
        else [],
        may_act=may_act_on(actor, workflow, r.stage),
    )
    return facts


def with_next_stages(facts: Mapping[str, Any], workflow: Workflow) -> dict[str, Any]:
    """Facts plus every stage the return may move to next (as a handoff message offers them)."""
    stage = workflow.stages.get(facts["stage"])
    return {
        **facts,
        "next_stages": [{"key": k, "name": workflow.stages[k].name} for k in (stage.next if stage else ())],
    }


def _rows_select() -> Select[Any]:
    return select(
        Return.rma, Return.customer_name, Return.stage, Return.stage_due_at, Return.is_blocked, User.name
    ).outerjoin(User, User.id == Return.assignee_id)


def _rows(session: Session, workflow: Workflow, stmt: Select[Any], now: datetime) -> list[dict[str, Any]]:
    out = []
    for rma, customer, stage, due, blocked, assignee in session.execute(stmt):
        name = workflow.stages[stage].name if stage in workflow.stages else stage
        out.append(
            {
                "rma": rma,
                "customer_name": customer,
                "stage": stage,
                "stage_name": name,
                "due_at": due,
                "is_blocked": blocked,
                "assignee": assignee,
                "overdue": bool(due and due <= now),
            }
        )
    return out


def _urgent_first(stmt: Select[Any]) -> Select[Any]:
    # returns without a clock (none in open stages by default) last
    return stmt.order_by(Return.stage_due_at.is_(None), Return.stage_due_at, Return.id)


def assigned_to(
    session: Session, workflow: Workflow, user_id: int, now: datetime, limit: int = MAX_LIST
) -> tuple[list[dict[str, Any]], int]:
    """The open returns assigned to a user, most urgent first, and how many there are."""
    where = (Return.assignee_id == user_id, Return.closed_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Return).where(*where)) or 0
    rows = _rows(session, workflow, _urgent_first(_rows_select().where(*where)).limit(limit), now)
    return rows, total


def team_stage_keys(workflow: Workflow, team_keys: list[str]) -> list[str]:
    """The open stages these teams own."""
    return [s.key for s in workflow.open_stages if s.team in team_keys]


def team_returns(
    session: Session,
    workflow: Workflow,
    team_keys: list[str],
    now: datetime,
    *,
    overdue_only: bool,
    limit: int = MAX_LIST,
) -> tuple[list[dict[str, Any]], int]:
    """Open returns in these teams' stages (only the overdue ones, if asked), most urgent first, and the count."""
    stages = team_stage_keys(workflow, team_keys)
    if not stages:
        return [], 0
    where: list[ColumnElement[bool]] = [Return.closed_at.is_(None), Return.stage.in_(stages)]
    if overdue_only:
        where.append(Return.stage_due_at <= now)
    total = session.scalar(select(func.count()).select_from(Return).where(*where)) or 0
    rows = _rows(session, workflow, _urgent_first(_rows_select().where(*where)).limit(limit), now)
    return rows, total


def queue_sizes(session: Session, workflow: Workflow, team_keys: list[str], now: datetime) -> list[dict[str, Any]]:
    """Per team: open, unassigned and overdue returns in its stages."""
    out = []
    for key in team_keys:
        stages = team_stage_keys(workflow, [key])
        if not stages:
            continue
        open_count, unassigned, overdue = session.execute(
            select(
                func.count(),
                func.count().filter(Return.assignee_id.is_(None)),
                func.count().filter(Return.stage_due_at <= now),
            ).where(Return.closed_at.is_(None), Return.stage.in_(stages))
        ).one()
        out.append(
            {
                "team": key,
                "team_name": workflow.teams[key].name,
                "open": open_count,
                "unassigned": unassigned,
                "overdue": overdue,
            }
        )
    return out


def find_team(workflow: Workflow, text: str) -> Team:
    """A team by key or name, or a unique start of either (case-insensitive); KeyError names the teams."""
    needle = text.strip().lower()
    teams = list(workflow.teams.values())
    matches = [t for t in teams if needle in (t.key, t.name.lower())] or [
        t
        for t in teams
        if t.key.startswith(needle) or t.name.lower().startswith(needle) or t.key.replace("_", " ").startswith(needle)
    ]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(f"`{t.key}`" for t in teams)
    if not matches:
        raise KeyError(f"No team matches “{text}”; teams are: {names}.")
    raise KeyError(f"“{text}” matches several teams: {', '.join(t.key for t in matches)}.")


def users_by_handle(session: Session, handle: str) -> list[User]:
    """Active users whose e-mail starts with handle@ (the hub's @mention handle) or is the given address."""
    handle = handle.lstrip("@").lower()
    escaped = handle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    cond = User.email == handle if "@" in handle else User.email.like(f"{escaped}@%", escape="\\")
    return list(
        session.scalars(select(User).where(User.is_active.is_(True), cond).options(selectinload(User.teams)).limit(2))
    )
