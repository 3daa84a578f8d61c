"""The one way to change a return: each function checks the rules, writes the change and its event.

Services take the session first, flush but never commit: the entry point (view, Slack
listener, CLI command, job) owns the transaction, so a failure leaves nothing half-written.
Who is told about a change is decided here too (`notices`), in the same transaction; the one
operation that tells nobody says so in its name (`import_returns`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from hub.accounts.models import User
from hub.core.db import utcnow
from hub.core.errors import InvalidTransition, LastChange, NotFound, PermissionDenied, ValidationFailed, VersionConflict
from hub.returns import notices
from hub.returns.clocks import next_alert_time, start_stage_clocks
from hub.returns.drafts import CleanReturn, ReturnDraft, validate_draft
from hub.returns.mentions import mentioned_users
from hub.returns.models import Comment, Event, Resolution, Return, ReturnItem
from hub.returns.permissions import Actor, deny, deny_create, may_act_on, may_create, may_move
from hub.returns.timeline import conflict_text
from hub.workflow import RejectionReason, Stage, Workflow

MAX_COMMENT = 5000
MAX_REASON = 500
MAX_SNOOZE_HOURS = 72


# --- loading and the event log --------------------------------------------------------


def get_return(session: Session, rma: str, *, for_update: bool = False) -> Return:
    """The return with this RMA (case-insensitive), or NotFound."""
    rma = rma.strip()
    stmt = select(Return).where(Return.rma == rma.upper())
    if for_update:
        stmt = stmt.with_for_update()
    r = session.scalar(stmt)
    if r is None:
        raise NotFound(f"no return {rma}")
    return r


def record_event(
    session: Session,
    r: Return,
    actor: Actor,
    kind: str,
    *,
    now: datetime,
    from_stage: str | None = None,
    to_stage: str | None = None,
    **payload: Any,
) -> Event:
    """Append one event to a return's history."""
    event = Event(
        return_=r,
        actor_id=actor.user.id if actor.user else None,
        actor_label=actor.name,
        channel=actor.channel,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        created_at=now,
        payload={k: v for k, v in payload.items() if v is not None},
    )
    session.add(event)
    return event


def _check_version(session: Session, r: Return, expected: int | None) -> None:
    if expected is None or expected == r.version:
        return
    raise _conflict(session, r)


def _conflict(session: Session, r: Return) -> VersionConflict:
    last = session.scalar(select(Event).where(Event.return_id == r.id).order_by(Event.id.desc()).limit(1))
    change = LastChange(last.actor_label, last.kind, last.created_at) if last is not None else None
    return VersionConflict(conflict_text(r.rma, change), rma=r.rma, last_change=change)


def _flush(session: Session, r: Return) -> None:
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise _conflict(session, r) from None


def _load_for_change(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    *,
    doing: str,
    expected_version: int | None = None,
    if_closed: str | None = None,
    allowed: Callable[[Return], bool] | None = None,
) -> Return:
    """The return to change: loaded, at the version the actor saw, open (when `if_closed` says why it must be),
    and one the actor may change (`allowed`, else a member of the owning team)."""
    r = get_return(session, rma)
    _check_version(session, r, expected_version)
    if if_closed is not None and r.is_closed:
        raise InvalidTransition(f"{r.rma} is closed; {if_closed}")
    if not (allowed(r) if allowed else may_act_on(actor, workflow, r.stage)):
        raise deny(actor, workflow, r.stage, f"{doing} {r.rma}")
    return r


def _required_text(field: str, value: str | None, limit: int, missing: str) -> str:
    """A stripped text someone must give (a comment, a reason), at most `limit` characters."""
    text = (value or "").strip()
    if not text:
        raise ValidationFailed({field: missing})
    if len(text) > limit:
        raise ValidationFailed({field: f"at most {limit} characters (got {len(text)})"})
    return text


def _recorded(session: Session, r: Return, actor: Actor, kind: str, *, now: datetime, **payload: Any) -> Return:
    """Append the change's event and write the row (a concurrent change surfaces as a VersionConflict)."""
    record_event(session, r, actor, kind, now=now, **payload)
    _flush(session, r)
    return r


