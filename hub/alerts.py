"""Delay alerts and daily digests: no return sits unnoticed in any team's stage.

Each stage entry stores its due-soon, due and escalation times and the next time an alert is owed
(`next_alert_at`), so the delay scan is one indexed query over the returns whose time has come, never
a loop over every open return. Each level is raised once per stage entry: the highest level raised is
stored on the return (`alert_level`, reset when it enters another stage) in the same transaction as the
alert's event and notifications, and the scan claims its rows (row locks skipped by a second worker
on PostgreSQL; the write lock on SQLite), so two workers never raise the same alert.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.accounts.models import Role, User, memberships
from hub.notifications.models import Notification, ProcessedRequest, new_message_key
from hub.notifications.outbox import return_facts
from hub.returns.models import AlertLevel, Channel, Event, Return, ReturnItem
from hub.sla import due_at, due_soon_at, is_working_day
from hub.workflow import Stage, Team, Workflow

SCAN_ACTOR = "Returns Hub (delay scan)"


# --- the clocks of one stage entry -----------------------------------------------------------


def start_stage_clocks(r: Return, stage: Stage, workflow: Workflow, now: datetime) -> None:
    """A return enters `stage` at `now`: set its due-soon, due and escalation times and its alert clock."""
    team = workflow.team_of(stage.key) if stage.key in workflow.stages else None
    r.alert_level = AlertLevel.NONE
    r.snoozed_until = None
    if stage.sla and team:
        r.stage_due_at = due_at(now, stage.sla, team)
        r.stage_warn_at = due_soon_at(now, stage.sla, team, workflow.alerts.due_soon_share)
        r.stage_escalate_at = due_at(r.stage_due_at, stage.sla, team)  # overdue by another full SLA
    else:
        r.stage_due_at = r.stage_warn_at = r.stage_escalate_at = None
    r.next_alert_at = None if stage.closed else next_alert_time(r)


def next_alert_time(r: Any, level: int | None = None, promise_alerted: bool | None = None) -> datetime | None:
    """When the next alert is owed: the next level's time, or the promise, whichever comes first; while
    snoozed, the snooze's end (the scan then records the end and raises what is owed by then)."""
    if r.snoozed_until is not None:
        # also when the next alert is later or none is owed: the end of the snooze is on the timeline
        return r.snoozed_until
    level = r.alert_level if level is None else level
    promise_alerted = r.promise_alerted if promise_alerted is None else promise_alerted
    times = {AlertLevel.NONE: r.stage_warn_at, AlertLevel.DUE_SOON: r.stage_due_at,
             AlertLevel.OVERDUE: r.stage_escalate_at}
    candidates = [t for t in (times.get(AlertLevel(level)),) if t is not None]
    if not promise_alerted and r.promised_by is not None:
        candidates.append(r.promised_by)
    return min(candidates) if candidates else None


def level_reached(r: Any, now: datetime) -> AlertLevel:
    """The highest level whose time has passed for this stage entry."""
    for level, at in ((AlertLevel.ESCALATED, r.stage_escalate_at), (AlertLevel.OVERDUE, r.stage_due_at),
                      (AlertLevel.DUE_SOON, r.stage_warn_at)):
        if at is not None and at <= now:
            return level
    return AlertLevel.NONE


def late_by(r: Any, now: datetime) -> str:
    """How late, in words: 'due in 2h', '3h overdue', '2d 4h overdue'."""
    if r.stage_due_at is None:
        return ""
    delta = now - r.stage_due_at
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m"
    return f"{text} overdue" if delta.total_seconds() >= 0 else f"due in {text}"


# --- the scan -----------------------------------------------------------------------------------


@dataclass
class ScanReport:
    """What one delay scan did."""

    checked: int = 0
    raised: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    snoozes_ended: int = 0
    notifications: int = 0

    def __str__(self) -> str:
        raised = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(self.raised.items())) or "no alerts"
        return (f"checked {self.checked} return(s) whose alert time had come: {raised}; "
                f"{self.snoozes_ended} snooze(s) ended; {self.notifications} notification(s) queued")


def _recipients(session: Session, workflow: Workflow) -> dict[str, list[tuple[str, str | None]]]:
    """Each team's leads: (e-mail, Slack user id)."""
    rows = session.execute(
        select(memberships.c.team_key, User.email, User.slack_user_id)
        .join(User, User.id == memberships.c.user_id)
        .where(User.role == Role.LEAD, User.is_active.is_(True))
    )
    leads: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for team, email, slack in rows:
        leads[team].append((email, slack))
    return leads


