"""The one way to change a return: each function checks the rules, writes the change and its event.

Services take the session first, flush but never commit: the entry point (view, Slack
listener, CLI command, job) owns the transaction, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from hub.accounts.models import User
from hub.accounts.services import EMAIL_RE
from hub.alerts import next_alert_time, start_stage_clocks
from hub.db import utcnow
from hub.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from hub.notifications import outbox
from hub.returns.models import Channel, Comment, Event, Priority, Resolution, Return, ReturnItem
from hub.workflow import Stage, Workflow

LOCALE_RE = re.compile(r"^[a-z]{2}(?:[-_][A-Za-z]{2})?$")
RMA_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")  # no "/": an RMA is a path segment of its page
MAX_COMMENT = 5000
MAX_REASON = 500
MAX_QUANTITY = 10_000


# --- who is acting ------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who makes a change and through which channel; `user` is None for jobs and the system."""

    channel: Channel
    user: User | None = None
    label: str = ""

    @classmethod
    def person(cls, user: User, channel: Channel) -> Actor:
        """A logged-in user acting through a channel."""
        return cls(channel, user, user.name)

    @classmethod
    def system(cls, label: str, channel: Channel) -> Actor:
        """A trusted internal actor: a job, an import, a CLI command."""
        return cls(channel, None, label)

    @property
    def name(self) -> str:
        """How the timeline names the actor."""
        return self.user.name if self.user else self.label


def may_act_on(actor: Actor, workflow: Workflow, stage_key: str) -> bool:
    """Whether the actor may change a return sitting in this stage."""
    user = actor.user
    if user is None or user.is_lead_or_admin:
        return True
    stage = workflow.stages.get(stage_key)
    return stage is not None and stage.team is not None and stage.team in user.team_keys


def may_move(actor: Actor, workflow: Workflow, from_stage: str, to_stage: str) -> bool:
    """Whether the actor may move a return between these stages (rules aside)."""
    stage = workflow.stages.get(from_stage)
    if stage is not None and stage.closed:
        # a closed stage has no owner: reopening belongs to the team that gets it back
        return may_act_on(actor, workflow, to_stage)
    return may_act_on(actor, workflow, from_stage)


def _deny(actor: Actor, workflow: Workflow, stage_key: str, doing: str) -> PermissionDenied:
    stage = workflow.stages[stage_key]
    team = workflow.team_of(stage_key)
    owner = team.name if team else "nobody"
    return PermissionDenied(
        f"{actor.name} cannot {doing}: “{stage.name}” belongs to {owner}; "
        f"only its members, leads and admins can."
    )


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
        return_=r, actor_id=actor.user.id if actor.user else None, actor_label=actor.name,
        channel=actor.channel, kind=kind, from_stage=from_stage, to_stage=to_stage,
        created_at=now, payload={k: v for k, v in payload.items() if v is not None},
    )
    session.add(event)
    return event


def _check_version(session: Session, r: Return, expected: int | None) -> None:
    if expected is None or expected == r.version:
        return
    raise _conflict(session, r)


def _conflict(session: Session, r: Return) -> VersionConflict:
    last = session.scalar(
        select(Event).where(Event.return_id == r.id).order_by(Event.id.desc()).limit(1)
    )
    who = "someone"
    if last is not None:
        who = f"{last.actor_label} ({last.kind.replace('_', ' ')}, {last.created_at:%d %b %H:%M} UTC)"
    return VersionConflict(
        f"{r.rma} was changed by {who} after you loaded it; reload to see the change and try again."
    )


def _flush(session: Session, r: Return) -> None:
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise _conflict(session, r) from None


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


@dataclass
class ItemDraft:
    """A product line as typed in a form or a CSV row."""

    sku: str = ""
    product_name: str = ""
    quantity: str | int = 1
    unit_price: str | Decimal = "0"
    reason_code: str = ""
    reason_note: str = ""
    category: str = ""


@dataclass
class ReturnDraft:
    """A new return as typed in a form, a CSV file or a Slack modal."""

    order_number: str = ""
    customer_name: str = ""
    customer_email: str = ""
    customer_locale: str = "en"
    delivered_on: str | date | None = None
    items: list[ItemDraft] = field(default_factory=list)
    rma: str = ""
    priority: str | int = "normal"
    carrier: str = ""
    tracking_number: str = ""


