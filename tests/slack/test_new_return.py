"""`/returns new`: the modal is checked like the board's form; errors go next to the modal's fields."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from hub.returns.models import Channel, Return
from tests.slack.support import events_of, message_text, slack_outbox

VALID = {
    "order_number": "ORD-90001",
    "customer_name": "Sanne de Vries",
    "customer_email": "sanne@example.nl",
    "customer_locale": "nl",
    "delivered_on": "2026-03-01",
    "priority": "high",
    "item_sku": "TSHIRT-BLU-M",
    "item_product_name": "T-shirt blue M",
    "item_quantity": "2",
    "item_unit_price": "19,95",
    "item_reason_code": "too_small",
    "item_category": "",
    "item_reason_note": "",
    "carrier": "",
    "tracking_number": "",
}


def _count(session_factory) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(Return))


def _open_modal(slack) -> dict:
    slack.command("new", user="UCS")
    return slack.api.calls_to("views.open")[-1]["view"]


def test_the_modal_asks_for_what_the_boards_form_asks(slack, people, workflow):
    view = _open_modal(slack)
    ids = [b.get("block_id") for b in view["blocks"] if b["type"] == "input"]
    assert ids == [
        "order_number",
        "customer_name",
        "customer_email",
        "customer_locale",
        "delivered_on",
        "priority",
        "item_sku",
        "item_product_name",
        "item_quantity",
        "item_unit_price",
        "item_reason_code",
        "item_category",
        "item_reason_note",
        "carrier",
        "tracking_number",
    ]
    reasons = next(b for b in view["blocks"] if b.get("block_id") == "item_reason_code")["element"]["options"]
    assert [o["value"] for o in reasons] == list(workflow.reasons)
    assert len(view["title"]["text"]) <= 24


def test_field_errors_are_shown_in_the_modals_fields_and_nothing_is_created(slack, people, session_factory):
    view = _open_modal(slack)
    bad = {
        **VALID,
        "customer_email": "not-an-address",
        "delivered_on": "2025-12-01",
        "item_unit_price": "cheap",
        "item_sku": "GIFTCARD",
        "customer_name": "",
    }

    resp = slack.submit("new_return", bad, user="UCS", private_metadata=view["private_metadata"])

    body = resp.get_json()
    assert body["response_action"] == "errors"
    errors = body["errors"]
    assert errors["customer_email"] == "“not-an-address” is not an e-mail address."
    assert "outside the 30-day return window" in errors["delivered_on"]
    assert "is not an amount like 19.95" in errors["item_unit_price"]
    assert "GIFTCARD cannot be returned" in errors["item_sku"]
    assert errors["customer_name"] == "The customer's name is required."
    assert _count(session_factory) == 0
    assert slack.replies() == []


def test_a_valid_form_creates_the_return_once_and_confirms_it(slack, people, session_factory):
    view = _open_modal(slack)

    resp = slack.submit("new_return", VALID, user="UCS", view_id="VNEW1", private_metadata=view["private_metadata"])
    slack.submit(
        "new_return",
        VALID,
        user="UCS",
        view_id="VNEW1",
        private_metadata=view["private_metadata"],
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )

    assert resp.status_code == 200
    assert not resp.get_data()
    assert _count(session_factory) == 1
    with session_factory() as s:
        r = s.scalar(select(Return))
        assert (r.order_number, r.customer_locale, r.priority, r.stage) == ("ORD-90001", "nl", 2, "new")
        assert [(i.sku, i.quantity, str(i.unit_price)) for i in r.items] == [("TSHIRT-BLU-M", 2, "19.95")]
    created = events_of(session_factory, r.rma)[0]
    assert (created.kind, created.channel, created.actor_label) == ("created", Channel.SLACK, "Cora Service")
    # the confirmation goes to where /returns new was typed
    confirmation = slack.replies()[-1]
    assert confirmation.path.startswith("/respond/trigger-")
    assert f"You created {r.rma} for Sanne de Vries" in message_text(confirmation.args)
    assert [n.recipient for n in slack_outbox(session_factory, kind="activity")] == ["#returns-customer-service"]


def test_an_unlinked_submitter_gets_the_reason_in_the_modal(slack, people, session_factory):
    resp = slack.submit("new_return", VALID, user="USTRANGER", private_metadata=json.dumps({"response_url": None}))
    body = resp.get_json()
    assert body["response_action"] == "errors"
    assert "not linked to a Returns Hub user" in body["errors"]["order_number"]
    assert _count(session_factory) == 0


def test_someone_who_may_not_create_returns_gets_the_reason_in_the_modal(slack, people, session_factory):
    resp = slack.submit("new_return", VALID, user="UWH", private_metadata="{}")
    body = resp.get_json()
    assert "You can't create returns because" in body["errors"]["order_number"]
    assert _count(session_factory) == 0


def test_a_comma_in_the_customer_email_is_refused_in_the_modal(slack, people, session_factory):
    view = _open_modal(slack)
    typed = {**VALID, "customer_email": "x,victim@evil.example"}

    resp = slack.submit("new_return", typed, user="UCS", private_metadata=view["private_metadata"])

    body = resp.get_json()
    assert body["response_action"] == "errors"
    assert body["errors"] == {"customer_email": "“x,victim@evil.example” is more than one address; give exactly one."}
    assert _count(session_factory) == 0
