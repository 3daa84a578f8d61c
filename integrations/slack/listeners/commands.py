"""The /returns slash command: parse and acknowledge at once, then do the work and reply (ephemeral)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.core.errors import NotFound, ValidationFailed
from hub.returns.mentions import mention_handle
from hub.returns.models import Channel
from hub.returns.permissions import Actor, deny_create, may_create
from integrations.slack import blocks, changes, lookups
from integrations.slack.blocks import esc
from integrations.slack.context import SLACK_CALL_ERRORS, SlackContext
from integrations.slack.operations import Change, Outcome, apply, is_not_found
from integrations.slack.parsing import Command, UsageError, help_text, parse, plain_text, slack_user_ids, usage_line
from integrations.slack.people import Person, load_user, slack_id_of, who_is

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
        except Exception:  # after the ack, an unexpected error still gets a reply
            log.exception("%s %r failed", ctx.command, command.get("text"))
            respond(
                text=":x: Something went wrong on the hub's side; the change was not made. "
                "Try again, or use the board.",
                response_type="ephemeral",
            )


def reply(respond: Respond, message: blocks.Message) -> None:
    """An ephemeral reply through the command's response_url."""
    text, body = message
    respond(text=text, blocks=body, response_type="ephemeral", replace_original=False)


@dataclass(frozen=True)
class Invocation:
    """One /returns invocation, parsed and acknowledged: what every handler works with."""

    ctx: SlackContext
    cmd: Command
    person: Person  # the invoking Slack user, linked to a hub user
    payload: dict[str, Any]  # the slash command's payload as Slack sent it
    respond: Respond
    client: WebClient

    def reply(self, message: blocks.Message) -> None:
        """An ephemeral reply through the command's response_url."""
        reply(self.respond, message)

    def error(self, message: str, name: str | None = None) -> None:
        """Reply with what went wrong, and the usage of command `name` ("" for the general one) when given."""
        self.reply(_error(self.ctx, message, name))