@dataclass(frozen=True)
class CleanItem:
    """A validated product line."""

    sku: str
    product_name: str
    quantity: int
    unit_price: Decimal
    reason_code: str
    reason_note: str | None
    category: str | None


@dataclass(frozen=True)
class CleanReturn:
    """A validated new return."""

    rma: str | None
    order_number: str
    customer_name: str
    customer_email: str
    customer_locale: str
    delivered_on: date | None
    priority: int
    carrier: str | None
    tracking_number: str | None
    items: tuple[CleanItem, ...]


def _parse_priority(value: str | int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value in {p.value for p in Priority} else None
    text = str(value).strip().lower() or "normal"
    try:
        return Priority[text.upper()].value
    except KeyError:
        return None


def validate_draft(draft: ReturnDraft, workflow: Workflow, today: date) -> CleanReturn:
    """Check a new return against the rules and the return policy; ValidationFailed names each bad field."""
    errors: dict[str, str] = {}
    policy = workflow.policy

    def text(name: str, value: str, limit: int, *, required: bool = True) -> str:
        value = (value or "").strip()
        if required and not value:
            errors[name] = "required"
        elif len(value) > limit:
            errors[name] = f"at most {limit} characters (got {len(value)})"
        return value

    rma = text("rma", draft.rma, 40, required=False).upper()
    if rma and not RMA_RE.match(rma):
        errors["rma"] = "use letters, digits and - . _ only"
    order = text("order_number", draft.order_number, 60)
    name = text("customer_name", draft.customer_name, 200)
    email = text("customer_email", draft.customer_email, 254).lower()
    if email and "customer_email" not in errors and not EMAIL_RE.match(email):
        errors["customer_email"] = f"not an e-mail address: {email!r}"
    locale = (draft.customer_locale or "en").strip()
    if not LOCALE_RE.match(locale):
        errors["customer_locale"] = f"expected a language code like en or nl, got {locale!r}"
    delivered: date | None = None
    if isinstance(draft.delivered_on, date):
        delivered = draft.delivered_on
    elif draft.delivered_on and str(draft.delivered_on).strip():
        try:
            delivered = date.fromisoformat(str(draft.delivered_on).strip())
        except ValueError:
            errors["delivered_on"] = f"expected a date like 2026-03-01, got {draft.delivered_on!r}"
    if delivered is not None:
        age = (today - delivered).days
        if age < 0:
            errors["delivered_on"] = f"{delivered.isoformat()} is in the future"
        elif age > policy.return_window_days:
            errors["delivered_on"] = (
                f"outside the {policy.return_window_days}-day return window "
                f"(delivered {delivered.isoformat()}, {age} days ago)"
            )
    priority = _parse_priority(draft.priority)
    if priority is None:
        errors["priority"] = f"expected one of {', '.join(p.label for p in Priority)}, got {draft.priority!r}"
    carrier = text("carrier", draft.carrier, 60, required=False)
    tracking = text("tracking_number", draft.tracking_number, 80, required=False)

    items: list[CleanItem] = []
    if not draft.items:
        errors["items"] = "at least one item is needed"
    for i, item in enumerate(draft.items):
        p = f"items[{i}]."
        sku = text(p + "sku", item.sku, 64).upper()
        product = text(p + "product_name", item.product_name, 200)
        category = text(p + "category", item.category, 60, required=False).lower() or None
        if sku and sku in policy.non_returnable_skus:
            errors[p + "sku"] = f"{sku} cannot be returned (the return policy excludes it)"
        if category and category in policy.non_returnable_categories:
            errors[p + "category"] = f"{category} items cannot be returned (the return policy excludes them)"
        try:
            qty = int(str(item.quantity).strip())
            if qty <= 0:
                errors[p + "quantity"] = f"must be at least 1, got {qty}"
            elif qty > MAX_QUANTITY:
                errors[p + "quantity"] = f"at most {MAX_QUANTITY} per line, got {qty}"
        except ValueError:
            qty = 0
            errors[p + "quantity"] = f"expected a whole number, got {item.quantity!r}"
        try:
            price = Decimal(str(item.unit_price).strip().replace(",", "."))
            if not price.is_finite() or price < 0:
                raise InvalidOperation
            if price != price.quantize(Decimal("0.01")):
                errors[p + "unit_price"] = f"at most two decimals, got {item.unit_price!r}"
            elif price >= Decimal("100000000"):
                errors[p + "unit_price"] = f"too large: {item.unit_price!r}"
        except InvalidOperation:
            price = Decimal(0)
            errors[p + "unit_price"] = f"expected an amount like 19.95, got {item.unit_price!r}"
        reason = (item.reason_code or "").strip().lower()
        if not reason:
            errors[p + "reason_code"] = "required"
        elif reason not in workflow.reasons:
            errors[p + "reason_code"] = f"unknown reason {reason!r}; reasons are: {', '.join(workflow.reasons)}"
        note = text(p + "reason_note", item.reason_note, 2000, required=False) or None
        items.append(CleanItem(sku, product, qty, price, reason, note, category))
    if errors:
        raise ValidationFailed(errors)
    return CleanReturn(rma or None, order, name, email, locale.replace("_", "-"), delivered,
                       priority or 1, carrier or None, tracking or None, tuple(items))


def next_rma(session: Session) -> str:
    """A fresh RMA number: RMA- and one more than the highest number in use."""
    # the longest, then greatest, RMA-… values hold the highest number; imports may add odd ones
    candidates = session.scalars(
        select(Return.rma).where(Return.rma.like("RMA-%"))
        .order_by(func.length(Return.rma).desc(), Return.rma.desc()).limit(50)
    )
    highest = max((int(n[4:]) for n in candidates if n[4:].isdigit()), default=1000)
    return f"RMA-{highest + 1}"


def _insert_numbered(session: Session, r: Return, *, generated: bool) -> None:
    """Insert a new return; a generated RMA that another app server took a moment ago is numbered again."""
    for _ in range(5):
        try:
            with session.begin_nested():
                session.add(r)
                session.flush()
            return
        except IntegrityError:
            if not generated or session.scalar(select(Return.id).where(Return.rma == r.rma)) is None:
                raise
            r.rma = next_rma(session)
    raise VersionConflict("Could not number the new return: many were created at once; try again.")


def create_return(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    draft: ReturnDraft | CleanReturn,
    *,
    now: datetime | None = None,
    stage_key: str | None = None,
    batch: bool = False,
) -> Return:
    """Open a new return in the first stage (or `stage_key`); `batch`: the caller checks RMAs and flushes in bulk."""
    now = now or utcnow()
    initial = workflow.initial_stage
    stage = workflow.stage(stage_key) if stage_key else initial
    if not may_act_on(actor, workflow, initial.key):
        raise _deny(actor, workflow, initial.key, "create returns")
    clean = draft if isinstance(draft, CleanReturn) else validate_draft(draft, workflow, workflow.today(now))
    rma = clean.rma or next_rma(session)
    # a batch import has looked up its RMAs beforehand, and the unique index still guards them
    if not batch and session.scalar(select(Return.id).where(Return.rma == rma)) is not None:
        raise ValidationFailed({"rma": f"{rma} already exists"})
    r = Return(
        rma=rma, order_number=clean.order_number, customer_name=clean.customer_name,
        customer_email=clean.customer_email, customer_locale=clean.customer_locale,
        delivered_on=clean.delivered_on, priority=clean.priority, carrier=clean.carrier,
        tracking_number=clean.tracking_number, created_at=now,
        promised_by=now + timedelta(days=workflow.promise_days),
        items=[ReturnItem(sku=i.sku, product_name=i.product_name, quantity=i.quantity,
                          unit_price=i.unit_price, reason_code=i.reason_code,
                          reason_note=i.reason_note, category=i.category) for i in clean.items],
    )
    _set_stage(r, stage, workflow, now)
    if batch:
        session.add(r)
    else:
        _insert_numbered(session, r, generated=not clean.rma)
    record_event(session, r, actor, "created", now=now, to_stage=stage.key)
    if not batch:
        # an import brings in returns customers already know about: it tells nobody
        session.flush()
        outbox.notify_stage_entered(session, workflow, r, None, stage, actor_name=actor.name, note=None, now=now)
        session.flush()
    return r


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
    note: str | None = None,
    now: datetime | None = None,
) -> Return:
    """Move a return to another stage, if the workflow and the actor's role allow it."""
    now = now or utcnow()
    r = get_return(session, rma)
    _check_version(session, r, expected_version)
    if to_stage not in workflow.stages:
        raise InvalidTransition(f"unknown stage {to_stage!r}; stages are: {', '.join(workflow.stages)}")
    src, dst = workflow.stage(r.stage), workflow.stage(to_stage)
    if src.key == dst.key:
        raise InvalidTransition(f"{r.rma} is already in “{dst.name}”.")
    if not may_move(actor, workflow, src.key, dst.key):
        raise _deny(actor, workflow, src.key if not src.closed else dst.key, f"move {r.rma}")
    if not workflow.allows(src.key, dst.key):
        options = ", ".join(f"“{workflow.stages[k].name}”" for k in src.next) or "nowhere"
        raise InvalidTransition(
            f"{r.rma} cannot move from “{src.name}” to “{dst.name}”; from there it can go to {options}."
        )
    note = (note or "").strip() or None
    res: Resolution | None = None
    if dst.requires_resolution:
        allowed = workflow.policy.allowed_resolutions
        value = resolution.value if isinstance(resolution, Resolution) else (resolution or "").strip()
        if not value:
            raise ValidationFailed({"resolution": f"choose how it was resolved: {', '.join(allowed)}"})
        if value not in allowed:
            raise ValidationFailed({"resolution": f"unknown resolution {value!r}; allowed: {', '.join(allowed)}"})
        res = Resolution(value)
    if dst.requires_note and not note:
        raise ValidationFailed({"note": f"moving to “{dst.name}” needs a reason for the customer"})
    if note and len(note) > MAX_COMMENT:
        raise ValidationFailed({"note": f"at most {MAX_COMMENT} characters"})

    from_team, to_team = src.team, dst.team
    _set_stage(r, dst, workflow, now)
    r.resolution = res
    if to_team != from_team:
        r.assignee = None  # a handoff: the receiving team claims it (the relationship, so messages see it)
    # write the row now: a concurrent change surfaces here as a VersionConflict, not in a later autoflush
    _flush(session, r)
    kind = "closed" if dst.closed else "reopened" if src.closed else "moved"
    outbox.notify_stage_entered(session, workflow, r, src, dst, actor_name=actor.name, note=note, now=now)
    record_event(
        session, r, actor, kind, now=now, from_stage=src.key, to_stage=dst.key,
        note=note, resolution=res.value if res else None,
        handoff=bool(to_team and to_team != from_team) or None,
        from_team=from_team, to_team=to_team,
    )
    _flush(session, r)
    return r


