"""Modal submissions: a new return, and a move that needs a resolution or a reason.

Slack waits (3 s at most) for the answer to a submission: the change is made before the acknowledgement, so
field errors go back into the modal (response_action "errors"); replies to the channel come after it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from hub.returns.drafts import ItemDraft, ReturnDraft
from integrations.slack import blocks
from integrations.slack.blocks import MOVE_FIELDS, NEW_RETURN_FIELDS, modal_errors, view_values
from integrations.slack.changes import after_change, move_change
from integrations.slack.context import SLACK_CALL_ERRORS, SlackContext
from integrations.slack.operations import apply as apply_change
from integrations.slack.operations import create
from integrations.slack.people import Person, known_person
from integrations.slack.replies import Where

log = logging.getLogger(__name__)


def register(app: App, ctx: SlackContext) -> None:
    """The modals' submission listeners."""

    @app.view("new_return")
    def new_return(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        submit_new_return(ctx, ack, body, view)

    @app.view("move_return")
    def move_return(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        submit_move(ctx, ack, body, view, client)


def _person(ctx: SlackContext, body: dict[str, Any]) -> Person:
    slack_user_id = body["user"]["id"]
    # whoever opened the modal was linked then: the database answers, with no Slack call before the ack
    return known_person(ctx.runtime, slack_user_id) or Person(
        slack_user_id, problem="You are not linked to a Returns Hub user."
    )


def draft_from(values: dict[str, str]) -> ReturnDraft:
    """The modal's fields as the board's form would send them."""
    item = ItemDraft(
        sku=values.get("item_sku", ""),
        product_name=values.get("item_product_name", ""),
        quantity=values.get("item_quantity", "") or "1",
        unit_price=values.get("item_unit_price", ""),
        reason_code=values.get("item_reason_code", ""),
        reason_note=values.get("item_reason_note", ""),
        category=values.get("item_category", ""),
    )
    return ReturnDraft(
        order_number=values.get("order_number", ""),
        customer_name=values.get("customer_name", ""),
        customer_email=values.get("customer_email", ""),
        customer_locale=values.get("customer_locale", "") or "en",
        delivered_on=values.get("delivered_on") or None,
        items=[item],
        priority=values.get("priority") or "normal",
        carrier=values.get("carrier", ""),
        tracking_number=values.get("tracking_number", ""),
    )


def submit_new_return(ctx: SlackContext, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """Create the return, or put each error next to its field."""
    person = _person(ctx, body)
    if not person.is_mapped:
        ack(response_action="errors", errors={"order_number": blocks.cut(person.refusal, 2000)})
        return
    outcome = create(ctx, person, f"view:{view['id']}", draft_from(view_values(view)))
    if not outcome.ok:
        errors = outcome.field_errors or {"order_number": outcome.message}
        ack(response_action="errors", errors=modal_errors(errors, NEW_RETURN_FIELDS, "order_number"))
        return
    ack()
    if outcome.duplicate or not outcome.facts:
        return
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    if isinstance(meta, dict) and meta.get("response_url"):
        text, done = blocks.result_message(outcome.message)
        done.append(blocks.return_actions(outcome.facts, ctx.base_url))
        try:
            WebhookClient(meta["response_url"], timeout=10).send(text=text, blocks=done, response_type="ephemeral")
        except SLACK_CALL_ERRORS as exc:
            log.warning("could not confirm the new return %s in Slack: %s", outcome.rma, exc)


def submit_move(ctx: SlackContext, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
    """Move with the resolution or reason asked for; errors go next to the fields."""
    person = _person(ctx, body)
    if not person.is_mapped:
        ack(response_action="errors", errors={"note": blocks.cut(person.refusal, 2000)})
        return
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        rma, to_stage = str(meta["rma"]), str(meta["to"])
    except (ValueError, KeyError, TypeError):  # TypeError: metadata that is no JSON object
        ack(response_action="errors", errors={"note": "This form is out of date; close it and click again."})
        return
    if to_stage not in ctx.workflow.stages:
        ack(response_action="errors", errors={"note": f"The stage {to_stage!r} no longer exists."})
        return
    values = view_values(view)
    change = move_change(
        ctx,
        to_stage,
        resolution=values.get("resolution") or None,
        rejection_reason=values.get("rejection_reason") or None,
        note=values.get("note") or None,
    )
    outcome = apply_change(
        ctx, person, f"view:{view['id']}", rma, change, expect_stage=meta.get("stage"), announce=False
    )
    if not outcome.ok and not outcome.duplicate:
        errors = outcome.field_errors or {"note": outcome.message}
        ack(response_action="errors", errors=modal_errors(errors, MOVE_FIELDS, "note"))
        return
    ack()
    after_change(
        ctx, client, Where.from_metadata(meta.get("where") or {"user": person.slack_user_id}), person, outcome, to_stage
    )
