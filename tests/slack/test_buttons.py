"""Handoff messages and their buttons: Claim and Move update the same message, through the services, once."""

from __future__ import annotations

import json

import pytest

from hub.accounts.models import User
from hub.core.db import unit_of_work
from hub.notifications.models import NotificationStatus
from hub.returns import queries
from hub.returns.models import Channel
from hub.returns.permissions import Actor
from hub.returns.services import move_return
from integrations.slack.blocks import action_value
from integrations.slack.delivery import ChannelThrottle, SlackDelivery
from jobs.dispatch import dispatch
from tests.factories import SYSTEM
from tests.slack.support import events_of, fetch, message_text, slack_outbox


def deliver(runtime) -> None:
    """One dispatcher run through the Slack adapter (no pause between messages)."""
    adapter = SlackDelivery(runtime.settings, runtime.workflow, throttle=ChannelThrottle(0))
    dispatch(runtime.session_factory, {"slack": adapter}, clock=runtime.now, unavailable={"email": "not here"})


@pytest.fixture
def handoff(slack_runtime, session_factory, workflow, new_return, slack_api, clock):
    """A return handed from logistics to the warehouse, and the handoff message as posted in #returns-warehouse."""
    r = new_return(stage="in_transit")
    with unit_of_work(session_factory) as s:
        move_return(s, workflow, SYSTEM, r.rma, "received", note="box slightly dented", now=clock())
    deliver(slack_runtime)
    posted = slack_api.calls_to("chat.postMessage")[-1]
    [row] = slack_outbox(session_factory, kind="handoff")
    assert row.status is NotificationStatus.SENT
    channel, ts = row.delivery_ref.split(":")
    slack_api.clear()
    return r, {"ts": ts, "channel": channel, "text": posted["text"], "blocks": posted["blocks"]}


def _buttons(blocks) -> list[str]:
    actions = [b for b in blocks if b.get("block_id") == "actions"]
    return [e["action_id"] for e in actions[0]["elements"]] if actions else []


def test_the_handoff_message_has_the_facts_and_claim_move_and_open_buttons(handoff, people):
    r, message = handoff
    assert message["channel"] == "CWH"
    text = message_text(message)
    for fact in (
        r.rma,
        "Warehouse",
        "Received — to inspect",
        "from Logistics",
        "box slightly dented",
        "TSHIRT-BLU-M",
        "<!date^",
    ):
        assert fact in text
    assert _buttons(message["blocks"]) == ["claim", "move:inspected", "open_board"]


def test_claim_updates_the_same_message_and_the_board(slack, people, handoff, session_factory):
    r, message = handoff
    with session_factory() as s:
        cursor = queries.last_event_id(s)

    resp = slack.action("claim", action_value(r.rma, "received"), user="UWH", message=message, channel="CWH")

    assert resp.status_code == 200
    assert fetch(session_factory, r.rma).assignee_id == people.warehouse
    claimed = events_of(session_factory, r.rma)[-1]
    assert (claimed.kind, claimed.channel, claimed.actor_label) == ("claimed", Channel.SLACK, "Wanda Warehouse")
    [update] = slack.api.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == ("CWH", message["ts"])
    text = message_text(update.args)
    assert "Claimed by <@UWH> (Wanda Warehouse)" in text
    assert "box slightly dented" in text  # the rest of the message stays
    assert _buttons(update["blocks"]) == ["move:inspected", "open_board"]
    with session_factory() as s:
        assert queries.changed_since(s, cursor)[1] == [r.id]  # the board's live feed picks it up
    assert slack.api.calls_to("chat.postEphemeral") == []


def test_move_button_moves_and_updates_the_message(slack, people, handoff, session_factory):
    r, message = handoff

    slack.action("move:inspected", action_value(r.rma, "received"), user="UWH", message=message)

    assert fetch(session_factory, r.rma).stage == "inspected"
    assert events_of(session_factory, r.rma)[-1].channel is Channel.SLACK
    [update] = slack.api.calls_to("chat.update")
    assert "Moved to “Inspected — to resolve” by <@UWH>" in message_text(update.args)
    assert _buttons(update["blocks"]) == ["open_board"]
    # customer service gets its own handoff message through the outbox
    assert [n.recipient for n in slack_outbox(session_factory, kind="handoff")][-1] == "#returns-customer-service"


