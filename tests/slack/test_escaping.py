"""What people type reaches Slack as text: no @channel, no disguised link, no mention, in any message or fallback.

Slack reads `<!channel>`, `<http://evil|click>`, `<@U…>` and `<#C…>` in a message's top-level `text` and in every
mrkdwn block; the hub escapes & < > in everything it did not write itself. Checked on the JSON the local Slack
API server (tests/slack/fake_api.py) received.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select

from hub.accounts.models import User
from hub.alerts.digests import send_digest
from hub.core.db import unit_of_work
from hub.notifications.models import Notification, NotificationStatus
from hub.notifications.outbox import enqueue
from hub.returns.models import Channel, Return
from hub.returns.notices import return_facts
from hub.returns.permissions import Actor
from hub.returns.services import add_comment
from integrations.slack import blocks
from integrations.slack.delivery import ChannelThrottle, SlackDelivery
from jobs.dispatch import dispatch
from tests.factories import make_user
from tests.slack.fake_api import Call
from tests.slack.support import BASE_URL, TOKEN, slack_outbox
from tests.slack.test_new_return import VALID

HOSTILE = "<!channel> <http://evil.example|click> <@U0BOSS> <#C0SECRET> & <!here|here>"
ESCAPED = (
    "&lt;!channel&gt; &lt;http://evil.example|click&gt; &lt;@U0BOSS&gt; &lt;#C0SECRET&gt; &amp; &lt;!here|here&gt;"
)
LINKED = ("UCS", "ULOG", "UWH", "UWH2", "ULEAD", "UNEW", "UMAL")  # the people a message may really mention
OURS = re.compile(
    r"<!date\^\d+\^[^|<>]*\|[^<>]*>"  # a moment, shown in each reader's zone
    + r"|<"
    + re.escape(BASE_URL)
    + r"/[^|<>\s]*\|[^<>]*>"  # a link to the hub's own pages
    + r"|<@(?:"
    + "|".join(LINKED)
    + r")>"  # a linked person, mentioned by the hub
)
MARKUP = ("<!", "<http", "<@", "<#")


def _mrkdwn(node: Any) -> Iterator[str]:
    """Every text Slack reads as mrkdwn below `node` (plain_text it shows as typed: no mention, no link)."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _mrkdwn(value)
    elif isinstance(node, list):
        for item in node:
            yield from _mrkdwn(item)


def assert_shown_as_text(calls: list[Call]) -> None:
    """No text Slack reads as mrkdwn in these calls (a message's `text`, its mrkdwn blocks) holds Slack markup
    except what the hub itself made."""
    assert calls
    for call in calls:
        texts = [call.args["text"]] if isinstance(call.args.get("text"), str) else []
        for text in texts + list(_mrkdwn(call.args)):
            left = OURS.sub("", text)
            for mark in MARKUP:
                assert mark not in left, f"{call.method} sent {mark!r} unescaped: {text}"


def _dispatch(slack_runtime, clock):
    adapter = SlackDelivery(slack_runtime.settings, slack_runtime.workflow, throttle=ChannelThrottle(0))
    return dispatch(slack_runtime.session_factory, {"slack": adapter}, clock=clock, unavailable={"email": "not here"})


def test_a_hostile_name_from_the_new_return_modal_is_text_in_every_message_it_reaches(
    slack, slack_runtime, slack_api, people, session, session_factory, workflow, clock
):
    mallory = make_user(session, team="customer_service", name=HOSTILE, email="mal@shop.example", slack_user_id="UMAL")
    slack_api.add_user("UMAL", "mal@shop.example", HOSTILE)
    session.commit()
    slack.command("new", user="UMAL")
    view = slack_api.calls_to("views.open")[-1]["view"]
    typed = {**VALID, "customer_name": HOSTILE, "item_product_name": HOSTILE, "item_reason_note": HOSTILE}

    resp = slack.submit("new_return", typed, user="UMAL", private_metadata=view["private_metadata"])

    assert resp.status_code == 200
    assert not resp.get_data()
    with session_factory() as s:
        rma = s.scalar(select(Return.rma))
    # shown (/returns RMA), listed (/returns queue), assigned, moved on (a handoff), mentioned, alerted, digested
    slack.command(rma, user="UCS")
    slack.command("queue customer_service", user="UCS")
    slack.command(f"assign {rma} me", user="UMAL")
    slack.event({"type": "app_home_opened", "user": "UMAL", "channel": "D1", "tab": "home"}, event_id="EvHostile")
    slack.command(f"move {rma} approved", user="UMAL")
    with unit_of_work(session_factory) as s:
        r = s.scalar(select(Return).where(Return.rma == rma))
        add_comment(
            s, workflow, Actor.person(s.get(User, mallory.id), Channel.WEB), rma, f"@lou {HOSTILE}", now=clock()
        )
        payload = {**return_facts(r, workflow), "level": HOSTILE, "late_by": HOSTILE}
        enqueue(
            s,
            channel="slack",
            kind="alert",
            recipient="#returns-logistics",
            payload=payload,
            return_id=None,
            now=clock(),
        )
        assert send_digest(s, workflow, workflow.teams["logistics"], clock(), force=True)
    clock.advance(minutes=1)

    report = _dispatch(slack_runtime, clock)

    rows = slack_outbox(session_factory)
    assert {n.kind for n in rows} >= {"activity", "handoff", "mention", "alert", "digest"}
    assert all(n.status is NotificationStatus.SENT for n in rows), [(n.kind, n.last_error) for n in rows]
    assert report.sent == len(rows)
    assert_shown_as_text(slack_api.calls)
    posts = slack_api.calls_to("chat.postMessage")
    activity = next(p for p in posts if "created" in p["text"])
    assert activity["text"].startswith(ESCAPED)  # the notification text too, not only the blocks
    assert ESCAPED in json.dumps(slack_api.calls_to("respond")[0].args, ensure_ascii=False)  # "You created …"
    home = slack_api.calls_to("views.publish")[-1]
    assert ESCAPED in json.dumps(home["view"], ensure_ascii=False)


