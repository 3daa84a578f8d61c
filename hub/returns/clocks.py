"""The clocks of one stage entry: due-soon, due and escalation times, and when the next alert is owed.

Each stage entry stores its times, so the delay scan (hub.alerts) is one indexed query over the returns
whose `next_alert_at` has come, never a loop over every open return.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from hub.returns.models import AlertLevel, Return
from hub.returns.timeline import format_duration
from hub.workflow import Stage, Workflow
from hub.workflow.calendar import due_at, due_soon_at


class StageClocks(Protocol):
    """What the clock rules read: a Return, or a row the scan selected."""

    @property
    def stage_warn_at(self) -> datetime | None: ...
    @property
    def stage_due_at(self) -> datetime | None: ...
    @property
    def stage_escalate_at(self) -> datetime | None: ...
    @property
    def snoozed_until(self) -> datetime | None: ...
    @property
    def promised_by(self) -> datetime: ...
    @property
    def alert_level(self) -> int: ...
    @property
    def promise_alerted(self) -> bool | None: ...


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


def next_alert_time(r: StageClocks, level: int | None = None, promise_alerted: bool | None = None) -> datetime | None:
    """When the next alert is owed: the next level's time, or the promise, whichever comes first; while
    snoozed, the snooze's end (the scan then records the end and raises what is owed by then)."""
    if r.snoozed_until is not None:
        # also when the next alert is later or none is owed: the end of the snooze is on the timeline
        return r.snoozed_until
    level = r.alert_level if level is None else level
    promise_alerted = r.promise_alerted if promise_alerted is None else promise_alerted
    times = {
        AlertLevel.NONE: r.stage_warn_at,
        AlertLevel.DUE_SOON: r.stage_due_at,
        AlertLevel.OVERDUE: r.stage_escalate_at,
    }
    candidates = [t for t in (times.get(AlertLevel(level)),) if t is not None]
    if not promise_alerted and r.promised_by is not None:
        candidates.append(r.promised_by)
    return min(candidates) if candidates else None


def level_reached(r: StageClocks, now: datetime) -> AlertLevel:
    """The highest level whose time has passed for this stage entry."""
    for level, at in (
        (AlertLevel.ESCALATED, r.stage_escalate_at),
        (AlertLevel.OVERDUE, r.stage_due_at),
        (AlertLevel.DUE_SOON, r.stage_warn_at),
    ):
        if at is not None and at <= now:
            return level
    return AlertLevel.NONE


def late_by(r: StageClocks, now: datetime) -> str:
    """How late, in words: 'due in 2h', '3h overdue', '2d 4h overdue'."""
    if r.stage_due_at is None:
        return ""
    delta = now - r.stage_due_at
    text = format_duration(abs(delta))
    return f"{text} overdue" if delta.total_seconds() >= 0 else f"due in {text}"
