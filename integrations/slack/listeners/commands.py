"""The /returns slash command: parse and acknowledge at once, then do the work and reply (ephemeral)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.errors import NotFound, ValidationFailed
from hub.returns import services as svc
from hub.returns.models import Channel, Return
from hub.returns.services import Actor
from integrations.slack import blocks, lookups
from integrations.slack.app import SlackContext
from integrations.slack.blocks import esc
from integrations.slack.operations import Outcome, apply, is_not_found
from integrations.slack.parsing import Command, UsageError, help_text, parse, plain_text, slack_user_ids, usage_line
from integrations.slack.people import NETWORK_ERRORS, Person, load_user, slack_id_of, who_is

log = logging.getLogger(__name__)


def register(app: App, ctx: SlackContext) -> None:
    """The slash command (HUB_SLACK_COMMAND, /returns by default)."""

    @app.command(ctx.command)
    def returns_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        try:
            cmd = parse(command.get("text", ""), ctx.workflow, ctx.command)
        except UsageError as exc:
            ack(text=esc(exc.message))
            return
        if cmd.name == "help":
            ack(text=help_text(ctx.command))
            return
        ack()
        try:
            run(ctx, cmd, command, respond, client)
        except Exception:  # noqa: BLE001 - after the ack, an unexpected error still gets a reply
            log.exception("%s %r failed", ctx.command, command.get("text"))
            respond(text=":x: Something went wrong on the hub's side; the change was not made. "
                         "Try again, or use the board.", response_type="ephemeral")


def reply(respond: Respond, message: blocks.Message) -> None:
    """An ephemeral reply through the command's response_url."""
    text, body = message
    respond(text=text, blocks=body, response_type="ephemeral", replace_original=False)


