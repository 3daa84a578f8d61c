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
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from hub.accounts.models import Role, User, memberships
from hub.notifications.models import Notification, new_message_key
from hub.returns.clocks import late_by, level_reached, next_alert_time
from hub.returns.models import AlertLevel, Channel, Event, Return, ReturnItem
from hub.returns.notices import ReturnFacts, ReturnSnapshot, StageRef, facts_of, next_stages
from hub.workflow import Stage, Team, Workflow

SCAN_ACTOR = "Returns Hub (delay scan)"


class AlertPayload(ReturnFacts):
    """A delay alert (outbox kind "alert"; e-mail and Slack)."""

    level: str
    late_by: str
    next_stages: list[StageRef]


@dataclass
class ScanReport:
    """What one delay scan did."""

    checked: int = 0
    raised: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    snoozes_ended: int = 0
    notifications: int = 0
    checked_last: int = 0  # rows the last batch claimed

    def __str__(self) -> str:
        raised = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(self.raised.items())) or "no alerts"
        return (
            f"checked {self.checked} return(s) whose alert time had come: {raised}; "
            f"{self.snoozes_ended} snooze(s) ended; {self.notifications} notification(s) queued"
        )


def _recipients(session: Session) -> dict[str, list[tuple[str, str | None]]]:
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


def _personal_zones(session: Session) -> dict[str, str]:
    """The zone each person who chose one reads times in, by e-mail address (an alert to them shows it)."""
    rows = session.execute(select(User.email, User.time_zone).where(User.time_zone.is_not(None)))
    return {email: zone for email, zone in rows}


def alert_routes(
    workflow: Workflow, team: Team | None, kind: str, leads: list[tuple[str, str | None]]
) -> list[tuple[str, str]]:
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
    Return.id,
    Return.rma,
    Return.order_number,
    Return.customer_name,
    Return.customer_email,
    Return.customer_locale,
    Return.status_token,
    Return.stage,
    Return.stage_entered_at,
    Return.stage_due_at,
    Return.stage_warn_at,
    Return.stage_escalate_at,
    Return.promised_by,
    Return.alert_level,
    Return.promise_alerted,
    Return.snoozed_until,
    Return.resolution,
    User.name.label("assignee_name"),
)


def scan_batch(
    session: Session, workflow: Workflow, now: datetime, *, limit: int = 2000, report: ScanReport | None = None
) -> ScanReport:
    """Raise every alert owed now for up to `limit` returns, in the caller's transaction."""
    return _scan(session, workflow, now, limit=limit, report=report or ScanReport(), tell=True)


def mark_alerts_raised(session: Session, workflow: Workflow, now: datetime) -> ScanReport:
    """Record every alert owed now as raised, telling nobody and writing no events (made-up demo history)."""
    report = ScanReport()
    while _scan(session, workflow, now, limit=2000, report=report, tell=False).checked_last:
        pass
    return report