def close_return(
    session: Session, workflow: Workflow, actor: Actor, rma: str, to_stage: str, *,
    resolution: str | None = None, note: str | None = None,
    expected_version: int | None = None, now: datetime | None = None,
) -> Return:
    """Close a return into a closed stage (resolved with a resolution, or rejected with a reason)."""
    stage = workflow.stages.get(to_stage)
    if stage is None or not stage.closed:
        closed = ", ".join(workflow.closed_stage_keys)
        raise InvalidTransition(f"{to_stage!r} is not a closed stage; closed stages are: {closed}")
    return move_return(session, workflow, actor, rma, to_stage, expected_version=expected_version,
                       resolution=resolution, note=note, now=now)


def reopen_return(
    session: Session, workflow: Workflow, actor: Actor, rma: str, *,
    to_stage: str | None = None, note: str | None = None,
    expected_version: int | None = None, now: datetime | None = None,
) -> Return:
    """Reopen a closed return into the stage its closed stage leads back to."""
    r = get_return(session, rma)
    stage = workflow.stage(r.stage)
    if not stage.closed:
        raise InvalidTransition(f"{r.rma} is not closed; it is in “{stage.name}”.")
    target = to_stage or (stage.next[0] if stage.next else None)
    if target is None:
        raise InvalidTransition(f"returns in “{stage.name}” cannot be reopened.")
    return move_return(session, workflow, actor, r.rma, target, expected_version=expected_version,
                       note=note, now=now)