def test_a_click_by_someone_without_permission_is_refused_to_them_only(slack, people, handoff, session_factory):
    r, message = handoff

    slack.action("claim", action_value(r.rma, "received"), user="UCS", message=message)

    assert fetch(session_factory, r.rma).assignee_id is None
    [ephemeral] = slack.api.calls_to("chat.postEphemeral")
    assert (ephemeral["channel"], ephemeral["user"]) == ("CWH", "UCS")
    assert "belongs to Warehouse" in message_text(ephemeral.args)
    assert slack.api.calls_to("chat.update") == []


def test_an_unmapped_clicker_is_told_to_ask_an_admin(slack, people, handoff, session_factory):
    r, message = handoff
    slack.action("claim", action_value(r.rma, "received"), user="USTRANGER", message=message)
    assert "Ask an admin to add you" in message_text(slack.api.calls_to("chat.postEphemeral")[0].args)
    assert fetch(session_factory, r.rma).assignee_id is None


def test_a_click_on_an_out_of_date_message_changes_nothing_and_says_so(
    slack, people, handoff, session_factory, workflow, clock
):
    r, message = handoff
    with unit_of_work(session_factory) as s:
        move_return(s, workflow, Actor.person(s.get(User, people.lead), Channel.WEB), r.rma, "inspected", now=clock())

    slack.action("claim", action_value(r.rma, "received"), user="ULEAD", message=message)

    assert fetch(session_factory, r.rma).assignee_id is None  # a lead could claim it, but not from this message
    assert "has moved on to “Inspected — to resolve”" in message_text(slack.api.calls_to("chat.postEphemeral")[0].args)
    [update] = slack.api.calls_to("chat.update")
    assert "out of date" in message_text(update.args)
    assert _buttons(update["blocks"]) == ["open_board"]


def test_a_retried_click_is_applied_once(slack, people, handoff, session_factory):
    r, message = handoff
    value = action_value(r.rma, "received")

    slack.action("move:inspected", value, user="UWH", message=message, action_ts="1772700123.000100")
    slack.action(
        "move:inspected",
        value,
        user="UWH",
        message=message,
        action_ts="1772700123.000100",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )

    assert [e.kind for e in events_of(session_factory, r.rma)].count("moved") == 2  # the handoff, then one click
    assert len(slack.api.calls_to("chat.update")) == 1
    assert slack.api.calls_to("chat.postEphemeral") == []  # not "already in that stage" either


def test_a_move_that_needs_a_resolution_asks_for_it_in_a_modal(slack, people, new_return, session_factory):
    r = new_return(stage="inspected")
    message = {
        "ts": "1772700000.000009",
        "text": "x",
        "blocks": [
            {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": f"{r.rma} is yours"}},
            {
                "type": "actions",
                "block_id": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "move:resolved",
                        "value": action_value(r.rma, "inspected"),
                        "text": {"type": "plain_text", "text": "Move to Resolved"},
                    }
                ],
            },
        ],
    }

    slack.action("move:resolved", action_value(r.rma, "inspected"), user="UCS", message=message, channel="CCS")

    [opened] = slack.api.calls_to("views.open")
    view = opened["view"]
    assert view["callback_id"] == "move_return"
    assert {b.get("block_id") for b in view["blocks"]} >= {"resolution", "note"}
    assert fetch(session_factory, r.rma).stage == "inspected"

    # submitted without a resolution: the error shows next to the field, the modal stays open
    resp = slack.submit(
        "move_return",
        {"resolution": "", "note": ""},
        user="UCS",
        view_id="VMOVE",
        private_metadata=view["private_metadata"],
    )
    body = resp.get_json()
    assert body["response_action"] == "errors"
    assert "Choose how it was resolved" in body["errors"]["resolution"]
    assert fetch(session_factory, r.rma).stage == "inspected"

    resp = slack.submit(
        "move_return",
        {"resolution": "exchange", "note": "size M instead"},
        user="UCS",
        view_id="VMOVE",
        private_metadata=view["private_metadata"],
    )
    assert resp.status_code == 200
    assert not resp.get_data()
    stored = fetch(session_factory, r.rma)
    assert (stored.stage, stored.resolution.value) == ("resolved", "exchange")
    [update] = slack.api.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == ("CCS", message["ts"])
    assert "Moved to “Resolved” by <@UCS>" in message_text(update.args)
    assert f"{r.rma} is yours" in message_text(update.args)


