"""Modals: a new return, and a move that needs a resolution or a reason; reading what was submitted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hub.returns.drafts import MAX_ITEM_LENGTH, MAX_LENGTH
from hub.workflow import Workflow
from integrations.slack.blocks.kit import Block, context, cut, esc, section


def _input(
    block_id: str,
    label: str,
    *,
    optional: bool = False,
    initial: str | None = None,
    multiline: bool = False,
    hint: str | None = None,
    max_length: int | None = None,
) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "element": element,
        "label": {"type": "plain_text", "text": label},
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _option(value: str, label: str) -> Block:
    return {"text": {"type": "plain_text", "text": cut(label, 75)}, "value": value}


def _select(
    block_id: str, label: str, options: Iterable[tuple[str, str]], *, initial: str | None = None, optional: bool = False
) -> Block:
    opts = [_option(v, label_) for v, label_ in options]
    element: Block = {
        "type": "static_select",
        "action_id": "value",
        "options": opts[:100],
        "placeholder": {"type": "plain_text", "text": "Choose…"},
    }
    chosen = next((o for o in opts if o["value"] == initial), None)
    if chosen:
        element["initial_option"] = chosen
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "element": element,
        "label": {"type": "plain_text", "text": label},
    }


NEW_RETURN_FIELDS = {  # modal block id -> the draft's field (items[0].* for the one product line)
    "order_number": "order_number",
    "customer_name": "customer_name",
    "customer_email": "customer_email",
    "customer_locale": "customer_locale",
    "delivered_on": "delivered_on",
    "priority": "priority",
    "item_sku": "items[0].sku",
    "item_product_name": "items[0].product_name",
    "item_quantity": "items[0].quantity",
    "item_unit_price": "items[0].unit_price",
    "item_reason_code": "items[0].reason_code",
    "item_category": "items[0].category",
    "item_reason_note": "items[0].reason_note",
    "carrier": "carrier",
    "tracking_number": "tracking_number",
}


def new_return_modal(workflow: Workflow, private_metadata: str) -> Block:
    """The `new` modal: the board's new-return form with one product line."""
    policy = workflow.policy
    blocks: list[Block] = [
        context(
            f"It starts in “{esc(workflow.initial_stage.name)}”. Checked against the return policy as you "
            f"create it: a {policy.return_window_days}-day window from delivery. One product line here; "
            "add more on the board."
        ),
        _input("order_number", "Order number", max_length=MAX_LENGTH["order_number"]),
        _input("customer_name", "Customer name", max_length=MAX_LENGTH["customer_name"]),
        _input("customer_email", "Customer e-mail", max_length=MAX_LENGTH["customer_email"]),
        _input(
            "customer_locale", "Customer's language", initial="en", hint="A language code: en, nl, …", max_length=10
        ),
        {
            "type": "input",
            "block_id": "delivered_on",
            "optional": True,
            "label": {"type": "plain_text", "text": "Delivered on"},
            "element": {"type": "datepicker", "action_id": "value"},
        },
        _select(
            "priority", "Priority", [(p, p.capitalize()) for p in ("low", "normal", "high", "urgent")], initial="normal"
        ),
        {"type": "divider"},
        _input("item_sku", "SKU", max_length=MAX_ITEM_LENGTH["sku"]),
        _input("item_product_name", "Product", max_length=MAX_ITEM_LENGTH["product_name"]),
        _input("item_quantity", "Quantity", initial="1", max_length=6),
        _input("item_unit_price", "Unit price", hint="An amount like 19.95", max_length=12),
        _select("item_reason_code", "Reason", list(workflow.reasons.items())),
        _input("item_category", "Category", optional=True, max_length=MAX_ITEM_LENGTH["category"]),
        _input(
            "item_reason_note",
            "What the customer says",
            optional=True,
            multiline=True,
            max_length=MAX_ITEM_LENGTH["reason_note"],
        ),
        {"type": "divider"},
        _input("carrier", "Carrier", optional=True, max_length=MAX_LENGTH["carrier"]),
        _input("tracking_number", "Tracking number", optional=True, max_length=MAX_LENGTH["tracking_number"]),
    ]
    return {
        "type": "modal",
        "callback_id": "new_return",
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "New return"},
        "submit": {"type": "plain_text", "text": "Create"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def modal_errors(field_errors: Mapping[str, str], fields: Mapping[str, str], fallback: str) -> dict[str, str]:
    """A service's field errors keyed by the modal's block ids (others go to `fallback`), for response_action."""
    by_field = {field: block for block, field in fields.items()}
    errors: dict[str, str] = {}
    for field, message in field_errors.items():
        block = by_field.get(field)
        if block is None:
            block, message = fallback, f"{field}: {message}"
        errors[block] = cut(f"{errors[block]}; {message}" if block in errors else message, 2000)
    return errors


MOVE_FIELDS = {"resolution": "resolution", "rejection_reason": "rejection_reason", "note": "note"}


def move_modal(
    rma: str,
    stage_name: str,
    *,
    resolutions: Sequence[str],
    needs_resolution: bool,
    needs_note: bool,
    private_metadata: str,
    rejection_reasons: Sequence[tuple[str, str]] = (),
) -> Block:
    """The modal a Move button opens when the stage needs a resolution or a reason.

    `rejection_reasons` (key, label): the stage tells the customer why; the customer reads the chosen reason in
    their language, and the note as typed."""
    blocks: list[Block] = [section(f"Move *{esc(rma)}* to “{esc(stage_name)}”.")]
    if needs_resolution:
        blocks.append(
            _select("resolution", "How was it resolved?", [(r, r.replace("_", " ").capitalize()) for r in resolutions])
        )
    if rejection_reasons:
        blocks.append(_select("rejection_reason", "Reason the customer reads", list(rejection_reasons)))
    label = "Reason for the customer" if needs_note else "Extra note for the customer" if rejection_reasons else "Note"
    blocks.append(_input("note", label, optional=not needs_note, multiline=True, max_length=5000))
    if rejection_reasons:
        blocks.append(
            context(
                "The customer gets an e-mail in their own language with the reason's text, "
                "and your note word for word (it is not translated)."
            )
        )
    return {
        "type": "modal",
        "callback_id": "move_return",
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": cut(f"Move {rma}", 24)},
        "submit": {"type": "plain_text", "text": "Move"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def view_values(view: Mapping[str, Any]) -> dict[str, str]:
    """What a submitted modal holds, by block id (text, the chosen option's value, or the date)."""
    out: dict[str, str] = {}
    for block_id, actions in (view.get("state", {}).get("values") or {}).items():
        for element in actions.values():
            kind = element.get("type")
            if kind == "static_select":
                option = element.get("selected_option") or {}
                out[block_id] = str(option.get("value") or "")
            elif kind == "datepicker":
                out[block_id] = str(element.get("selected_date") or "")
            else:
                out[block_id] = str(element.get("value") or "")
    return out
