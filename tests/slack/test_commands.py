"""/returns: every subcommand, its errors (with usage), people, permissions, retries and the board's live feed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.models import User
from hub.core.db import unit_of_work
from hub.returns import queries
from hub.returns.models import Channel, Comment, Return
from hub.returns.permissions import Actor
from hub.returns.services import assign_return
from tests.slack.support import events_of, fetch, message_text, slack_outbox
from tests.web.support import login


def _ack_text(resp) -> str:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_data(as_text=True)


# --- help and usage -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["help", "", "HELP"])
def test_help_lists_every_subcommand_in_the_acknowledgement(slack, people, text):
    body = _ack_text(slack.command(text))
    for words in (
        "/returns RMA-1042 | ORD-50012",
        "/returns mine",
        "/returns queue [team]",
        "/returns overdue [team]",
        "/returns move RMA <stage>",
        "/returns assign RMA @person | me | nobody",
        "/returns note RMA <text>",
        "/returns flag RMA <reason>",
        "/returns unflag RMA",
        "/returns new",
        "/returns help",
    ):
        assert words in body
    assert slack.api.calls == []  # answered in the acknowledgement itself


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frobnicate RMA-1", "Unknown subcommand “frobnicate”"),
        ("move", "`move` needs an RMA"),
        ("move RMA-1", "Which stage should RMA-1 move to?"),
        ("move RMA-1 nowhere", "No stage matches"),
        ("move RMA-1 in", "matches several stages"),
        ("assign RMA-1", "Name one person"),
        ("assign RMA-1 walt", "is not a person"),
        ("note RMA-1", "Say the comment"),
        ("flag RMA-1", "Say why it is blocked"),
        ("unflag RMA-1 now", "takes only the RMA"),
        ("mine please", "takes no arguments"),
    ],
)
def test_a_bad_command_line_gets_a_short_error_with_the_usage(slack, people, text, expected):
    body = _ack_text(slack.command(text))
    assert expected in body
    assert "Usage:" in body
    assert slack.api.calls == []


# --- reading --------------------------------------------------------------------------------------


def test_an_rma_shows_the_return_with_its_facts_last_events_and_buttons(slack, people, new_return, clock):
    r = new_return(stage="received", customer_name="Jan Jansen")
    clock.advance(hours=3)

    assert _ack_text(slack.command(r.rma.lower(), user="UWH")) == ""
    reply = slack.replies()[-1]
    assert reply["response_type"] == "ephemeral"
    text = message_text(reply.args)
    for fact in (
        r.rma,
        "Jan Jansen",
        "Received — to inspect",
        "Warehouse",
        "for 3h",
        "TSHIRT-BLU-M",
        "Too small",
        "Last events",
        "created the return",
        "_unassigned_",
    ):
        assert fact in text
    actions = next(b for b in reply["blocks"] if b.get("block_id") == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["claim", "move:inspected", "open_board"]
    assert actions["elements"][-1]["url"] == f"https://returns.shop.example/returns/{r.rma}"

    # someone of another team sees no buttons they could not use
    slack.command(r.rma, user="UCS")
    actions = next(b for b in slack.replies()[-1]["blocks"] if b.get("block_id") == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["open_board"]


def test_an_order_number_shows_its_returns(slack, people, new_return):
    first = new_return(order_number="ORD-777")
    second = new_return(order_number="ORD-777")
    slack.command("ORD-777")
    text = slack.last_reply()
    assert first.rma in text
    assert second.rma in text
    assert "Returns of order ORD-777" in text


def test_mine_lists_only_my_open_returns(slack, people, new_return, session_factory, workflow, clock):
    mine = new_return(stage="received", customer_name="Mine Customer")
    new_return(stage="received", customer_name="Other Customer")
    with unit_of_work(session_factory) as s:
        wanda = s.get(User, people.warehouse)
        assign_return(s, workflow, Actor.person(wanda, Channel.WEB), mine.rma, wanda, now=clock())

    slack.command("mine", user="UWH")
    text = slack.last_reply()
    assert "Assigned to you* (1)" in text
    assert mine.rma in text
    assert "Mine Customer" in text
    assert "Other Customer" not in text

    slack.command("mine", user="ULOG")
    assert "Nothing is assigned to you" in slack.last_reply()


def test_queue_shows_my_teams_open_returns_or_a_named_teams(slack, people, new_return):
    warehouse = new_return(stage="received")
    logistics = new_return(stage="in_transit")

    slack.command("queue", user="UWH")
    text = slack.last_reply()
    assert "Open in Warehouse* (1)" in text
    assert warehouse.rma in text
    assert logistics.rma not in text

    slack.command("queue logist", user="UWH")
    text = slack.last_reply()
    assert "Open in Logistics* (1)" in text
    assert logistics.rma in text


def test_overdue_lists_the_overdue_returns_of_a_team(slack, people, new_return, clock):
    late = new_return(stage="received")
    clock.advance(days=3)
    fresh = new_return(stage="received")

    slack.command("overdue", user="UWH")
    text = slack.last_reply()
    assert "Overdue in Warehouse* (1)" in text
    assert late.rma in text
    assert fresh.rma not in text

    slack.command("overdue customer service", user="UWH")
    assert "Nothing is overdue" in slack.last_reply()


def test_a_long_list_shows_the_first_ones_and_links_to_the_rest(slack, people, new_return):
    for _ in range(17):
        new_return(stage="received")
    slack.command("queue warehouse", user="UWH")
    text = slack.last_reply()
    assert "(17)" in text
    assert "Showing 15 of 17" in text
    assert "https://returns.shop.example/board?team=warehouse" in text


# --- changing -------------------------------------------------------------------------------------


def test_move_hands_over_through_the_services_and_tells_both_teams(slack, people, new_return, session_factory):
    r = new_return(stage="in_transit")

    slack.command(f"move {r.rma} received", user="ULOG")

    assert "You moved" in slack.last_reply()
    assert "“Received — to inspect” (handed to Warehouse)" in slack.last_reply()
    assert fetch(session_factory, r.rma).stage == "received"
    moved = events_of(session_factory, r.rma)[-1]
    assert (moved.kind, moved.channel, moved.actor_label) == ("moved", Channel.SLACK, "Lou Logistics")
    # the team that had it hears who moved it; the team that gets it gets the handoff message
    by_kind = {(n.kind, n.recipient) for n in slack_outbox(session_factory)}
    assert by_kind == {("activity", "#returns-logistics"), ("handoff", "#returns-warehouse")}
    activity = slack_outbox(session_factory, kind="activity")[0]
    assert activity.payload["actor_slack_id"] == "ULOG"
    assert "moved" in activity.payload["what"]


@pytest.mark.parametrize(
    ("typed", "stage"), [("inspected", "inspected"), ("insp", "inspected"), ("Inspected — to resolve", "inspected")]
)
def test_move_finds_the_stage_by_key_or_unique_start_of_its_name(
    slack, people, new_return, session_factory, typed, stage
):
    r = new_return(stage="received")
    slack.command(f"move {r.rma} {typed}", user="UWH")
    assert fetch(session_factory, r.rma).stage == stage


def test_move_to_resolved_takes_the_resolution_and_a_note(slack, people, new_return, session_factory):
    r = new_return(stage="inspected")
    slack.command(f"move {r.rma} resolved store credit customer prefers credit", user="UCS")
    stored = fetch(session_factory, r.rma)
    assert (stored.stage, stored.resolution.value) == ("resolved", "store_credit")
    assert events_of(session_factory, r.rma)[-1].payload["note"] == "customer prefers credit"


def test_move_without_what_the_stage_needs_says_so(slack, people, new_return, session_factory):
    r = new_return(stage="inspected")
    slack.command(f"move {r.rma} resolved", user="UCS")
    text = slack.last_reply()
    assert "Choose how it was resolved: refund, exchange or store credit." in text
    assert "store_credit" not in text
    assert "Usage:" in text
    assert fetch(session_factory, r.rma).stage == "inspected"


@pytest.mark.parametrize(
    ("typed", "said"),
    [("", "Moving {rma} to “Rejected” needs a reason."), ("too late", "“too” is not a rejection reason.")],
    ids=["missing", "unknown"],
)
def test_rejecting_without_a_known_reason_lists_the_reasons(slack, people, new_return, session_factory, typed, said):
    r = new_return(stage="inspected")
    text = _ack_text(slack.command(f"move {r.rma} rejected {typed}", user="UCS"))
    assert said.format(rma=r.rma) in text
    assert "• `outside_window` — Outside the return window" in text
    assert "• `other` — Other (explain in the note)" in text
    assert f"`/returns move {r.rma} rejected outside_window [note for the customer]`" in text
    assert fetch(session_factory, r.rma).stage == "inspected"
    assert [e.kind for e in events_of(session_factory, r.rma)] == ["created"]


def test_rejecting_takes_a_reason_key_and_a_note_for_the_customer(slack, people, new_return, session_factory):
    r = new_return(stage="inspected")
    slack.command(f"move {r.rma} rejected other The hygiene seal is broken", user="UCS")
    assert "(Other (explain in the note))" in slack.last_reply()
    stored = fetch(session_factory, r.rma)
    assert stored.stage == "rejected"
    payload = events_of(session_factory, r.rma)[-1].payload
    assert (payload["rejection_reason"], payload["note"]) == ("other", "The hygiene seal is broken")
    # "other" says too little alone: the service asks for the note
    r2 = new_return(stage="inspected")
    slack.command(f"move {r2.rma} rejected other", user="UCS")
    assert "Write a note for the customer" in slack.last_reply()
    assert fetch(session_factory, r2.rma).stage == "inspected"


def test_a_move_the_workflow_does_not_allow_is_refused(slack, people, new_return, session_factory):
    r = new_return()
    slack.command(f"move {r.rma} received", user="UCS")
    assert "cannot move from “New request” to “Received — to inspect”" in slack.last_reply()
    assert fetch(session_factory, r.rma).stage == "new"


@pytest.mark.parametrize(
    ("text", "user", "expected"),
    [
        ("RMA-404404", "UCS", ["No return RMA-404404"]),
        ("move RMA-404404 approved", "UCS", ["No return RMA-404404"]),
        ("queue finance", "UWH", ["No team matches “finance”", "`customer_service`, `logistics`, `warehouse`"]),
    ],
    ids=["show-unknown-rma", "move-unknown-rma", "queue-unknown-team"],
)
def test_an_unknown_rma_or_team_gets_a_short_error_with_the_usage(slack, people, text, user, expected):
    slack.command(text, user=user)
    reply = slack.last_reply()
    for words in expected:
        assert words in reply
    assert "Usage:" in reply


def test_permissions_are_the_boards_a_warehouse_member_cannot_move_a_customer_service_return(
    slack, people, new_return, session_factory
):
    r = new_return()  # in "New request", customer service's

    slack.command(f"move {r.rma} approved", user="UWH")

    assert "You can't move" in slack.last_reply()
    assert "belongs to Customer service" in slack.last_reply()
    assert fetch(session_factory, r.rma).stage == "new"
    assert [e.kind for e in events_of(session_factory, r.rma)] == ["created"]
    assert not slack_outbox(session_factory)
    # a lead may: the board's rules, exactly
    slack.command(f"move {r.rma} approved", user="ULEAD")
    assert fetch(session_factory, r.rma).stage == "approved"


def test_assign_me_a_slack_mention_a_handle_and_nobody(slack, people, new_return, session_factory):
    r = new_return(stage="received")

    slack.command(f"assign {r.rma} me", user="UWH")
    assert fetch(session_factory, r.rma).assignee_id == people.warehouse
    assert "You took" in slack.last_reply()

    slack.command(f"assign {r.rma} <@UWH2|walt>", user="UWH")
    assert fetch(session_factory, r.rma).assignee_id == people.warehouse2

    slack.command(f"assign {r.rma} @wanda", user="ULEAD")
    assert fetch(session_factory, r.rma).assignee_id == people.warehouse

    slack.command(f"assign {r.rma} nobody", user="UWH")
    assert fetch(session_factory, r.rma).assignee_id is None
    kinds = [(e.kind, e.channel) for e in events_of(session_factory, r.rma)][1:]
    assert kinds == [
        ("claimed", Channel.SLACK),
        ("assigned", Channel.SLACK),
        ("assigned", Channel.SLACK),
        ("unassigned", Channel.SLACK),
    ]
    assert len(slack_outbox(session_factory, kind="activity", recipient="#returns-warehouse")) == 4


def test_assign_to_someone_off_the_team_or_unknown_is_refused(slack, people, new_return, session_factory):
    r = new_return(stage="received")
    slack.command(f"assign {r.rma} <@UCS>", user="UWH")
    assert "Cora Service is not on Warehouse" in slack.last_reply()
    slack.command(f"assign {r.rma} <@USTRANGER|stranger>", user="UWH")
    # shown as the text it is (the reply escapes what it says, fallback and blocks alike)
    assert "&lt;@USTRANGER&gt; is not linked to a Returns Hub user" in slack.last_reply()
    slack.command(f"assign {r.rma} @nobody-here", user="UWH")
    assert "Nobody in Returns Hub goes by @nobody-here" in slack.last_reply()
    assert fetch(session_factory, r.rma).assignee_id is None


def test_assigning_someone_links_their_slack_account_by_email(slack, people, new_return, session_factory):
    r = new_return(stage="received")

    slack.command(f"assign {r.rma} @nina", user="UWH")

    assert fetch(session_factory, r.rma).assignee_id == people.unlinked
    assert [c["email"] for c in slack.api.calls_to("users.lookupByEmail")] == ["nina@shop.example"]
    with session_factory() as s:
        assert s.get(User, people.unlinked).slack_user_id == "UNEW"


def test_note_adds_a_comment_and_slack_mentions_notify_the_hub_users(slack, people, new_return, session_factory):
    r = new_return(stage="received")

    slack.command(f"note {r.rma} box is wet, <@UWH2|walt> can you check?  &amp; photos", user="UWH")

    with session_factory() as s:
        comment = s.scalar(select(Comment).where(Comment.return_id == r.id))
        assert comment.body == "box is wet, @walt can you check?  & photos"
        assert comment.author_id == people.warehouse
    event = events_of(session_factory, r.rma)[-1]
    assert (event.kind, event.channel) == ("commented", Channel.SLACK)
    assert event.payload["mentions"] == [people.warehouse2]
    mention = slack_outbox(session_factory, kind="mention")
    assert [n.recipient for n in mention] == ["UWH2"]


def test_flag_and_unflag(slack, people, new_return, session_factory):
    r = new_return(stage="received")

    slack.command(f"flag {r.rma} waiting for photos from the customer", user="UWH")
    stored = fetch(session_factory, r.rma)
    assert (stored.is_blocked, stored.blocked_reason) == (True, "waiting for photos from the customer")
    assert "You flagged" in slack.last_reply()

    slack.command(f"unflag {r.rma}", user="UWH")
    assert fetch(session_factory, r.rma).is_blocked is False
    assert [(e.kind, e.channel) for e in events_of(session_factory, r.rma)][1:] == [
        ("flagged", Channel.SLACK),
        ("unflagged", Channel.SLACK),
    ]

    slack.command(f"unflag {r.rma}", user="UWH")
    assert f"{r.rma} is not blocked" in slack.last_reply()


def test_new_opens_the_form_for_those_who_may_create_returns(slack, people):
    slack.command("new", user="UCS", trigger_id="trigger-new")
    opened = slack.api.calls_to("views.open")
    assert len(opened) == 1
    assert opened[0]["trigger_id"] == "trigger-new"
    assert opened[0]["view"]["callback_id"] == "new_return"
    assert opened[0].token == "xoxb-test-token"

    slack.command("new", user="UWH")
    assert (
        "You can't create returns because “New request” belongs to Customer service: only its members, leads and admins"
    ) in slack.last_reply()
    assert len(slack.api.calls_to("views.open")) == 1


# --- people ---------------------------------------------------------------------------------------


def test_an_unmapped_user_is_told_to_ask_an_admin_and_changes_nothing(slack, people, new_return, session_factory):
    r = new_return()

    slack.command(f"flag {r.rma} lost", user="USTRANGER")

    text = slack.last_reply()
    assert "No Returns Hub user has your Slack e-mail address (stranger@elsewhere.example)" in text
    assert "Ask an admin to add you" in text
    assert "USTRANGER" in text
    assert fetch(session_factory, r.rma).is_blocked is False
    slack.command(r.rma, user="USTRANGER")
    assert "Ask an admin to add you" in slack.last_reply()  # not even a look


def test_a_slack_user_is_linked_by_email_once(slack, people, session_factory):
    slack.command("mine", user="UNEW")
    assert "Assigned to you" in slack.last_reply()
    assert [c["user"] for c in slack.api.calls_to("users.info")] == ["UNEW"]
    with session_factory() as s:
        assert s.get(User, people.unlinked).slack_user_id == "UNEW"

    slack.command("mine", user="UNEW")
    assert len(slack.api.calls_to("users.info")) == 1  # cached on the user


def test_a_user_linked_by_an_admin_needs_no_lookup(slack, people):
    slack.command("mine", user="UCS")
    assert slack.api.calls_to("users.info") == []


def test_a_deactivated_user_can_change_nothing(slack, people, new_return, session_factory):
    r = new_return(stage="received")
    with unit_of_work(session_factory) as s:
        s.get(User, people.warehouse).is_active = False
    slack.command(f"flag {r.rma} lost", user="UWH")
    assert "deactivated" in slack.last_reply()
    assert fetch(session_factory, r.rma).is_blocked is False


# --- reliability ----------------------------------------------------------------------------------


def test_a_retried_command_is_applied_once(slack, people, new_return, session_factory):
    r = new_return(stage="received")

    slack.command(f"note {r.rma} first look done", user="UWH", trigger_id="trigger-42")
    slack.command(
        f"note {r.rma} first look done",
        user="UWH",
        trigger_id="trigger-42",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )

    assert [e.kind for e in events_of(session_factory, r.rma)].count("commented") == 1
    assert "Already done" in slack.last_reply()


def test_the_acknowledgement_does_not_wait_for_slow_work(slack, people, new_return, session_factory):
    r = new_return(stage="received")
    gate = slack.api.hold("users.info")  # a first-time user must be looked up in Slack: slow

    resp = slack.command(f"flag {r.rma} torn label", user="UNEW", wait=False)

    assert resp.status_code == 200  # acknowledged while the lookup is still waiting
    assert slack.replies() == []
    gate.set()
    slack.wait()
    assert "You flagged" in slack.last_reply()
    assert fetch(session_factory, r.rma).is_blocked is True


def test_a_retry_arriving_while_the_first_request_runs_is_applied_once(slack, people, new_return, session_factory):
    r = new_return(stage="received")
    for retry in (None, "1", "2"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        slack.command(f"move {r.rma} inspected", user="UWH", trigger_id="trigger-race", headers=headers, wait=False)
    slack.wait()
    assert [e.kind for e in events_of(session_factory, r.rma)] == ["created", "moved"]
    assert len(slack.replies()) == 3
    assert sum("You moved" in message_text(c.args) for c in slack.replies()) == 1


def test_an_unexpected_error_after_the_ack_still_gets_a_reply(slack, people, new_return, monkeypatch):
    from integrations.slack.listeners import commands

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(commands.HANDLERS, "mine", broken)
    resp = slack.command("mine", user="UWH")
    assert resp.status_code == 200
    assert "Something went wrong on the hub's side" in slack.last_reply()


def test_a_change_made_in_slack_shows_in_the_boards_change_feed(
    slack, people, new_return, session_factory, app, workflow
):
    r = new_return(stage="received")
    with session_factory() as s:
        cursor = queries.last_event_id(s)
    board = app.test_client()
    login(board, "lena@shop.example")

    slack.command(f"move {r.rma} inspected", user="UWH")

    with session_factory() as s:
        _, changed = queries.changed_since(s, cursor)
        assert changed == [r.id]
    feed = board.get(f"/board/changes?after={cursor}").get_json()
    card = next(c for c in feed["cards"] if c["id"] == f"card-{r.rma}")
    assert card["stage"] == "inspected"
    assert r.rma in card["html"]


def test_a_closed_return_can_be_reopened_from_slack(slack, people, new_return, session_factory, clock):
    r = new_return(stage="inspected")
    slack.command(f"move {r.rma} resolved refund", user="UCS")
    clock.advance(timedelta(hours=1))
    slack.command(f"move {r.rma} inspected", user="UCS")
    assert fetch(session_factory, r.rma).stage == "inspected"
    assert events_of(session_factory, r.rma)[-1].kind == "reopened"
    with session_factory() as s:
        assert s.scalar(select(Return.closed_at).where(Return.id == r.id)) is None