# --- assignment, comments, flags, shipping -----------------------------------------------


def assign_return(
    session: Session, workflow: Workflow, actor: Actor, rma: str, assignee: User | None, *,
    expected_version: int | None = None, now: datetime | None = None,
) -> Return:
    """Give a return to someone on the owning team (or to nobody)."""
    now = now or utcnow()
    r = get_return(session, rma)
    _check_version(session, r, expected_version)
    stage = workflow.stage(r.stage)
    if stage.closed:
        raise InvalidTransition(f"{r.rma} is closed; reopen it before assigning it.")
    if not may_act_on(actor, workflow, r.stage):
        raise _deny(actor, workflow, r.stage, f"assign {r.rma}")
    if assignee is not None:
        if not assignee.is_active:
            raise ValidationFailed({"assignee": f"{assignee.name} is deactivated"})
        if stage.team not in assignee.team_keys and not assignee.is_lead_or_admin:
            team = workflow.teams[stage.team].name if stage.team else "the owning team"
            raise ValidationFailed({"assignee": f"{assignee.name} is not on {team}, which owns “{stage.name}”"})
    if (assignee.id if assignee else None) == r.assignee_id:
        return r
    previous = r.assignee
    r.assignee = assignee
    if assignee is None:
        record_event(session, r, actor, "unassigned", now=now,
                     previous=previous.name if previous else None)
    else:
        record_event(session, r, actor, "claimed" if actor.user is assignee else "assigned", now=now,
                     assignee=assignee.name, assignee_id=assignee.id,
                     previous=previous.name if previous else None)
    _flush(session, r)
    return r