def _hostile_facts() -> dict[str, object]:
    row = {"rma": "R-1", "customer_name": HOSTILE, "stage_name": HOSTILE, "due_at": None, "assignee": HOSTILE}
    return {
        "rma": "R-1",
        "order_number": HOSTILE,
        "customer_name": HOSTILE,
        "customer_email": HOSTILE,
        "stage": "received",
        "stage_name": HOSTILE,
        "team": "warehouse",
        "team_name": HOSTILE,
        "from_team_name": HOSTILE,
        "from_stage_name": HOSTILE,
        "actor": HOSTILE,
        "actor_slack_id": "U1>|<!channel",  # only a Slack user id goes inside <@…>
        "what": HOSTILE,
        "author": HOSTILE,
        "body": HOSTILE,
        "note": HOSTILE,
        "level": HOSTILE,
        "late_by": HOSTILE,
        "resolution": HOSTILE,
        "closed": True,
        "is_blocked": True,
        "blocked_reason": HOSTILE,
        "assignee": HOSTILE,
        "due_at": "2026-03-06T09:00:00+00:00",
        "at": "2026-03-05T09:00:00+00:00",
        "date": HOSTILE,
        "open_count": HOSTILE,
        "items": [{"sku": HOSTILE, "product_name": HOSTILE, "quantity": HOSTILE, "reason": HOSTILE}],
        "last_comment": {"author": HOSTILE, "body": HOSTILE},
        "events": [{"at": "2026-03-05T09:00:00+00:00", "actor": HOSTILE, "text": HOSTILE, "channel": HOSTILE}],
        "next_stages": [{"key": "inspected", "name": HOSTILE}],
        **{key: [row] for key in ("overdue", "due_today", "blocked", "unassigned")},
    }


def test_every_message_kind_shows_hostile_values_as_text(slack_runtime, slack_api, workflow, clock):
    adapter = SlackDelivery(slack_runtime.settings, workflow, throttle=ChannelThrottle(0))
    facts = _hostile_facts()
    for kind in blocks.BUILDERS:
        adapter.send(Notification(channel="slack", kind=kind, recipient="#returns-warehouse", payload=facts))
    client = WebClient(token=TOKEN, base_url=slack_api.url)
    now = clock()
    rows = ([facts], 1)
    for text, body in (
        blocks.detail_message(facts, BASE_URL, now),
        blocks.list_message(HOSTILE, [facts], 2, base_url=BASE_URL, now=now, more_url=BASE_URL + "/board", empty=""),
        blocks.list_message(HOSTILE, [], 0, base_url=BASE_URL, now=now, more_url=BASE_URL, empty=HOSTILE),
        blocks.result_message(HOSTILE, ok=False),
    ):
        client.chat_postMessage(channel="CWH", text=text, blocks=body)
    queues = [{"team": "warehouse", "team_name": HOSTILE, "open": 1, "unassigned": 1, "overdue": 1}]
    home = blocks.home_view(HOSTILE, rows, rows, queues, base_url=BASE_URL, now=now, command="/returns")
    client.views_publish(user_id="UWH", view=home)
    client.views_publish(user_id="UWH", view=blocks.unmapped_home_view(HOSTILE))
    move = blocks.move_modal(
        "R-1",
        HOSTILE,
        resolutions=["refund"],
        needs_resolution=True,
        needs_note=True,
        private_metadata="{}",
        rejection_reasons=[("x", HOSTILE)],
    )
    client.views_open(trigger_id="t1", view=move)
    status = blocks.updated_message(blocks.handoff_message(facts, BASE_URL)[1], "Claimed", drop=lambda a: False)
    client.chat_update(channel="CWH", ts="1.1", text=blocks.esc(HOSTILE), blocks=status)

    assert_shown_as_text(slack_api.calls)
    posts = slack_api.calls_to("chat.postMessage")
    assert len(posts) == len(blocks.BUILDERS) + 4
    for post in posts:  # each fallback shows the hostile text, escaped (the empty list's title too)
        assert "&lt;!channel&gt;" in post["text"], post["text"]
    activity = posts[list(blocks.BUILDERS).index("activity")]
    assert activity["blocks"][0]["text"]["text"].startswith(f"*{ESCAPED}*")  # no <@…> for a bad Slack id


def test_a_real_slack_user_id_is_still_mentioned_in_an_activity_message():
    payload = {"rma": "R-1", "actor": "Cora", "actor_slack_id": "UCS", "what": "claimed", "at": None}
    _, body = blocks.activity_message(payload, BASE_URL)
    assert body[0]["text"]["text"].startswith("<@UCS> claimed")
    _, body = blocks.activity_message({**payload, "actor_slack_id": "UCS> <!channel"}, BASE_URL)
    assert body[0]["text"]["text"].startswith("*Cora* claimed")


def test_plain_text_fields_carry_the_name_as_typed():
    # a header or a button is plain_text: Slack shows it as is, so escaping it would show "&lt;"
    _, body = blocks.alert_message(_hostile_facts(), BASE_URL)
    assert body[0]["text"] == {"type": "plain_text", "text": f"{HOSTILE}: R-1", "emoji": True}
    assert body[-1]["elements"][0]["text"]["text"] == f"Move to {HOSTILE}"[:74] + "…"
