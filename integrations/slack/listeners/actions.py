"""Buttons: Claim, Move to <stage> and Open in board, on handoff and alert messages and on /returns replies."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from integrations.slack import blocks
from integrations.slack.blocks import read_action_value, when
from integrations.slack.changes import after_change, claim_change, move_change, snooze_change
from integrations.slack.context import SLACK_CALL_ERRORS, SlackContext
from integrations.slack.operations import apply
from integrations.slack.people import who_is
from integrations.slack.replies import Where, tell, update_message

log = logging.getLogger(__name__)
MOVE_ACTION = re.compile(r"^move:(?P<stage>[a-z][a-z0-9_]*)$")


def register(app: App, ctx: SlackContext) -> None:
    """The buttons' listeners."""

    @app.action("claim")
    def claim(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        on_button(ctx, body, action, client, to_stage=None)

    @app.action(MOVE_ACTION)
    def move(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        match = MOVE_ACTION.match(action.get("action_id", ""))
        on_button(ctx, body, action, client, to_stage=match.group("stage") if match else "")

    @app.action("snooze")
    def snooze(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        on_button(ctx, body, action, client, to_stage=None, snooze_hours=blocks.SNOOZE_HOURS)

    @app.action("open_board")
    def open_board(ack: Ack) -> None:
        ack()  # a link button: the browser opens the board; Slack still tells us about the click


def on_button(
    ctx: SlackContext,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    *,
    to_stage: str | None,
    snooze_hours: float | None = None,
) -> None:
    """Apply a Claim, Move or Snooze click as the clicker, then update the message it sits on (after the ack)."""
    where = Where.of(body)
    try:
        _on_button(ctx, body, action, client, where, to_stage, snooze_hours)
    except Exception:  # after the ack, an unexpected error still gets a word to the clicker
        log.exception("the %s button failed", action.get("action_id"))
        tell(client, where, "Something went wrong on the hub's side; nothing was changed. Try again, or use the board.")


def _on_button(
    ctx: SlackContext,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    where: Where,
    to_stage: str | None,
    snooze_hours: float | None = None,
) -> None:
    wf = ctx.workflow
    rma, stage = read_action_value(action.get("value", ""))
    person = who_is(ctx.runtime, client, where.user)
    if not person.is_mapped:
        tell(client, where, person.refusal)
        return
    if to_stage is not None and to_stage not in wf.stages:
        tell(client, where, f"The stage {to_stage!r} no longer exists; nothing was changed.")
        return
    target = wf.stages[to_stage] if to_stage is not None else None
    if target is not None and (target.requires_resolution or target.requires_note or target.requires_rejection_reason):
        open_move_modal(ctx, client, body, where, rma, stage, target.key)
        return
    key = f"action:{where.user}:{action.get('action_ts') or body.get('trigger_id')}"
    if snooze_hours is not None:
        outcome = apply(ctx, person, key, rma, snooze_change(ctx, snooze_hours), expect_stage=stage, announce=False)
        if outcome.ok and not outcome.duplicate:
            who = f"<@{person.slack_user_id}> ({blocks.esc(person.name)})"
            update_message(
                client,
                where,
                f":zzz: Alerts snoozed for {snooze_hours:g} hours by {who} {when(ctx.runtime.now())}",
                drop=lambda a: a == "snooze",
            )
        elif not outcome.ok:
            tell(client, where, outcome.message)
        return
    if to_stage is None:
        outcome = apply(ctx, person, key, rma, claim_change(ctx), expect_stage=stage, announce=False)
    else:
        outcome = apply(ctx, person, key, rma, move_change(ctx, to_stage), expect_stage=stage, announce=False)
    after_change(ctx, client, where, person, outcome, to_stage)


def open_move_modal(
    ctx: SlackContext, client: WebClient, body: dict[str, Any], where: Where, rma: str, stage: str | None, to_stage: str
) -> None:
    """A move that needs a resolution or a reason asks for it in a modal first."""
    wf = ctx.workflow
    target = wf.stages[to_stage]
    meta: dict[str, Any] = {"rma": rma, "stage": stage, "to": to_stage, "where": where.metadata()}
    if len(json.dumps(meta, separators=(",", ":"))) > 3000:  # Slack's limit for private_metadata
        meta["where"]["blocks"] = ""
    view = blocks.move_modal(
        rma,
        target.name,
        resolutions=wf.policy.allowed_resolutions,
        needs_resolution=target.requires_resolution,
        needs_note=target.requires_note,
        private_metadata=json.dumps(meta, separators=(",", ":")),
        rejection_reasons=[(k, why.label) for k, why in wf.rejection_reasons.items()]
        if target.requires_rejection_reason
        else (),
    )
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except SLACK_CALL_ERRORS as exc:
        log.warning("views.open for a move modal failed: %s", exc)
        tell(client, where, "Slack did not open the form; try again, or use the board.")