def claim_return(
    session: Session, workflow: Workflow, actor: Actor, rma: str, *,
    expected_version: int | None = None, now: datetime | None = None,
) -> Return:
    """Assign a return to the acting user."""
    if actor.user is None:
        raise PermissionDenied("only a person can claim a return")
    return assign_return(session, workflow, actor, rma, actor.user,
                         expected_version=expected_version, now=now)


def add_comment(
    session: Session, actor: Actor, rma: str, body: str, *, now: datetime | None = None,
    workflow: Workflow | None = None,
) -> Comment:
    """Leave a comment on a return; with the workflow, the people it @mentions are notified."""
    now = now or utcnow()
    body = (body or "").strip()
    if not body:
        raise ValidationFailed({"body": "a comment cannot be empty"})
    if len(body) > MAX_COMMENT:
        raise ValidationFailed({"body": f"at most {MAX_COMMENT} characters (got {len(body)})"})
    r = get_return(session, rma)
    comment = Comment(return_=r, author=actor.user, body=body, created_at=now)
    session.add(comment)
    session.flush()
    mentioned = mentioned_users(session, body)
    record_event(session, r, actor, "commented", now=now, comment_id=comment.id,
                 excerpt=body[:140], mentions=[u.id for u in mentioned] or None)
    if workflow is not None:
        outbox.notify_mentions(session, workflow, r, comment, mentioned, now=now)
    session.flush()
    return comment


MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._-]*)")


def mention_handle(user: User) -> str:
    """How to @mention a user: the part of their e-mail address before the @."""
    return user.email.split("@", 1)[0]


def mentioned_users(session: Session, body: str) -> list[User]:
    """The active users a text @mentions by their handle (case-insensitive), in order of first mention."""
    handles = [h.rstrip(".").lower() for h in MENTION_RE.findall(body)]
    if not handles:
        return []
    patterns = [f"{h}@%" for h in dict.fromkeys(handles)]
    users = session.scalars(select(User).where(User.is_active.is_(True), or_(*(User.email.like(p) for p in patterns))))
    by_handle = {mention_handle(u).lower(): u for u in users}
    return [by_handle[h] for h in dict.fromkeys(handles) if h in by_handle]


