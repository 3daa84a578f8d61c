"""One wording for a return's history and its durations, used by the return's page, Slack and e-mail."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.core.errors import LastChange, VersionConflict
from hub.core.timefmt import short_time
from hub.workflow import Workflow

# what each kind of event did, said after the actor's name ("Ann moved it ...")
EVENT_WORDS = {
    "created": "created the return",
    "moved": "moved it",
    "closed": "closed it",
    "reopened": "reopened it",
    "claimed": "claimed it",
    "assigned": "assigned it",
    "unassigned": "unassigned it",
    "commented": "commented",
    "flagged": "flagged it as blocked",
    "unflagged": "cleared the block",
    "shipping_updated": "updated the shipping",
    "alert": "raised a delay alert",
    "snoozed": "snoozed the delay alerts",
    "snooze_ended": "ended the snooze",
}


@dataclass(frozen=True)
class EventText:
    """An event in words: the line after the actor's name, and the text it carries (a note, a reason)."""

    line: str
    detail: str | None = None
    quoted: bool = False  # the detail is someone's own words (a note, a reason, a comment): shown in quotes


def stage_label(workflow: Workflow, key: str | None) -> str:
    """A stage's name, also for a key a changed workflow no longer has."""
    if not key:
        return ""
    stage = workflow.stages.get(key)
    return stage.name if stage else f"{key} (no longer configured)"


def describe_event(
    kind: str,
    payload: Mapping[str, Any],
    workflow: Workflow,
    *,
    from_stage: str | None,
    to_stage: str | None,
    format_time: Callable[[str], str],
) -> EventText:
    """One timeline entry in words; `format_time` shows an ISO time the way the reader's medium does."""
    line = EVENT_WORDS.get(kind, kind.replace("_", " "))
    if kind in ("moved", "closed", "reopened"):
        line += f" from “{stage_label(workflow, from_stage)}” to “{stage_label(workflow, to_stage)}”"
    elif kind == "created":
        line += f" in “{stage_label(workflow, to_stage)}”"
    elif kind == "assigned" and payload.get("assignee"):
        line += f" to {payload['assignee']}"
    elif kind == "alert" and payload.get("level"):
        line += f": {str(payload['level']).replace('_', ' ')}"
    elif kind == "snoozed" and payload.get("until"):
        line += f" until {format_time(str(payload['until']))}"
    if payload.get("resolution"):
        line += f" · {str(payload['resolution']).replace('_', ' ')}"
    if payload.get("rejection_reason"):
        why = workflow.rejection_reasons.get(str(payload["rejection_reason"]))
        line += f" · {why.label if why else str(payload['rejection_reason']).replace('_', ' ')}"
    if kind == "shipping_updated":
        parcel = " ".join(str(v) for v in (payload.get("carrier") or "—", payload.get("tracking_number")) if v)
        return EventText(line, parcel)
    words = payload.get("note") or payload.get("reason") or payload.get("excerpt")
    return EventText(line, str(words), quoted=True) if words else EventText(line)


def format_duration(delta: timedelta) -> str:
    """A compact duration: 45m, 5h 10m, 12h, 3d 4h; negative ones with a minus."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days}d {hours}h" if hours else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h {minutes}m" if minutes and hours < 10 else f"{sign}{hours}h"
    return f"{sign}{minutes}m"


def conflict_text(
    rma: str,
    change: LastChange | None,
    zone: ZoneInfo | None = None,
    *,
    shown_in: str | None = None,
    next_step: str = "Reload to see the change, then try again.",
) -> str:
    """Why a change was refused because someone else changed the return first: who, what and when (in `zone`,
    named; no time without one), and what to do: check what `shown_in` ("The panel") now shows, else `next_step`."""
    who = "someone"
    if change is not None:
        when = f", {short_time(change.at, zone, named=True)}" if zone is not None else ""
        who = f"{change.who} ({change.what.replace('_', ' ')}{when})"
    head = f"{rma} was changed by {who} after you opened it; nothing was changed."
    if shown_in:
        return f"{head} {shown_in} now shows the change; check it and try again."
    return f"{head} {next_step}"


def worded_conflict(exc: VersionConflict, zone: ZoneInfo, *, shown_in: str | None, next_step: str | None = None) -> str:
    """A version conflict worded for a reader in `zone` (a conflict without a return keeps its own message)."""
    if exc.rma is None:
        return exc.message
    if next_step is None:
        return conflict_text(exc.rma, exc.last_change, zone, shown_in=shown_in)
    return conflict_text(exc.rma, exc.last_change, zone, shown_in=shown_in, next_step=next_step)