def run(ctx: SlackContext, cmd: Command, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
    """Carry out a parsed command as the linked hub user (after the acknowledgement)."""
    person = who_is(ctx.runtime, client, command["user_id"])
    if not person.is_mapped:
        reply(respond, blocks.result_message(person.refusal, ok=False))
        return
    handler = HANDLERS[cmd.name]
    handler(ctx, cmd, person, command, respond, client)


def _error(ctx: SlackContext, message: str, name: str | None = None) -> blocks.Message:
    usage = usage_line(ctx.command, name) if name is not None else None
    return blocks.result_message(message, ok=False, usage=f"Usage: {usage}" if usage else None)


def _actor(session: Session, person: Person) -> Actor:
    user = load_user(session, person.user_id or 0)
    if user is None:
        raise NotFound("Your Returns Hub account is deactivated.")
    return Actor.person(user, Channel.SLACK)


# --- reading --------------------------------------------------------------------------------------


def show(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
         client: WebClient) -> None:
    """`/returns RMA-1042` or `/returns ORD-50012`: the return, or the order's returns."""
    now = ctx.runtime.now()
    with ctx.runtime.read_session_factory() as s:
        found = lookups.find_returns(s, cmd.rma)
        if not found:
            reply(respond, _error(ctx, f"No return {cmd.rma} and no order with that number.", ""))
            return
        if len(found) == 1:
            facts = lookups.detail_facts(s, ctx.workflow, found[0], now, _actor(s, person))
            reply(respond, blocks.detail_message(facts, ctx.base_url, now))
            return
        rows = [{"rma": r.rma, "customer_name": r.customer_name, "stage_name": ctx.workflow.stages[r.stage].name
                 if r.stage in ctx.workflow.stages else r.stage, "due_at": None if r.is_closed else r.stage_due_at,
                 "assignee": r.assignee.name if r.assignee else None, "is_blocked": r.is_blocked} for r in found]
        reply(respond, blocks.list_message(f"Returns of order {cmd.rma}", rows, len(rows), base_url=ctx.base_url,
                                           now=now, more_url=blocks.board_url(ctx.base_url, q=cmd.rma), empty=""))


def mine(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
         client: WebClient) -> None:
    """`/returns mine`: the open returns assigned to me."""
    now = ctx.runtime.now()
    with ctx.runtime.read_session_factory() as s:
        rows, total = lookups.assigned_to(s, ctx.workflow, person.user_id or 0, now)
    reply(respond, blocks.list_message("Assigned to you", rows, total, base_url=ctx.base_url, now=now,
                                       more_url=blocks.board_url(ctx.base_url, assignee="mine"),
                                       empty="Nothing is assigned to you. Claim something from a queue!"))


def queue(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
          client: WebClient) -> None:
    """`/returns queue [team]` and `/returns overdue [team]`: a team's open (or overdue) returns."""
    now = ctx.runtime.now()
    overdue = cmd.name == "overdue"
    with ctx.runtime.read_session_factory() as s:
        if cmd.text:
            try:
                teams = [lookups.find_team(ctx.workflow, cmd.text)]
            except KeyError as exc:
                reply(respond, _error(ctx, str(exc.args[0]), cmd.name))
                return
        else:
            user = load_user(s, person.user_id or 0)
            mine_ = [ctx.workflow.teams[k] for k in sorted(user.team_keys) if k in ctx.workflow.teams] if user else []
            teams = mine_ or list(ctx.workflow.teams.values())
        keys = [t.key for t in teams]
        rows, total = lookups.team_returns(s, ctx.workflow, keys, now, overdue_only=overdue)
    names = ", ".join(t.name for t in teams)
    title = f"Overdue in {names}" if overdue else f"Open in {names}"
    filters = {"team": keys[0] if len(keys) == 1 else "", "overdue": "1" if overdue else ""}
    empty = "Nothing is overdue. :tada:" if overdue else "The queue is empty."
    reply(respond, blocks.list_message(title, rows, total, base_url=ctx.base_url, now=now,
                                       more_url=blocks.board_url(ctx.base_url, **filters), empty=empty))


# --- changing -------------------------------------------------------------------------------------


def _request_key(command: dict[str, Any]) -> str:
    # one slash command invocation has one trigger id; a retry of it carries the same one
    return f"command:{command.get('trigger_id') or command.get('response_url')}"


def _change(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
            change: Callable[[Session, Actor, Return], tuple[Return, str]], *, note: str | None = None) -> Outcome:
    outcome = apply(ctx, person, _request_key(command), cmd.rma, change, note=note)
    if outcome.ok:
        reply(respond, blocks.result_message(outcome.message))
    elif is_not_found(outcome):
        reply(respond, _error(ctx, f"No return {cmd.rma}.", cmd.name))
    elif isinstance(outcome.error, ValidationFailed) and cmd.name == "move":
        reply(respond, _error(ctx, outcome.message, "move"))
    else:
        reply(respond, blocks.result_message(outcome.message, ok=False))
    return outcome


def move(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
         client: WebClient) -> None:
    """`/returns move RMA <stage> [resolution | reason]`."""
    wf = ctx.workflow
    target = wf.stages[cmd.stage]

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        src = wf.stages.get(r.stage)
        r = svc.move_return(s, wf, actor, r.rma, target.key, resolution=cmd.resolution or None,
                            note=cmd.text or None, now=ctx.runtime.now())
        to_team = wf.teams.get(target.team) if target.team else None
        handoff = to_team is not None and src is not None and src.team != target.team
        what = f"moved {r.rma} to “{target.name}”" + (f" (handed to {to_team.name})" if handoff else "")
        return r, what

    _change(ctx, cmd, person, command, respond, change, note=cmd.text or None)


def assign(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
           client: WebClient) -> None:
    """`/returns assign RMA @person|me|nobody`."""
    target = cmd.assignee
    assignee_id: int | None = None
    if target == "me":
        assignee_id = person.user_id
    elif target.startswith(("U", "W")) and target[1:].isalnum() and target.isupper():
        other = who_is(ctx.runtime, client, target)
        if not other.is_mapped:
            reply(respond, blocks.result_message(f"<@{target}> is not linked to a Returns Hub user: {other.problem}",
                                                 ok=False))
            return
        assignee_id = other.user_id
    elif target != "nobody":
        with ctx.runtime.read_session_factory() as s:
            found = lookups.users_by_handle(s, target)
        if len(found) != 1:
            why = "Nobody" if not found else "More than one person"
            reply(respond, _error(ctx, f"{why} in Returns Hub goes by {target}.", "assign"))
            return
        assignee_id = found[0].id

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        assignee = s.get(User, assignee_id) if assignee_id else None
        r = svc.assign_return(s, ctx.workflow, actor, r.rma, assignee, now=ctx.runtime.now())
        if assignee is None:
            return r, f"unassigned {r.rma}"
        if assignee.id == person.user_id:
            return r, f"took {r.rma}"
        return r, f"assigned {r.rma} to {assignee.name}"

    outcome = _change(ctx, cmd, person, command, respond, change)
    if outcome.ok and assignee_id and assignee_id != person.user_id and not outcome.duplicate:
        slack_id_of(ctx.runtime, client, assignee_id)  # link them now, so their @mentions reach them in Slack


def note(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
         client: WebClient) -> None:
    """`/returns note RMA <text>`: a comment; Slack @mentions become the hub's @handles."""
    handles: dict[str, str] = {}
    for slack_id in slack_user_ids(cmd.text):
        other = who_is(ctx.runtime, client, slack_id)
        if other.is_mapped:
            with ctx.runtime.read_session_factory() as s:
                user = s.get(User, other.user_id)
                if user is not None:
                    handles[slack_id] = svc.mention_handle(user)
    body = plain_text(cmd.text, handles)

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        svc.add_comment(s, actor, r.rma, body, now=ctx.runtime.now(), workflow=ctx.workflow)
        return r, f"commented on {r.rma}"

    _change(ctx, cmd, person, command, respond, change, note=body)


def flag(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
         client: WebClient) -> None:
    """`/returns flag RMA <reason>`."""
    reason = plain_text(cmd.text)

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        r = svc.flag_return(s, ctx.workflow, actor, r.rma, reason, now=ctx.runtime.now())
        return r, f"flagged {r.rma} as blocked"

    _change(ctx, cmd, person, command, respond, change, note=reason)


def unflag(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
           client: WebClient) -> None:
    """`/returns unflag RMA`."""

    def change(s: Session, actor: Actor, r: Return) -> tuple[Return, str]:
        r = svc.unflag_return(s, ctx.workflow, actor, r.rma, now=ctx.runtime.now())
        return r, f"cleared the block on {r.rma}"

    _change(ctx, cmd, person, command, respond, change)


def new(ctx: SlackContext, cmd: Command, person: Person, command: dict[str, Any], respond: Respond,
        client: WebClient) -> None:
    """`/returns new`: the new-return modal, for those who may create returns."""
    wf = ctx.workflow
    with ctx.runtime.read_session_factory() as s:
        allowed = svc.may_act_on(_actor(s, person), wf, wf.initial_stage.key)
    if not allowed:
        team = wf.team_of(wf.initial_stage.key)
        reply(respond, blocks.result_message(
            f"Only {team.name if team else 'its team'}, leads and admins can create returns.", ok=False))
        return
    metadata = json.dumps({"response_url": command.get("response_url"), "channel_id": command.get("channel_id")})
    try:
        client.views_open(trigger_id=command["trigger_id"], view=blocks.new_return_modal(wf, metadata))
    except NETWORK_ERRORS as exc:
        log.warning("views.open for the new-return modal failed: %s", exc)
        reply(respond, blocks.result_message("Slack did not open the form (it allows 3 seconds); try again, "
                                             "or use the board.", ok=False))


HANDLERS: dict[str, Callable[..., None]] = {
    "show": show, "mine": mine, "queue": queue, "overdue": queue, "move": move, "assign": assign, "note": note,
    "flag": flag, "unflag": unflag, "new": new,
}