def flag_return(
    session: Session, workflow: Workflow, actor: Actor, rma: str, reason: str, *,
    expected_version: int | None = None, now: datetime | None = None,
) -> Return:
    """Mark a return as blocked, with the reason."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "say why the return is blocked"})
    if len(reason) > MAX_REASON:
        raise ValidationFailed({"reason": f"at most {MAX_REASON} characters (got {len(reason)})"})
    r = get_return(session, rma)
    _check_version(session, r, expected_version)
    if r.is_closed:
        raise InvalidTransition(f"{r.rma} is closed; there is nothing to block.")
    if not may_act_on(actor, workflow, r.stage):
        raise _deny(actor, workflow, r.stage, f"flag {r.rma}")
    r.is_blocked, r.blocked_reason = True, reason
    record_event(session, r, actor, "flagged", now=now, reason=reason)
    _flush(session, r)
    return r


def unflag_return(
    session: Session, workflow: Workflow, actor: Actor, rma: str, *,
    expected_version: int | None = None, now: datetime | None = None,
) -> Return:
    """Clear a return's blocked flag."""
    now = now or utcnow()
    r = get_return(session, rma)
    _check_version(session, r, expected_version)
    if not r.is_blocked:
        raise InvalidTransition(f"{r.rma} is not blocked.")
    if not may_act_on(actor, workflow, r.stage):
        raise _deny(actor, workflow, r.stage, f"unflag {r.rma}")
    previous = r.blocked_reason
    r.is_blocked, r.blocked_reason = False, None
    record_event(session, r, actor, "unflagged", now=now, reason=previous)
    _flush(session, r)
    return r


MAX_SNOOZE_HOURS = 72


def snooze_return(
    session: Session, workflow: Workflow, actor: Actor, rma: str, hours: float, *,
    now: datetime | None = None,
) -> Return:
    """Hold back this stage's delay alerts for `hours` ("remind me in 4 hours"); the end shows in the timeline."""
    now = now or utcnow()
    if not 0 < hours <= MAX_SNOOZE_HOURS:
        raise ValidationFailed({"hours": f"snooze for more than 0 and at most {MAX_SNOOZE_HOURS} hours, got {hours:g}"})
    r = get_return(session, rma)
    if r.is_closed:
        raise InvalidTransition(f"{r.rma} is closed; there is nothing to snooze.")
    if not may_act_on(actor, workflow, r.stage):
        raise _deny(actor, workflow, r.stage, f"snooze {r.rma}")
    r.snoozed_until = now + timedelta(hours=hours)
    r.next_alert_at = next_alert_time(r)
    flag_modified(r, "next_alert_at")  # always written: the scan may have changed it behind the session's back
    record_event(session, r, actor, "snoozed", now=now, hours=hours, until=r.snoozed_until.isoformat())
    _flush(session, r)
    return r


def update_shipping(
    session: Session, workflow: Workflow, actor: Actor, rma: str, *,
    carrier: str, tracking_number: str,
    expected_version: int | None = None, now: datetime | None = None,
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
    r = get_return(session, rma)
    _check_version(session, r, expected_version)
    if not may_act_on(actor, workflow, r.stage) and not (r.is_closed and actor.user and actor.user.is_lead_or_admin):
        raise _deny(actor, workflow, r.stage, f"change the shipping of {r.rma}")
    if (r.carrier or "", r.tracking_number or "") == (carrier, tracking):
        return r
    r.carrier, r.tracking_number = carrier or None, tracking or None
    record_event(session, r, actor, "shipping_updated", now=now, carrier=carrier or None,
                 tracking_number=tracking or None)
    _flush(session, r)
    return r


def load_for_detail(session: Session, rma: str) -> Return:
    """A return with everything its detail page shows, in few queries."""
    r = session.scalar(
        select(Return).where(Return.rma == rma.strip().upper()).options(
            selectinload(Return.items), selectinload(Return.comments).joinedload(Comment.author),
            selectinload(Return.events),
        )
    )
    if r is None:
        raise NotFound(f"no return {rma.strip()}")
    return r


def stages_reachable(workflow: Workflow, actor: Actor, r: Return) -> Sequence[Stage]:
    """The stages this actor may move this return to, in board order."""
    src = workflow.stage(r.stage)
    return [workflow.stages[k] for k in src.next if may_move(actor, workflow, src.key, k)]
