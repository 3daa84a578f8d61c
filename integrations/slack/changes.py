"""The changes Slack makes to a return (one builder each, for buttons, modals and /returns alike), and their result.

A builder returns an operations.Change: a closure that makes the change through the services as the actor and
says what happened ("moved RMA-1 to …"), for the reply and the team's channel post.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.returns import services as svc
from hub.returns.models import Channel, Return
from hub.returns.permissions import Actor
from integrations.slack import blocks, lookups
from integrations.slack.blocks import when
from integrations.slack.context import SlackContext
from integrations.slack.operations import Change, Outcome, Overtaken
from integrations.slack.people import Person, load_user
from integrations.slack.replies import Where, tell, update_message

# --- the changes ----------------------------------------------------------------------------------


def claim_change(ctx: SlackContext) -> Change:
    """Claim the return for the actor."""

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        r = svc.claim_return(s, ctx.workflow, actor, r.rma, now=ctx.runtime.now())
        return r, f"claimed {r.rma}"

    return change


def snooze_change(ctx: SlackContext, hours: float) -> Change:
    """Hold back the return's delay alerts for `hours`."""

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        r = svc.snooze_return(s, ctx.workflow, actor, r.rma, hours, now=ctx.runtime.now())
        return r, f"snoozed the alerts of {r.rma} for {hours:g} hours"

    return change


def move_change(
    ctx: SlackContext,
    to_stage: str,
    *,
    resolution: str | None = None,
    rejection_reason: str | None = None,
    note: str | None = None,
) -> Change:
    """Move the return to `to_stage` (with a resolution or reason when the stage needs one); names a handoff."""
    wf = ctx.workflow
    target = wf.stages[to_stage]

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        src = wf.stages.get(r.stage)
        r = svc.move_return(
            s,
            wf,
            actor,
            r.rma,
            to_stage,
            resolution=resolution,
            rejection_reason=rejection_reason,
            note=note,
            now=ctx.runtime.now(),
        )
        what = f"moved {r.rma} to “{target.name}”"
        why = wf.rejection_reasons.get(rejection_reason or "") if target.requires_rejection_reason else None
        if why is not None:
            what += f" ({why.label})"
        to_team = wf.teams.get(target.team) if target.team else None
        if to_team is not None and src is not None and src.team != target.team:
            what += f" (handed to {to_team.name})"
        return r, what

    return change


def assign_change(ctx: SlackContext, assignee_id: int | None, *, me: int | None) -> Change:
    """Assign the return to the hub user `assignee_id` (None: nobody); `me` is the acting user's id."""

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        assignee = s.get(User, assignee_id) if assignee_id else None
        r = svc.assign_return(s, ctx.workflow, actor, r.rma, assignee, now=ctx.runtime.now())
        if assignee is None:
            return r, f"unassigned {r.rma}"
        if assignee.id == me:
            return r, f"took {r.rma}"
        return r, f"assigned {r.rma} to {assignee.name}"

    return change


def comment_change(ctx: SlackContext, body: str) -> Change:
    """Comment on the return (`body` in the hub's markup, @handles and all)."""

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        svc.add_comment(s, ctx.workflow, actor, r.rma, body, now=ctx.runtime.now())
        return r, f"commented on {r.rma}"

    return change


def flag_change(ctx: SlackContext, reason: str) -> Change:
    """Flag the return as blocked, for `reason`."""

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        r = svc.flag_return(s, ctx.workflow, actor, r.rma, reason, now=ctx.runtime.now())
        return r, f"flagged {r.rma} as blocked"

    return change


def unflag_change(ctx: SlackContext) -> Change:
    """Clear the return's block."""

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        r = svc.unflag_return(s, ctx.workflow, actor, r.rma, now=ctx.runtime.now())
        return r, f"cleared the block on {r.rma}"

    return change


# --- the result, on the message clicked -----------------------------------------------------------


def spent_claim(action_id: str) -> bool:
    """After a claim, the Claim button is spent."""
    return action_id == "claim"


def spent_all(action_id: str) -> bool:
    """After a move (or when the message is out of date), Claim and every Move button are spent."""
    return action_id == "claim" or action_id.startswith("move:")


def after_change(
    ctx: SlackContext, client: WebClient, where: Where, person: Person, outcome: Outcome, to_stage: str | None
) -> None:
    """Show the result on the message (who claimed or moved it, and when), or tell the clicker why not."""
    if outcome.duplicate:
        return
    now = ctx.runtime.now()
    who = f"<@{person.slack_user_id}> ({blocks.esc(person.name)})"
    if where.ephemeral and not where.blocks and outcome.rma:
        where.blocks = fresh_detail(ctx, person, outcome.rma)
    if outcome.ok:
        if to_stage is None:
            update_message(client, where, f":raising_hand: Claimed by {who} {when(now)}", drop=spent_claim)
        else:
            name = ctx.workflow.stages[to_stage].name
            update_message(
                client, where, f":arrow_right: Moved to “{blocks.esc(name)}” by {who} {when(now)}", drop=spent_all
            )
        return
    tell(client, where, outcome.message)
    if isinstance(outcome.error, Overtaken):
        name = ctx.workflow.stages[outcome.error.stage].name if outcome.error.stage in ctx.workflow.stages else ""
        update_message(
            client,
            where,
            f":information_source: Since moved on to “{blocks.esc(name)}”; this message is out of date.",
            drop=spent_all,
        )


def fresh_detail(ctx: SlackContext, person: Person, rma: str) -> list[dict[str, Any]]:
    """The return as `/returns <RMA>` shows it now (an ephemeral reply's click does not carry its blocks)."""
    now = ctx.runtime.now()
    with ctx.runtime.read_session_factory() as s:
        user = load_user(s, person.user_id or 0)
        found = lookups.find_returns(s, rma)
        if user is None or not found:
            return []
        facts = lookups.detail_facts(s, ctx.workflow, found[0], now, Actor.person(user, Channel.SLACK))
    return blocks.detail_message(facts, ctx.base_url, now)[1]
