"""The Block Kit builders: their shape, Slack's limits, escaping, dates and packing (pure functions)."""

from __future__ import annotations

import json

from integrations.slack import blocks
from tests.factories import NOW


def _facts(**overrides):
    facts = {
        "rma": "RMA-1",
        "order_number": "ORD-1",
        "customer_name": "A <b> & Co",
        "customer_email": "a@x.example",
        "stage": "received",
        "stage_name": "Received — to inspect",
        "team": "warehouse",
        "team_name": "Warehouse",
        "due_at": "2026-03-06T09:00:00+00:00",
        "promised_by": "2026-03-19T09:00:00+00:00",
        "assignee": None,
        "at": "2026-03-05T09:00:00+00:00",
        "items": [{"sku": "S-1", "product_name": "Shirt", "quantity": 1, "reason": "Too small"}],
        "next_stages": [{"key": "inspected", "name": "Inspected — to resolve"}],
    }
    facts.update(overrides)
    return facts


def _all_text(message) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_user_text_is_escaped_so_it_cannot_mention_or_link(workflow):
    text, body = blocks.handoff_message(_facts(note="<!channel> look", actor="<@U1>"), "https://hub.example")
    dumped = _all_text(body)
    assert "A &lt;b&gt; &amp; Co" in dumped
    assert "<!channel>" not in dumped
    assert "&lt;!channel&gt;" in dumped
    assert "&lt;@U1&gt;" in dumped


def test_a_handoff_without_an_assignee_offers_claim_and_with_one_does_not():
    _, body = blocks.handoff_message(_facts(), "https://hub.example")
    assert [e["action_id"] for e in body[-1]["elements"]] == ["claim", "move:inspected", "open_board"]
    _, body = blocks.handoff_message(_facts(assignee="Walt"), "https://hub.example")
    assert [e["action_id"] for e in body[-1]["elements"]] == ["move:inspected", "open_board"]


def test_messages_keep_within_block_kit_limits():
    items = [{"sku": f"S-{i}", "product_name": "P" * 190, "quantity": 1, "reason": "r"} for i in range(40)]
    comment = {"author": "X", "body": "y" * 5000}
    long_names = [{"key": f"s{i}", "name": "N" * 200} for i in range(6)]
    for builder in (blocks.handoff_message, blocks.alert_message):
        _, body = builder(
            _facts(
                items=items,
                last_comment=comment,
                note="n" * 6000,
                next_stages=long_names,
                level="overdue",
                late_by="2d",
            ),
            "https://hub.example",
        )
        assert len(body) <= blocks.MAX_BLOCKS
        for block in body:
            if block["type"] == "section" and "text" in block:
                assert len(block["text"]["text"]) <= 3000
            if block["type"] == "actions":
                assert len(block["elements"]) <= 5
                assert all(len(e["text"]["text"]) <= 75 for e in block["elements"])
    rows = [{"rma": f"RMA-{i}", "customer_name": "C", "stage_name": "S", "due_at": None} for i in range(40)]
    text, body = blocks.digest_message(
        {
            "team": "warehouse",
            "team_name": "Warehouse",
            "date": "2026-03-05",
            "open_count": 40,
            "overdue": rows,
            "overdue_count": 120,
            "due_today": rows,
            "blocked": rows,
            "unassigned": rows,
        },
        "https://hub.example",
    )
    assert len(body) <= blocks.MAX_BLOCKS
    assert "… and 110 more" in _all_text(body)
    assert "120 overdue" in text


def test_a_digest_of_a_quiet_day_says_so():
    _, body = blocks.digest_message(
        {
            "team": "warehouse",
            "team_name": "Warehouse",
            "date": "2026-03-05",
            "open_count": 0,
            "overdue": [],
            "due_today": [],
            "blocked": [],
            "unassigned": [],
        },
        "https://hub.example",
    )
    assert "Nothing overdue" in _all_text(body)
    assert body[0]["text"]["text"] == "Warehouse — 5 Mar 2026"


def test_dates_show_in_the_readers_time_zone_with_a_utc_fallback():
    assert blocks.when("2026-03-06T09:00:00+00:00") == (
        "<!date^1772787600^{date_short_pretty} {time}|Fri 6 Mar 09:00 UTC>"
    )
    assert blocks.when(None) == "—"
    assert blocks.duration("2026-03-03T07:30:00+00:00", NOW) == "2d 1h"  # one duration wording
    assert blocks.duration(NOW, NOW) == "0m"


def test_an_updated_message_keeps_its_content_adds_a_status_and_drops_spent_buttons():
    _, body = blocks.handoff_message(_facts(), "https://hub.example")
    once = blocks.updated_message(body, "Claimed by A", drop=lambda a: a == "claim")
    twice = blocks.updated_message(once, "Moved by B", drop=lambda a: a == "claim" or a.startswith("move:"))
    assert [b.get("block_id") for b in twice if str(b.get("block_id", "")).startswith("status-")] == [
        "status-1",
        "status-2",
    ]
    assert [e["action_id"] for e in twice[-1]["elements"]] == ["open_board"]
    assert twice[0] == body[0]


def test_packed_blocks_round_trip_and_fall_back_to_the_summary():
    _, body = blocks.handoff_message(_facts(), "https://hub.example")
    assert blocks.unpack_blocks(blocks.pack_blocks(body)) == [b for b in body if b.get("block_id") != "actions"]
    assert blocks.unpack_blocks("not base64!") == []
    import os

    noisy = body + [{"type": "section", "text": {"type": "mrkdwn", "text": os.urandom(1500).hex()}}]
    assert [b.get("block_id") for b in blocks.unpack_blocks(blocks.pack_blocks(noisy))] == ["summary"]


def test_modal_errors_land_on_the_modals_blocks():
    errors = blocks.modal_errors(
        {"items[0].sku": "bad", "customer_email": "worse", "rma": "taken"}, blocks.NEW_RETURN_FIELDS, "order_number"
    )
    assert errors == {"item_sku": "bad", "customer_email": "worse", "order_number": "rma: taken"}


def test_a_button_value_carries_the_rma_and_the_stage():
    assert blocks.read_action_value(blocks.action_value("RMA-1", "received")) == ("RMA-1", "received")
    assert blocks.read_action_value("RMA-1") == ("RMA-1", None)