def _scan(
    session: Session, workflow: Workflow, now: datetime, *, limit: int, report: ScanReport, tell: bool
) -> ScanReport:
    """One batch: claim the rows whose alert time has come, move their clocks on, and (`tell`) raise the alerts."""
    stmt = (
        select(*_SCAN_COLUMNS)
        .outerjoin(User, User.id == Return.assignee_id)
        .where(Return.closed_at.is_(None), Return.next_alert_at <= now)
        .order_by(Return.next_alert_at, Return.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # two workers share the work instead of raising the same alert twice
        stmt = stmt.with_for_update(of=Return, skip_locked=True)
    rows = session.execute(stmt).all()
    report.checked_last = len(rows)
    if not rows:
        return report
    report.checked += len(rows)
    items = _items(session, [r.id for r in rows]) if tell else {}
    leads = _recipients(session) if tell else {}
    zones = _personal_zones(session) if tell else {}
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    for row in rows:
        stage = workflow.stages.get(row.stage)
        owed = _levels_owed(row, stage, now)
        if owed.snooze_ended:
            report.snoozes_ended += 1
        updates.append(owed.update)
        if not tell:
            continue
        if owed.snooze_ended:
            events.append(_event(row.id, "snooze_ended", now, row.stage, until=row.snoozed_until.isoformat()))
        if owed.kinds:
            _raise(workflow, row, stage, owed, items[row.id], leads, zones, now, report, events, outbox)
    _write_clocks(session, updates)
    _insert_many(session, Event.__table__, events)
    _insert_many(session, Notification.__table__, outbox)
    report.notifications += len(outbox)
    return report


@dataclass(frozen=True)
class _Clocks:
    """A scanned row's stage clocks (hub.returns.clocks.StageClocks), with a snooze that has ended cleared."""

    stage_warn_at: datetime | None
    stage_due_at: datetime | None
    stage_escalate_at: datetime | None
    snoozed_until: datetime | None
    promised_by: datetime
    alert_level: int
    promise_alerted: bool | None


@dataclass
class _Owed:
    """What one scanned row is owed now: the alert kinds to raise, and its clocks' new values."""

    kinds: list[str]
    snooze_ended: bool
    clocks: _Clocks
    update: dict[str, Any]


def _levels_owed(row: Row[Any], stage: Stage | None, now: datetime) -> _Owed:
    """The levels (and a broken promise) a row has reached since the last scan, and where its clocks go next."""
    snooze_ended = row.snoozed_until is not None and row.snoozed_until <= now
    clocks = _Clocks(
        row.stage_warn_at,
        row.stage_due_at,
        row.stage_escalate_at,
        None if snooze_ended else row.snoozed_until,
        row.promised_by,
        row.alert_level,
        row.promise_alerted,
    )
    kinds: list[str] = []
    level = AlertLevel(row.alert_level)
    reached = level_reached(clocks, now) if stage is not None and not stage.closed else level
    if reached > level:
        kinds.append(reached.name.lower())
        level = reached
    promise_alerted = row.promise_alerted
    if not promise_alerted and row.promised_by <= now:
        kinds.append("promise_broken")
        promise_alerted = True
    update = {
        "rid": row.id,
        "level": int(level),
        "promised": promise_alerted,
        "snoozed": clocks.snoozed_until,
        "next": next_alert_time(clocks, level, promise_alerted) if stage else None,
    }
    return _Owed(kinds, snooze_ended, clocks, update)


def _raise(
    workflow: Workflow,
    row: Row[Any],
    stage: Stage | None,
    owed: _Owed,
    items: list[Any],
    leads: dict[str, list[tuple[str, str | None]]],
    zones: dict[str, str],
    now: datetime,
    report: ScanReport,
    events: list[dict[str, Any]],
    outbox: list[dict[str, Any]],
) -> None:
    """The events and outbox rows of the alerts a row is owed."""
    team = workflow.teams.get(stage.team) if stage and stage.team else None
    snapshot = ReturnSnapshot(
        row.rma,
        row.order_number,
        row.customer_name,
        row.customer_email,
        row.customer_locale,
        row.status_token,
        row.stage,
        row.stage_entered_at,
        row.stage_due_at,
        row.promised_by,
        row.resolution,
        row.assignee_name,
        items,
    )
    facts = facts_of(snapshot, workflow)
    offered = next_stages(workflow, stage)
    for kind in owed.kinds:
        report.raised[kind] += 1
        events.append(_event(row.id, "alert", now, row.stage, level=kind))
        payload: AlertPayload = {**facts, "level": kind, "late_by": late_by(owed.clocks, now), "next_stages": offered}
        for channel, recipient in alert_routes(workflow, team, kind, leads.get(team.key, []) if team else []):
            outbox.append(
                {
                    "channel": channel,
                    "kind": "alert",
                    "recipient": recipient,
                    "return_id": row.id,
                    # an e-mail to a person shows the times in their own zone; to a team, in the team's
                    "payload": {**payload, "zone": zones[recipient]} if recipient in zones else payload,
                    "message_key": new_message_key(),
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )


def _items(session: Session, return_ids: list[int]) -> dict[int, list[Any]]:
    items: dict[int, list[Any]] = defaultdict(list)
    for item in session.execute(
        select(
            ReturnItem.return_id, ReturnItem.sku, ReturnItem.product_name, ReturnItem.quantity, ReturnItem.reason_code
        )
        .where(ReturnItem.return_id.in_(return_ids))
        .order_by(ReturnItem.id)
    ):
        items[item.return_id].append(item)
    return items


def _write_clocks(session: Session, updates: list[dict[str, Any]]) -> None:
    """Store the rows' new alert clocks in bulk."""
    # a plain UPDATE: an alert is no edit of the return, so its version (optimistic lock) stays
    if session.get_bind().dialect.name == "postgresql":
        _update_from_arrays(session, updates)
        return
    # Core, not ORM: an executemany of plain UPDATEs keyed by "rid" (a mapped class's __table__ is typed as
    # any FromClause; a declarative class with a __tablename__ has a Table)
    table = cast(Table, Return.__table__)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("rid"))
        .values(
            alert_level=bindparam("level"),
            promise_alerted=bindparam("promised"),
            snoozed_until=bindparam("snoozed"),
            next_alert_at=bindparam("next"),
        ),
        updates,
    )


_UPDATE_FROM_ARRAYS = text(
    "UPDATE returns AS r SET alert_level = u.level, promise_alerted = u.promised, snoozed_until = u.snoozed, "
    "next_alert_at = u.next_at FROM unnest(CAST(:ids AS integer[]), CAST(:levels AS integer[]), "
    "CAST(:promised AS boolean[]), CAST(:snoozed AS timestamptz[]), CAST(:next_at AS timestamptz[])) "
    "AS u(id, level, promised, snoozed, next_at) WHERE r.id = u.id"
)


def _update_from_arrays(session: Session, updates: list[dict[str, Any]]) -> None:
    """One UPDATE for the whole batch on PostgreSQL (a row per statement costs a round trip each)."""
    session.execute(
        _UPDATE_FROM_ARRAYS,
        {
            "ids": [u["rid"] for u in updates],
            "levels": [u["level"] for u in updates],
            "promised": [u["promised"] for u in updates],
            "snoozed": [u["snoozed"] for u in updates],
            "next_at": [u["next"] for u in updates],
        },
    )


def _insert_many(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in one executemany (batched into multi-row INSERTs by the engine)."""
    if rows:
        session.execute(insert(table), rows)


def _event(return_id: int, kind: str, now: datetime, stage: str, **payload: Any) -> dict[str, Any]:
    return {
        "return_id": return_id,
        "actor_id": None,
        "actor_label": SCAN_ACTOR,
        "channel": Channel.JOB,
        "kind": kind,
        "from_stage": None,
        "to_stage": None,
        "created_at": now,
        "payload": {"stage": stage, **payload},
    }