def test_buttons_on_an_ephemeral_reply_update_it_through_the_response_url(slack, people, new_return, session_factory):
    r = new_return(stage="received")
    slack.command(r.rma, user="UWH")
    slack.api.clear()

    slack.action("claim", action_value(r.rma, "received"), user="UWH", ephemeral=True)

    assert fetch(session_factory, r.rma).assignee_id == people.warehouse
    [replaced] = slack.replies()
    assert replaced["replace_original"] is True
    text = message_text(replaced.args)
    assert "Claimed by <@UWH>" in text
    assert "Wanda Warehouse" in text
    assert slack.api.calls_to("chat.update") == []


def test_open_in_board_is_acknowledged_and_nothing_else(slack, people):
    resp = slack.action("open_board", "RMA-1", user="UWH")
    assert resp.status_code == 200
    assert slack.api.calls == []


def test_a_button_from_an_older_message_with_a_bare_rma_still_works(slack, people, new_return, session_factory):
    r = new_return(stage="received")
    slack.action("claim", r.rma, user="UWH", message={"ts": "1.2", "blocks": []})
    assert fetch(session_factory, r.rma).assignee_id == people.warehouse


def test_the_move_modal_keeps_within_slacks_metadata_limit(slack, people, new_return):
    r = new_return(stage="inspected")
    huge = {
        "ts": "1.3",
        "text": "x",
        "blocks": [
            {"type": "section", "block_id": f"b{i}", "text": {"type": "mrkdwn", "text": f"{i} " + "é" * 2900}}
            for i in range(40)
        ],
    }
    slack.action("move:rejected", action_value(r.rma, "inspected"), user="UCS", message=huge, channel="CCS")
    [opened] = slack.api.calls_to("views.open")
    assert len(opened["view"]["private_metadata"]) <= 3000
    assert json.loads(opened["view"]["private_metadata"])["to"] == "rejected"


def test_the_reject_button_asks_for_a_reason_the_customer_reads(slack, people, new_return, session_factory):
    r = new_return(stage="inspected")
    slack.action("move:rejected", action_value(r.rma, "inspected"), user="UCS", channel="CCS")
    [opened] = slack.api.calls_to("views.open")
    view = opened["view"]
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    reasons = blocks["rejection_reason"]["element"]["options"]
    assert [o["value"] for o in reasons][:2] == ["outside_window", "used_or_damaged"]
    assert reasons[0]["text"]["text"] == "Outside the return window"
    assert blocks["note"]["label"]["text"] == "Extra note for the customer"
    assert blocks["note"].get("optional") is True
    assert "your note word for word" in json.dumps(view)

    resp = slack.submit(
        "move_return",
        {"rejection_reason": "", "note": "Worn"},
        user="UCS",
        view_id="VREJ",
        private_metadata=view["private_metadata"],
    )
    body = resp.get_json()
    assert body["response_action"] == "errors"
    assert body["errors"] == {
        "rejection_reason": "Choose the reason the customer reads: moving to “Rejected” needs one."
    }
    assert fetch(session_factory, r.rma).stage == "inspected"

    resp = slack.submit(
        "move_return",
        {"rejection_reason": "used_or_damaged", "note": ""},
        user="UCS",
        view_id="VREJ",
        private_metadata=view["private_metadata"],
    )
    assert resp.status_code == 200
    stored = fetch(session_factory, r.rma)
    assert stored.stage == "rejected"


def test_an_alert_offers_snooze_and_the_button_snoozes_once_and_updates_the_message(
    slack, people, handoff, session_factory, workflow
):
    from hub.returns.models import Return
    from hub.returns.notices import return_facts
    from integrations.slack.blocks import alert_message

    r, _ = handoff
    with session_factory() as s:
        facts = return_facts(s.get(Return, r.id), workflow)
    payload = {
        **facts,
        "level": "overdue",
        "late_by": "2h overdue",
        "next_stages": [{"key": "inspected", "name": "Inspected — to resolve"}],
    }
    text, blocks = alert_message(payload, "https://hub.example")
    assert "snooze" in _buttons(blocks)
    message = {"ts": "1700000000.000100", "channel": "CWH", "text": text, "blocks": blocks}

    for _ in range(2):  # Slack sends the same click again: applied once
        slack.action(
            "snooze",
            action_value(r.rma, "received"),
            user="UWH",
            message=message,
            channel="CWH",
            action_ts="1700000001.000200",
        )

    after = fetch(session_factory, r.rma)
    assert after.snoozed_until is not None
    assert [e.kind for e in events_of(session_factory, r.rma)].count("snoozed") == 1
    [update] = slack.api.calls_to("chat.update")
    assert "Alerts snoozed for 4 hours by <@UWH>" in message_text(update.args)
    assert "snooze" not in _buttons(update["blocks"])
