"""The /returns command line, and Slack's escaped text read as typed (pure functions)."""

from __future__ import annotations

import pytest

from integrations.slack.parsing import Command, UsageError, parse, plain_text, slack_user_ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Command("help")),
        ("RMA-1042", Command("show", rma="RMA-1042")),
        ("ord-50012", Command("show", rma="ord-50012")),
        ("mine", Command("mine")),
        ("queue", Command("queue")),
        ("Queue customer service", Command("queue", text="customer service")),
        ("overdue warehouse", Command("overdue", text="warehouse")),
        ("move RMA-1 approved", Command("move", rma="RMA-1", stage="approved")),
        ("move RMA-1 in transit", Command("move", rma="RMA-1", stage="in_transit")),
        ("move RMA-1 received damaged box", Command("move", rma="RMA-1", stage="received", text="damaged box")),
        (
            "move RMA-1 resolved store credit fine",
            Command("move", rma="RMA-1", stage="resolved", text="fine", resolution="store_credit"),
        ),
        ("move RMA-1 resolved refund", Command("move", rma="RMA-1", stage="resolved", resolution="refund")),
        (
            "move RMA-1 rejected outside_window 45 days",
            Command("move", rma="RMA-1", stage="rejected", text="45 days", rejection_reason="outside_window"),
        ),
        (
            "move RMA-1 rejected Final_Sale",
            Command("move", rma="RMA-1", stage="rejected", rejection_reason="final_sale"),
        ),
        ("assign RMA-1 me", Command("assign", rma="RMA-1", assignee="me")),
        ("assign RMA-1 none", Command("assign", rma="RMA-1", assignee="nobody")),
        ("assign RMA-1 <@U024BE7LH|bob>", Command("assign", rma="RMA-1", assignee="U024BE7LH")),
        ("assign RMA-1 @Walt", Command("assign", rma="RMA-1", assignee="@walt")),
        (
            "assign RMA-1 <mailto:walt@shop.example|walt@shop.example>",
            Command("assign", rma="RMA-1", assignee="walt@shop.example"),
        ),
        ("note RMA-1 two  spaces\nand a line", Command("note", rma="RMA-1", text="two  spaces\nand a line")),
        ("flag RMA-1 waiting for photos", Command("flag", rma="RMA-1", text="waiting for photos")),
        ("unflag RMA-1", Command("unflag", rma="RMA-1")),
        ("new", Command("new")),
    ],
)
def test_the_command_line(workflow, text, expected):
    assert parse(text, workflow) == expected


@pytest.mark.parametrize("text", ["what is this", "move RMA-1 in", "move <b>oops</b> approved", "assign RMA-1 a b"])
def test_what_cannot_be_understood_raises_with_the_usage(workflow, text):
    with pytest.raises(UsageError, match="Usage:"):
        parse(text, workflow)


def test_the_usage_names_the_configured_command(workflow):
    with pytest.raises(UsageError, match="`/rma move"):
        parse("move", workflow, "/rma")


def test_slacks_escaped_text_reads_as_typed():
    raw = (
        "ask <@U1|walt> and <@U2> about <https://x.example/a?b=1|the photo> &amp; "
        "<mailto:a@b.example|a@b.example> <!here>"
    )
    assert slack_user_ids(raw) == ["U1", "U2"]
    assert plain_text(raw, {"U2": "nina"}) == "ask @walt and @nina about https://x.example/a?b=1 & a@b.example here"