def _set_stage(r: Return, stage: Stage, workflow: Workflow, now: datetime) -> None:
    r.stage = stage.key
    r.stage_entered_at = now
    r.closed_at = now if stage.closed else None
    if r.promise_alerted is None:
        r.promise_alerted = False
    start_stage_clocks(r, stage, workflow, now)
    # the delay scan writes these with a plain UPDATE, behind the session's back: a value that equals the
    # stale one the session loaded (alert_level 0 after the scan raised 2) must still be written
    for column in ("alert_level", "snoozed_until", "next_alert_at"):
        flag_modified(r, column)


# --- creating ------------------------------------------------------------------------


def next_rma(session: Session) -> str:
    """A fresh RMA number: RMA- and one more than the highest number in use."""
    # the longest, then greatest, RMA-… values hold the highest number; imports may add odd ones
    candidates = session.scalars(
        select(Return.rma)
        .where(Return.rma.like("RMA-%"))
        .order_by(func.length(Return.rma).desc(), Return.rma.desc())
        .limit(50)
    )
    highest = max((int(n[4:]) for n in candidates if n[4:].isdigit()), default=1000)
    return f"RMA-{highest + 1}"


# PostgreSQL advisory lock (two int4 keys: a namespace of this app's locks, then the thing locked)
NUMBERING_LOCK = (0x524D41, 1)  # "RMA", numbering