def run(ctx: SlackContext, cmd: Command, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
    """Carry out a parsed command as the linked hub user (after the acknowledgement)."""
    person = who_is(ctx.runtime, client, command["user_id"])
    if not person.is_mapped:
        reply(respond, blocks.result_message(person.refusal, ok=False))
        return
    HANDLERS[cmd.name](Invocation(ctx, cmd, person, command, respond, client))


def _error(ctx: SlackContext, message: str, name: str | None = None) -> blocks.Message:
    usage = usage_line(ctx.command, name) if name is not None else None
    return blocks.result_message(message, ok=False, usage=f"Usage: {usage}" if usage else None)


def _actor(session: Session, person: Person) -> Actor:
    user = load_user(session, person.user_id or 0)
    if user is None:
        raise NotFound("Your Returns Hub account is deactivated.")
    return Actor.person(user, Channel.SLACK)


# --- reading --------------------------------------------------------------------------------------


def show(inv: Invocation) -> None:
    """`/returns RMA-1042` or `/returns ORD-50012`: the return, or the order's returns."""
    ctx, cmd = inv.ctx, inv.cmd
    now = ctx.runtime.now()
    with ctx.runtime.read_session_factory() as s:
        found = lookups.find_returns(s, cmd.rma)
        if not found:
            inv.error(f"No return {cmd.rma} and no order with that number.", "")
            return
        if len(found) == 1:
            facts = lookups.detail_facts(s, ctx.workflow, found[0], now, _actor(s, inv.person))
            inv.reply(blocks.detail_message(facts, ctx.base_url, now))
            return
        rows = [
            {
                "rma": r.rma,
                "customer_name": r.customer_name,
                "stage_name": ctx.workflow.stages[r.stage].name if r.stage in ctx.workflow.stages else r.stage,
                "due_at": None if r.is_closed else r.stage_due_at,
                "assignee": r.assignee.name if r.assignee else None,
                "is_blocked": r.is_blocked,
            }
            for r in found
        ]
        inv.reply(
            blocks.list_message(
                f"Returns of order {cmd.rma}",
                rows,
                len(rows),
                base_url=ctx.base_url,
                now=now,
                more_url=blocks.board_url(ctx.base_url, q=cmd.rma),
                empty="",
            )
        )


def mine(inv: Invocation) -> None:
    """`/returns mine`: the open returns assigned to me."""
    ctx = inv.ctx
    now = ctx.runtime.now()
    with ctx.runtime.read_session_factory() as s:
        rows, total = lookups.assigned_to(s, ctx.workflow, inv.person.user_id or 0, now)
    inv.reply(
        blocks.list_message(
            "Assigned to you",
            rows,
            total,
            base_url=ctx.base_url,
            now=now,
            more_url=blocks.board_url(ctx.base_url, assignee="mine"),
            empty="Nothing is assigned to you. Claim something from a queue!",
        )
    )


def queue(inv: Invocation) -> None:
    """`/returns queue [team]` and `/returns overdue [team]`: a team's open (or overdue) returns."""
    ctx, cmd = inv.ctx, inv.cmd
    now = ctx.runtime.now()
    overdue = cmd.name == "overdue"
    with ctx.runtime.read_session_factory() as s:
        if cmd.text:
            try:
                teams = [lookups.find_team(ctx.workflow, cmd.text)]
            except KeyError as exc:
                inv.error(str(exc.args[0]), cmd.name)
                return
        else:
            user = load_user(s, inv.person.user_id or 0)
            mine_ = [ctx.workflow.teams[k] for k in sorted(user.team_keys) if k in ctx.workflow.teams] if user else []
            teams = mine_ or list(ctx.workflow.teams.values())
        keys = [t.key for t in teams]
        rows, total = lookups.team_returns(s, ctx.workflow, keys, now, overdue_only=overdue)
    names = ", ".join(t.name for t in teams)
    title = f"Overdue in {names}" if overdue else f"Open in {names}"
    filters = {"team": keys[0] if len(keys) == 1 else "", "overdue": "1" if overdue else ""}
    empty = "Nothing is overdue. :tada:" if overdue else "The queue is empty."
    inv.reply(
        blocks.list_message(
            title,
            rows,
            total,
            base_url=ctx.base_url,
            now=now,
            more_url=blocks.board_url(ctx.base_url, **filters),
            empty=empty,
        )
    )


# --- changing -------------------------------------------------------------------------------------


def _request_key(payload: dict[str, Any]) -> str:
    # one slash command invocation has one trigger id; a retry of it carries the same one
    return f"command:{payload.get('trigger_id') or payload.get('response_url')}"


def _change(inv: Invocation, change: Change, *, note: str | None = None) -> Outcome:
    cmd = inv.cmd
    outcome = apply(inv.ctx, inv.person, _request_key(inv.payload), cmd.rma, change, note=note)
    if outcome.ok:
        inv.reply(blocks.result_message(outcome.message))
    elif is_not_found(outcome):
        inv.error(f"No return {cmd.rma}.", cmd.name)
    elif isinstance(outcome.error, ValidationFailed) and cmd.name == "move":
        inv.error(outcome.message, "move")
    else:
        inv.reply(blocks.result_message(outcome.message, ok=False))
    return outcome


def move(inv: Invocation) -> None:
    """`/returns move RMA <stage> [resolution | reason [note]]`."""
    cmd = inv.cmd
    note = cmd.text or None
    change = changes.move_change(
        inv.ctx, cmd.stage, resolution=cmd.resolution or None, rejection_reason=cmd.rejection_reason or None, note=note
    )
    _change(inv, change, note=note)


class _Unresolved(Exception):
    """The person `assign` names is not one linked hub user; `message` is the reply saying so."""

    def __init__(self, message: blocks.Message) -> None:
        super().__init__(message[0])
        self.message = message


def _is_slack_user_id(target: str) -> bool:
    return target.startswith(("U", "W")) and target[1:].isalnum() and target.isupper()


def _linked_user_id(inv: Invocation, slack_user_id: str) -> int | None:
    other = who_is(inv.ctx.runtime, inv.client, slack_user_id)
    if not other.is_mapped:
        raise _Unresolved(
            blocks.result_message(f"<@{slack_user_id}> is not linked to a Returns Hub user: {other.problem}", ok=False)
        )
    return other.user_id


def _user_id_by_handle(inv: Invocation, handle: str) -> int:
    with inv.ctx.runtime.read_session_factory() as s:
        found = lookups.users_by_handle(s, handle)
    if len(found) != 1:
        why = "Nobody" if not found else "More than one person"
        raise _Unresolved(_error(inv.ctx, f"{why} in Returns Hub goes by {handle}.", "assign"))
    return found[0].id


def _assignee_id(inv: Invocation) -> int | None:
    """The hub user `assign` names (me, a Slack @mention or a hub @handle); None for nobody."""
    target = inv.cmd.assignee
    if target == "me":
        return inv.person.user_id
    if _is_slack_user_id(target):
        return _linked_user_id(inv, target)
    if target == "nobody":
        return None
    return _user_id_by_handle(inv, target)


def assign(inv: Invocation) -> None:
    """`/returns assign RMA @person|me|nobody`."""
    me = inv.person.user_id
    try:
        assignee_id = _assignee_id(inv)
    except _Unresolved as exc:
        inv.reply(exc.message)
        return
    outcome = _change(inv, changes.assign_change(inv.ctx, assignee_id, me=me))
    if outcome.ok and assignee_id and assignee_id != me and not outcome.duplicate:
        slack_id_of(inv.ctx.runtime, inv.client, assignee_id)  # link them now, so their @mentions reach them in Slack


def _hub_handles(inv: Invocation, text: str) -> dict[str, str]:
    """The hub @handle of each linked Slack user @mentioned in `text`, by Slack user id."""
    handles: dict[str, str] = {}
    for slack_id in slack_user_ids(text):
        other = who_is(inv.ctx.runtime, inv.client, slack_id)
        if not other.is_mapped:
            continue
        with inv.ctx.runtime.read_session_factory() as s:
            user = s.get(User, other.user_id)
            if user is not None:
                handles[slack_id] = mention_handle(user)
    return handles


def note(inv: Invocation) -> None:
    """`/returns note RMA <text>`: a comment; Slack @mentions become the hub's @handles."""
    body = plain_text(inv.cmd.text, _hub_handles(inv, inv.cmd.text))
    _change(inv, changes.comment_change(inv.ctx, body), note=body)


def flag(inv: Invocation) -> None:
    """`/returns flag RMA <reason>`."""
    reason = plain_text(inv.cmd.text)
    _change(inv, changes.flag_change(inv.ctx, reason), note=reason)


def unflag(inv: Invocation) -> None:
    """`/returns unflag RMA`."""
    _change(inv, changes.unflag_change(inv.ctx))


def new(inv: Invocation) -> None:
    """`/returns new`: the new-return modal, for those who may create returns."""
    wf = inv.ctx.workflow
    with inv.ctx.runtime.read_session_factory() as s:
        acting = _actor(s, inv.person)
        if not may_create(acting, wf):
            inv.reply(blocks.result_message(deny_create(acting, wf).message, ok=False))
            return
    payload = inv.payload
    metadata = json.dumps({"response_url": payload.get("response_url"), "channel_id": payload.get("channel_id")})
    try:
        inv.client.views_open(trigger_id=payload["trigger_id"], view=blocks.new_return_modal(wf, metadata))
    except SLACK_CALL_ERRORS as exc:
        log.warning("views.open for the new-return modal failed: %s", exc)
        inv.reply(
            blocks.result_message(
                "Slack did not open the form (it allows 3 seconds); try again, or use the board.", ok=False
            )
        )


HANDLERS: dict[str, Callable[[Invocation], None]] = {
    "show": show,
    "mine": mine,
    "queue": queue,
    "overdue": queue,
    "move": move,
    "assign": assign,
    "note": note,
    "flag": flag,
    "unflag": unflag,
    "new": new,
}
