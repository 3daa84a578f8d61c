"""Changes made from Slack: through the services, as the linked hub user, once per Slack request, told to the team.

Each runs in its own unit of work (Bolt calls listeners on worker threads, outside Flask's request) that also
records the Slack request as processed, so Slack retrying it never applies it twice, and writes the team's
channel post to the outbox, so it is delivered (and throttled, and retried) like every other notification.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.accounts.services import zone_of
from hub.core.errors import (
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from hub.notifications.models import ProcessedRequest
from hub.notifications.outbox import enqueue
from hub.returns.drafts import ReturnDraft
from hub.returns.models import Channel, Return
from hub.returns.notices import return_facts
from hub.returns.permissions import Actor
from hub.returns.services import create_return, get_return
from hub.returns.timeline import worded_conflict
from hub.workflow import Workflow
from integrations.slack.context import SlackContext
from integrations.slack.lookups import with_next_stages
from integrations.slack.people import Person, load_user

log = logging.getLogger(__name__)

# a change: (session, actor, the return as loaded) -> (the return after, what happened: "moved RMA-1 to …")
Change = Callable[[Session, Actor, Return], tuple[Return, str]]


class Overtaken(InvalidTransition):
    """The message a button sits on is out of date: the return is no longer in that stage."""

    def __init__(self, message: str, stage: str) -> None:
        super().__init__(message)
        self.stage = stage


@dataclass
class Outcome:
    """What a change from Slack came to."""

    ok: bool
    message: str
    rma: str | None = None
    facts: dict[str, Any] | None = None  # the return after the change, with its next stages
    error: DomainError | None = None
    duplicate: bool = False
    field_errors: dict[str, str] = field(default_factory=dict)


def first_time(session: Session, key: str, now: datetime) -> bool:
    """Record a Slack request as applied in the caller's transaction; False when it already was."""
    if session.get(ProcessedRequest, key) is not None:
        return False
    session.add(ProcessedRequest(key=key[:200], received_at=now))
    try:
        session.flush()
    except IntegrityError:
        # the same request is being applied by another thread right now (Slack retried a slow one)
        session.rollback()
        return False
    return True


def remember(ctx: SlackContext, key: str) -> bool:
    """Record a request (an event) as seen, in a transaction of its own; False when it already was."""
    with ctx.runtime.unit_of_work() as s:
        return first_time(s, key, ctx.runtime.now())


def tell_team(
    session: Session,
    workflow: Workflow,
    r: Return,
    team_key: str | None,
    *,
    person: Person,
    actor_name: str,
    what: str,
    note: str | None,
    now: datetime,
) -> None:
    """Post a change made from Slack in the channel of the team it concerns (through the outbox)."""
    team = workflow.teams.get(team_key) if team_key else None
    if team is None or not team.slack_channel:
        return
    payload = {
        **return_facts(r, workflow),
        "actor": actor_name,
        "actor_slack_id": person.slack_user_id,
        "what": what,
        "note": note,
        "at": now.isoformat(),
    }
    enqueue(
        session,
        channel="slack",
        kind="activity",
        recipient=team.slack_channel,
        payload=payload,
        return_id=r.id,
        now=now,
    )


# the work inside the skeleton: (session, the acting user, now) -> (the return after, what happened)
Work = Callable[[Session, User, datetime], tuple[Return, str]]


def _once(ctx: SlackContext, person: Person, key: str, work: Work, *, refusal: str, rma: str | None = None) -> Outcome:
    """Do `work` as the person's hub user, once per `key`, in one unit of work; domain errors become Outcomes."""
    wf, now = ctx.workflow, ctx.runtime.now()
    zone = wf.shop_zone  # the person's own once they are known (Slack does not tell us the reader's zone)
    try:
        with ctx.runtime.unit_of_work() as s:
            user = load_user(s, person.user_id) if person.user_id else None
            if user is None:
                raise PermissionDenied(refusal)
            zone = zone_of(user, wf)
            if not first_time(s, key, now):
                return Outcome(True, "Already done: Slack sent the same request again.", rma, duplicate=True)
            r, what = work(s, user, now)
            return Outcome(True, f"You {what}.", r.rma, facts=with_next_stages(return_facts(r, wf), wf))
    except ValidationFailed as exc:
        return Outcome(False, exc.message, rma, error=exc, field_errors=exc.field_errors)
    except VersionConflict as exc:
        again = "Look at the return again, then try again."
        return Outcome(False, worded_conflict(exc, zone, shown_in=None, next_step=again), rma, error=exc)
    except DomainError as exc:
        return Outcome(False, exc.message, rma, error=exc)


def apply(
    ctx: SlackContext,
    person: Person,
    key: str,
    rma: str,
    change: Change,
    *,
    expect_stage: str | None = None,
    announce: bool = True,
    note: str | None = None,
) -> Outcome:
    """Apply one change to a return as the person, once per `key`; the team that owned it is told when `announce`."""
    wf = ctx.workflow

    def work(s: Session, user: User, now: datetime) -> tuple[Return, str]:
        before = get_return(s, rma)
        if expect_stage and before.stage != expect_stage:
            name = wf.stages[before.stage].name if before.stage in wf.stages else before.stage
            raise Overtaken(
                f"{before.rma} has moved on to “{name}” since this message; nothing was changed.", before.stage
            )
        stage = wf.stages.get(before.stage)
        team_key = stage.team if stage else None
        r, what = change(s, Actor.person(user, Channel.SLACK), before)
        if announce:
            tell_team(s, wf, r, team_key, person=person, actor_name=user.name, what=what, note=note, now=now)
        return r, what

    refusal = person.refusal if not person.is_mapped else "Your Returns Hub account is deactivated."
    return _once(ctx, person, key, work, refusal=refusal, rma=rma)


def create(ctx: SlackContext, person: Person, key: str, draft: ReturnDraft) -> Outcome:
    """Create a return from the `new` modal as the person, once per `key`; customer service is told."""
    wf = ctx.workflow

    def work(s: Session, user: User, now: datetime) -> tuple[Return, str]:
        r = create_return(s, wf, Actor.person(user, Channel.SLACK), draft, now=now)
        what = f"created {r.rma} for {r.customer_name}"
        tell_team(s, wf, r, wf.initial_stage.team, person=person, actor_name=user.name, what=what, note=None, now=now)
        return r, what

    return _once(ctx, person, key, work, refusal=person.refusal)


def is_not_found(outcome: Outcome) -> bool:
    """Whether a change failed because the return does not exist."""
    return isinstance(outcome.error, NotFound)