def lock_numbering(session: Session) -> None:
    """Let one transaction at a time pick generated RMA numbers, until it ends.

    On PostgreSQL a transaction-level advisory lock: the next holder's `next_rma` sees the number the
    last one committed, so concurrent app servers never pick the same one. SQLite writers already queue
    for the database's write lock (`BEGIN IMMEDIATE`, hub.core.db).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(*NUMBERING_LOCK)))


def _insert_numbered(session: Session, r: Return, *, generated: bool) -> None:
    """Insert a new return, numbering it when `generated`; a generated RMA that is taken meanwhile (a
    typed or imported one, committed while this insert waited) is numbered again, a typed one is refused."""
    if generated:
        lock_numbering(session)
        r.rma = next_rma(session)
    for _ in range(5):
        try:
            with session.begin_nested():
                session.add(r)
                session.flush()
            return
        except IntegrityError:
            if session.scalar(select(Return.id).where(Return.rma == r.rma)) is None:
                raise
            if not generated:
                raise ValidationFailed({"rma": f"{r.rma} already exists"}) from None
            r.rma = next_rma(session)
    raise VersionConflict("Could not number the new return: many were created at once; try again.")


def _new_return(workflow: Workflow, clean: CleanReturn, rma: str, stage: Stage, now: datetime) -> Return:
    r = Return(
        rma=rma,
        order_number=clean.order_number,
        customer_name=clean.customer_name,
        customer_email=clean.customer_email,
        customer_locale=clean.customer_locale,
        delivered_on=clean.delivered_on,
        priority=clean.priority,
        carrier=clean.carrier,
        tracking_number=clean.tracking_number,
        created_at=now,
        promised_by=now + timedelta(days=workflow.promise_days),
        items=[
            ReturnItem(
                sku=i.sku,
                product_name=i.product_name,
                quantity=i.quantity,
                unit_price=i.unit_price,
                reason_code=i.reason_code,
                reason_note=i.reason_note,
                category=i.category,
            )
            for i in clean.items
        ],
    )
    _set_stage(r, stage, workflow, now)
    return r


def create_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    draft: ReturnDraft | CleanReturn,
    *,
    now: datetime | None = None,
    stage_key: str | None = None,
) -> Return:
    """Open a new return in the first stage (or `stage_key`), and tell its team and the customer as it says."""
    now = now or utcnow()
    if not may_create(actor, workflow):
        raise deny_create(actor, workflow)
    clean = draft if isinstance(draft, CleanReturn) else validate_draft(draft, workflow, workflow.today(now))
    # a typed RMA that exists is refused; a generated one is picked by _insert_numbered, under its lock
    if clean.rma and session.scalar(select(Return.id).where(Return.rma == clean.rma)) is not None:
        raise ValidationFailed({"rma": f"{clean.rma} already exists"})
    stage = workflow.stage(stage_key) if stage_key else workflow.initial_stage
    r = _new_return(workflow, clean, clean.rma or "", stage, now)
    _insert_numbered(session, r, generated=not clean.rma)
    record_event(session, r, actor, "created", now=now, to_stage=stage.key)
    session.flush()
    notices.notify_stage_entered(
        session, workflow, r, None, stage, actor_name=actor.name, note=None, rejection_reason=None, now=now
    )
    session.flush()
    return r


@dataclass(frozen=True)
class Imported:
    """A return that already exists elsewhere (a shop's file, the demo's history): when and where it stands."""

    clean: CleanReturn
    created_at: datetime
    stage_key: str | None = None  # None: the first stage


def import_returns(session: Session, workflow: Workflow, actor: Actor, returns: Iterable[Imported]) -> list[Return]:
    """Bring in returns that customers and teams already know about: it tells nobody.

    The RMAs are the caller's, looked up beforehand (the unique index still guards them), and the
    caller flushes, so a large import becomes multi-row INSERTs.
    """
    if not may_create(actor, workflow):
        raise deny_create(actor, workflow)
    made: list[Return] = []
    locked = False
    for item in returns:
        stage = workflow.stage(item.stage_key) if item.stage_key else workflow.initial_stage
        if not item.clean.rma and not locked:
            lock_numbering(session)  # numbers it makes up must not meet a new return's (create_return)
            locked = True
        r = _new_return(workflow, item.clean, item.clean.rma or next_rma(session), stage, item.created_at)
        session.add(r)
        record_event(session, r, actor, "created", now=item.created_at, to_stage=stage.key)
        made.append(r)
    return made


# --- moving, closing, reopening ----------------------------------------------------------


def move_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    to_stage: str,
    *,
    expected_version: int | None = None,
    resolution: str | Resolution | None = None,
    rejection_reason: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Return:
    """Move a return to another stage, if the workflow and the actor's role allow it.

    A stage that needs a resolution or a rejection reason takes it here (ignored for the others); `note` goes
    to the team a return is handed to, and to the customer with a rejection reason."""
    now = now or utcnow()
    r = get_return(session, rma)
    _check_version(session, r, expected_version)
    if to_stage not in workflow.stages:
        raise InvalidTransition(f"unknown stage {to_stage!r}; stages are: {', '.join(workflow.stages)}")
    src, dst = workflow.stage(r.stage), workflow.stage(to_stage)
    if src.key == dst.key:
        raise InvalidTransition(f"{r.rma} is already in “{dst.name}”.")
    if not may_move(actor, workflow, src.key, dst.key):
        raise deny(actor, workflow, src.key if not src.closed else dst.key, f"move {r.rma}")
    if not workflow.allows(src.key, dst.key):
        options = ", ".join(f"“{workflow.stages[k].name}”" for k in src.next) or "nowhere"
        raise InvalidTransition(
            f"{r.rma} cannot move from “{src.name}” to “{dst.name}”; from there it can go to {options}."
        )
    note = (note or "").strip() or None
    res = _resolution(workflow, dst, resolution)
    why = _rejection_reason(workflow, dst, rejection_reason)
    if dst.requires_note and not note:
        raise ValidationFailed({"note": f"Write the reason for the customer: moving to “{dst.name}” needs one."})
    if why is not None and why.note_required and not note:
        raise ValidationFailed({"note": f"Write a note for the customer: “{why.label}” says too little on its own."})
    if note and len(note) > MAX_COMMENT:
        raise ValidationFailed({"note": f"The note is {len(note)} characters long; at most {MAX_COMMENT} fit."})

    from_team, to_team = src.team, dst.team
    _set_stage(r, dst, workflow, now)
    r.resolution = res
    if to_team != from_team:
        r.assignee = None  # a handoff: the receiving team claims it (the relationship, so messages see it)
    # write the row now: a concurrent change surfaces here as a VersionConflict, not in a later autoflush
    _flush(session, r)
    kind = "closed" if dst.closed else "reopened" if src.closed else "moved"
    notices.notify_stage_entered(
        session, workflow, r, src, dst, actor_name=actor.name, note=note, rejection_reason=why, now=now
    )
    record_event(
        session,
        r,
        actor,
        kind,
        now=now,
        from_stage=src.key,
        to_stage=dst.key,
        note=note,
        resolution=res.value if res else None,
        rejection_reason=why.key if why else None,
        handoff=bool(to_team and to_team != from_team) or None,
        from_team=from_team,
        to_team=to_team,
    )
    _flush(session, r)
    return r


def _resolution(workflow: Workflow, dst: Stage, given: str | Resolution | None) -> Resolution | None:
    """How the return was settled, when `dst` needs to know (None for every other stage)."""
    if not dst.requires_resolution:
        return None
    allowed = workflow.policy.allowed_resolutions
    labels = [Resolution(v).label for v in allowed]
    named = " or ".join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels)
    value = given.value if isinstance(given, Resolution) else (given or "").strip().lower().replace(" ", "_")
    if not value:
        raise ValidationFailed({"resolution": f"Choose how it was resolved: {named}."})
    if value not in allowed:
        shown = given.label if isinstance(given, Resolution) else (given or "").strip()
        raise ValidationFailed({"resolution": f"“{shown}” is not a resolution this shop offers; choose {named}."})
    return Resolution(value)


def _rejection_reason(workflow: Workflow, dst: Stage, given: str | None) -> RejectionReason | None:
    """Why the return is not accepted, when `dst` tells the customer (None for every other stage)."""
    if not dst.requires_rejection_reason:
        return None
    key = (given or "").strip().lower()
    reasons = workflow.rejection_reasons
    if not key:
        raise ValidationFailed(
            {"rejection_reason": f"Choose the reason the customer reads: moving to “{dst.name}” needs one."}
        )
    if key not in reasons:
        keys = ", ".join(reasons)
        raise ValidationFailed({"rejection_reason": f"There is no rejection reason “{given}”; reasons are: {keys}."})
    return reasons[key]


def close_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    to_stage: str,
    *,
    resolution: str | None = None,
    rejection_reason: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Return:
    """Close a return into a closed stage (resolved with a resolution, or rejected with a reason)."""
    stage = workflow.stages.get(to_stage)
    if stage is None or not stage.closed:
        closed = ", ".join(workflow.closed_stage_keys)
        raise InvalidTransition(f"{to_stage!r} is not a closed stage; closed stages are: {closed}")
    return move_return(
        session,
        workflow,
        actor,
        rma,
        to_stage,
        expected_version=expected_version,
        resolution=resolution,
        rejection_reason=rejection_reason,
        note=note,
        now=now,
    )


def reopen_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    *,
    to_stage: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Return:
    """Reopen a closed return into the stage its closed stage leads back to."""
    r = get_return(session, rma)
    stage = workflow.stage(r.stage)
    if not stage.closed:
        raise InvalidTransition(f"{r.rma} is not closed; it is in “{stage.name}”.")
    target = to_stage or (stage.next[0] if stage.next else None)
    if target is None:
        raise InvalidTransition(f"returns in “{stage.name}” cannot be reopened.")
    return move_return(session, workflow, actor, r.rma, target, expected_version=expected_version, note=note, now=now)


# --- assignment, comments, flags, shipping -----------------------------------------------


# --- assignment, comments, flags, shipping -----------------------------------------------


def assign_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    assignee: User | None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Return:
    """Give a return to someone on the owning team (or to nobody)."""
    now = now or utcnow()
    r = _load_for_change(
        session,
        workflow,
        actor,
        rma,
        doing="assign",
        expected_version=expected_version,
        if_closed="reopen it before assigning it.",
    )
    stage = workflow.stage(r.stage)
    if assignee is not None:
        if not assignee.is_active:
            raise ValidationFailed({"assignee": f"{assignee.name} is deactivated"})
        if stage.team not in assignee.team_keys and not assignee.is_lead_or_admin:
            team = workflow.teams[stage.team].name if stage.team else "the owning team"
            raise ValidationFailed({"assignee": f"{assignee.name} is not on {team}, which owns “{stage.name}”"})
    if (assignee.id if assignee else None) == r.assignee_id:
        return r
    previous = r.assignee.name if r.assignee else None
    r.assignee = assignee
    if assignee is None:
        return _recorded(session, r, actor, "unassigned", now=now, previous=previous)
    return _recorded(
        session,
        r,
        actor,
        "claimed" if actor.user is assignee else "assigned",
        now=now,
        assignee=assignee.name,
        assignee_id=assignee.id,
        previous=previous,
    )


def claim_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Return:
    """Assign a return to the acting user."""
    if actor.user is None:
        raise PermissionDenied("only a person can claim a return")
    return assign_return(session, workflow, actor, rma, actor.user, expected_version=expected_version, now=now)


def add_comment(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    body: str,
    *,
    now: datetime | None = None,
) -> Comment:
    """Leave a comment on a return; the people it @mentions are told."""
    now = now or utcnow()
    body = _required_text("body", body, MAX_COMMENT, "a comment cannot be empty")
    r = get_return(session, rma)
    comment = Comment(return_=r, author=actor.user, body=body, created_at=now)
    session.add(comment)
    session.flush()
    mentioned = mentioned_users(session, body)
    record_event(
        session,
        r,
        actor,
        "commented",
        now=now,
        comment_id=comment.id,
        excerpt=body[:140],
        mentions=[u.id for u in mentioned] or None,
    )
    notices.notify_mentions(session, workflow, r, comment, mentioned, now=now)
    session.flush()
    return comment


def flag_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    reason: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Return:
    """Mark a return as blocked, with the reason."""
    now = now or utcnow()
    reason = _required_text("reason", reason, MAX_REASON, "say why the return is blocked")
    r = _load_for_change(
        session,
        workflow,
        actor,
        rma,
        doing="flag",
        expected_version=expected_version,
        if_closed="there is nothing to block.",
    )
    r.is_blocked, r.blocked_reason = True, reason
    return _recorded(session, r, actor, "flagged", now=now, reason=reason)


def unflag_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Return:
    """Clear a return's blocked flag."""
    now = now or utcnow()
    r = _load_for_change(session, workflow, actor, rma, doing="unflag", expected_version=expected_version)
    if not r.is_blocked:
        raise InvalidTransition(f"{r.rma} is not blocked.")
    previous = r.blocked_reason
    r.is_blocked, r.blocked_reason = False, None
    return _recorded(session, r, actor, "unflagged", now=now, reason=previous)