def alert_routes(workflow: Workflow, team: Team | None, kind: str,
                 leads: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """(channel, recipient) pairs an alert of this kind goes to: the team, and for escalations its leads too."""
    routes: list[tuple[str, str]] = []
    if team is not None:
        if team.slack_channel:
            routes.append(("slack", team.slack_channel))
        if team.email:
            routes.append(("email", team.email))
    if kind in ("escalated", "promise_broken"):
        for email, slack in leads:
            routes.append(("email", email))
            if slack:
                routes.append(("slack", slack))
        if workflow.alerts.escalation_channel:
            routes.append(("slack", workflow.alerts.escalation_channel))
        if workflow.alerts.escalation_email:
            routes.append(("email", workflow.alerts.escalation_email))
    return list(dict.fromkeys(routes))


_SCAN_COLUMNS = (
    Return.id, Return.rma, Return.order_number, Return.customer_name, Return.customer_email,
    Return.customer_locale, Return.status_token, Return.stage, Return.stage_entered_at, Return.stage_due_at,
    Return.stage_warn_at, Return.stage_escalate_at, Return.promised_by, Return.alert_level, Return.promise_alerted,
    Return.snoozed_until, Return.resolution, User.name.label("assignee_name"),
)


def scan_batch(session: Session, workflow: Workflow, now: datetime, *, limit: int = 2000,
               report: ScanReport | None = None, quiet: bool = False) -> ScanReport:
    """Raise every alert owed now for up to `limit` returns, in the caller's transaction.

    `quiet` marks the alerts as raised without telling anyone (for made-up demo history).
    """
    report = report or ScanReport()
    stmt = (
        select(*_SCAN_COLUMNS).outerjoin(User, User.id == Return.assignee_id)
        .where(Return.closed_at.is_(None), Return.next_alert_at <= now)
        .order_by(Return.next_alert_at, Return.id).limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # two workers share the work instead of raising the same alert twice
        stmt = stmt.with_for_update(of=Return, skip_locked=True)
    rows = session.execute(stmt).all()
    if not rows:
        return report
    report.checked += len(rows)
    items: dict[int, list[Any]] = defaultdict(list)
    for item in session.execute(
        select(ReturnItem.return_id, ReturnItem.sku, ReturnItem.product_name, ReturnItem.quantity,
               ReturnItem.reason_code).where(ReturnItem.return_id.in_([r.id for r in rows])).order_by(ReturnItem.id)
    ):
        items[item.return_id].append(item)
    leads = _recipients(session, workflow)

    updates, events, outbox = [], [], []
    for row in rows:
        stage = workflow.stages.get(row.stage)
        view = SimpleNamespace(**row._mapping)
        raise_kinds: list[str] = []
        snooze_ended = row.snoozed_until is not None and row.snoozed_until <= now
        if snooze_ended:
            view.snoozed_until = None
            report.snoozes_ended += 1
            if not quiet:
                events.append(_event(row.id, "snooze_ended", now, row.stage, until=row.snoozed_until.isoformat()))
        level = AlertLevel(row.alert_level)
        reached = level_reached(view, now) if stage is not None and not stage.closed else level
        if reached > level:
            raise_kinds.append(reached.name.lower())
            level = reached
        promise_alerted = row.promise_alerted
        if not promise_alerted and row.promised_by <= now:
            raise_kinds.append("promise_broken")
            promise_alerted = True
        updates.append({"rid": row.id, "level": int(level), "promised": promise_alerted,
                        "snoozed": view.snoozed_until,
                        "next": next_alert_time(view, level, promise_alerted) if stage else None})
        if not raise_kinds or quiet:
            continue
        team = workflow.teams.get(stage.team) if stage and stage.team else None
        facts = return_facts(_as_return(view, items[row.id]), workflow)
        for kind in raise_kinds:
            report.raised[kind] += 1
            events.append(_event(row.id, "alert", now, row.stage, level=kind))
            next_stages = [{"key": k, "name": workflow.stages[k].name} for k in (stage.next if stage else ())]
            payload = {**facts, "level": kind, "late_by": late_by(view, now), "next_stages": next_stages}
            for channel, recipient in alert_routes(workflow, team, kind, leads.get(team.key, []) if team else []):
                outbox.append({"channel": channel, "kind": "alert", "recipient": recipient, "return_id": row.id,
                               "payload": payload, "message_key": new_message_key(), "created_at": now,
                               "next_attempt_at": now})
    table = Return.__table__
    # a plain UPDATE: an alert is no edit of the return, so its version (optimistic lock) stays
    if session.get_bind().dialect.name == "postgresql":
        _update_from_arrays(session, updates)
    else:
        session.execute(
            update(table).where(table.c.id == bindparam("rid")).values(
                alert_level=bindparam("level"), promise_alerted=bindparam("promised"),
                snoozed_until=bindparam("snoozed"), next_alert_at=bindparam("next"),
            ),
            updates,
        )
    _insert_many(session, Event.__table__, events)
    _insert_many(session, Notification.__table__, outbox)
    report.notifications += len(outbox)
    return report


_UPDATE_FROM_ARRAYS = text(
    "UPDATE returns AS r SET alert_level = u.level, promise_alerted = u.promised, snoozed_until = u.snoozed, "
    "next_alert_at = u.next_at FROM unnest(CAST(:ids AS integer[]), CAST(:levels AS integer[]), "
    "CAST(:promised AS boolean[]), CAST(:snoozed AS timestamptz[]), CAST(:next_at AS timestamptz[])) "
    "AS u(id, level, promised, snoozed, next_at) WHERE r.id = u.id"
)


def _update_from_arrays(session: Session, updates: list[dict[str, Any]]) -> None:
    """One UPDATE for the whole batch on PostgreSQL (a row per statement costs a round trip each)."""
    session.execute(_UPDATE_FROM_ARRAYS, {
        "ids": [u["rid"] for u in updates], "levels": [u["level"] for u in updates],
        "promised": [u["promised"] for u in updates], "snoozed": [u["snoozed"] for u in updates],
        "next_at": [u["next"] for u in updates],
    })


def _insert_many(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in one executemany (batched into multi-row INSERTs by the engine)."""
    if rows:
        session.execute(insert(table), rows)


def _event(return_id: int, kind: str, now: datetime, stage: str, **payload: Any) -> dict[str, Any]:
    return {"return_id": return_id, "actor_id": None, "actor_label": SCAN_ACTOR, "channel": Channel.JOB,
            "kind": kind, "from_stage": None, "to_stage": None, "created_at": now,
            "payload": {"stage": stage, **payload}}


def _as_return(view: SimpleNamespace, items: list[Any]) -> Any:
    """Enough of a Return for return_facts, from a scanned row."""
    return SimpleNamespace(
        **{k: getattr(view, k) for k in ("rma", "order_number", "customer_name", "customer_email",
                                          "customer_locale", "status_token", "stage", "stage_entered_at",
                                          "stage_due_at", "promised_by", "resolution")},
        assignee=SimpleNamespace(name=view.assignee_name) if view.assignee_name else None,
        items=items,
    )


# --- daily digests ---------------------------------------------------------------------------------

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
    base = (select(Return.rma, Return.customer_name, Return.stage, Return.stage_due_at, User.name)
            .outerjoin(User, User.id == Return.assignee_id)
            .where(Return.closed_at.is_(None), Return.stage.in_(stage_keys)))
    local = now.astimezone(team.timezone)
    end_of_day = datetime.combine(local.date(), time(23, 59, 59), tzinfo=team.timezone)

    def listed(stmt) -> list[dict[str, Any]]:  # noqa: ANN001
        return [{"rma": rma, "customer_name": name, "stage_name": workflow.stages[stage].name,
                 "due_at": due.isoformat() if due else None, "assignee": assignee}
                for rma, name, stage, due, assignee in session.execute(stmt.limit(DIGEST_LIST))]

    def count(*conditions: Any) -> int:
        return session.scalar(select(func.count()).select_from(Return).where(
            Return.closed_at.is_(None), Return.stage.in_(stage_keys), *conditions)) or 0

    overdue_c = Return.stage_due_at <= now
    today_c = (Return.stage_due_at > now) & (Return.stage_due_at <= end_of_day)
    blocked_c = Return.is_blocked.is_(True)
    unassigned_c = Return.assignee_id.is_(None)
    return {
        "team": team.key, "team_name": team.name, "date": local.date().isoformat(),
        "open_count": count(),
        "overdue_count": count(overdue_c), "overdue": listed(base.where(overdue_c).order_by(Return.stage_due_at)),
        "due_today_count": count(today_c), "due_today": listed(base.where(today_c).order_by(Return.stage_due_at)),
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
            session.add(Notification(channel=channel, kind="digest", recipient=recipient, payload=payload,
                                     created_at=now, next_attempt_at=now))
    session.flush()
    return True


def digest_teams(workflow: Workflow) -> list[Team]:
    """Teams that get a digest."""
    return [t for t in workflow.teams.values() if t.digest_time is not None]