def snooze_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    hours: float,
    *,
    now: datetime | None = None,
) -> Return:
    """Hold back this stage's delay alerts for `hours` ("remind me in 4 hours"); the end shows in the timeline."""
    now = now or utcnow()
    if not 0 < hours <= MAX_SNOOZE_HOURS:
        raise ValidationFailed({"hours": f"snooze for more than 0 and at most {MAX_SNOOZE_HOURS} hours, got {hours:g}"})
    r = _load_for_change(session, workflow, actor, rma, doing="snooze", if_closed="there is nothing to snooze.")
    r.snoozed_until = now + timedelta(hours=hours)
    r.next_alert_at = next_alert_time(r)
    flag_modified(r, "next_alert_at")  # always written: the scan may have changed it behind the session's back
    return _recorded(session, r, actor, "snoozed", now=now, hours=hours, until=r.snoozed_until.isoformat())


def update_shipping(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    rma: str,
    *,
    carrier: str,
    tracking_number: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Return:
    """Set the carrier and tracking number of the return parcel."""
    now = now or utcnow()
    carrier, tracking = (carrier or "").strip(), (tracking_number or "").strip()
    errors = {}
    if len(carrier) > 60:
        errors["carrier"] = f"at most 60 characters (got {len(carrier)})"
    if len(tracking) > 80:
        errors["tracking_number"] = f"at most 80 characters (got {len(tracking)})"
    if tracking and not carrier:
        errors["carrier"] = "name the carrier of this tracking number"
    if errors:
        raise ValidationFailed(errors)

    def allowed(r: Return) -> bool:  # a lead or admin may still correct the parcel of a closed return
        return may_act_on(actor, workflow, r.stage) or bool(r.is_closed and actor.user and actor.user.is_lead_or_admin)

    r = _load_for_change(
        session,
        workflow,
        actor,
        rma,
        doing="change the shipping of",
        expected_version=expected_version,
        allowed=allowed,
    )
    if (r.carrier or "", r.tracking_number or "") == (carrier, tracking):
        return r
    r.carrier, r.tracking_number = carrier or None, tracking or None
    return _recorded(
        session, r, actor, "shipping_updated", now=now, carrier=carrier or None, tracking_number=tracking or None
    )
