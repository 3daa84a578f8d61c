"""The outbox's Slack adapter: every kind rendered, rate limits and outages retried, never dropped, one a second."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.models import User
from hub.alerts.digests import send_digest
from hub.alerts.scan import scan_batch
from hub.core.db import unit_of_work
from hub.notifications.models import Notification, NotificationStatus
from hub.notifications.outbox import enqueue
from hub.returns.models import Channel
from hub.returns.notices import return_facts
from hub.returns.permissions import Actor
from hub.returns.services import add_comment
from integrations.slack.delivery import ChannelThrottle, SlackDelivery
from jobs.dispatch import DispatchReport, backoff, channel_adapters, dispatch
from tests.factories import move
from tests.slack.support import message_text, slack_outbox


class FakeTime:
    """A monotonic clock and a sleep that only moves it, to see the throttle's pauses without waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def adapter(slack_runtime):
    return SlackDelivery(slack_runtime.settings, slack_runtime.workflow, throttle=ChannelThrottle(0))


def run(slack_runtime, adapter, clock) -> DispatchReport:
    return dispatch(
        slack_runtime.session_factory,
        {"slack": adapter},
        clock=clock,
        unavailable={"email": "e-mail is not tested here"},
    )


def _handoff(session_factory, workflow, new_return, clock) -> str:
    r = new_return(stage="in_transit")
    move(session_factory, workflow, r.rma, "received", now=clock())
    return r.rma


def test_a_handoff_is_posted_to_the_teams_channel_and_its_message_recorded(
    slack_runtime, adapter, session_factory, workflow, new_return, clock, slack_api
):
    rma = _handoff(session_factory, workflow, new_return, clock)

    report = run(slack_runtime, adapter, clock)

    assert report.sent == 1
    [post] = slack_api.calls_to("chat.postMessage")
    assert post["channel"] == "#returns-warehouse"
    assert post.token == "xoxb-test-token"
    assert rma in post["text"]
    assert "Warehouse" in post["text"]
    [row] = slack_outbox(session_factory, kind="handoff")
    assert row.status is NotificationStatus.SENT
    assert row.delivery_ref == "CWH:1772700000.000001"


def test_a_429_is_retried_after_retry_after_then_delivered(
    slack_runtime, adapter, session_factory, workflow, new_return, clock, slack_api
):
    _handoff(session_factory, workflow, new_return, clock)
    slack_api.fail("chat.postMessage", 429, retry_after=7)

    first = clock()
    assert run(slack_runtime, adapter, clock).retried == 1
    [row] = slack_outbox(session_factory, kind="handoff")
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)
    assert row.next_attempt_at == first + timedelta(seconds=7)
    assert "rate limit" in row.last_error
    assert "retry after 7 s" in row.last_error

    clock.advance(seconds=6)
    assert run(slack_runtime, adapter, clock) == DispatchReport()  # not yet
    clock.advance(seconds=1)
    assert run(slack_runtime, adapter, clock).sent == 1
    assert len(slack_api.calls_to("chat.postMessage")) == 2
    assert slack_outbox(session_factory, kind="handoff")[0].status is NotificationStatus.SENT


def test_an_outage_is_retried_with_backoff_and_nothing_is_lost(
    slack_runtime, adapter, session_factory, workflow, new_return, clock, slack_api
):
    _handoff(session_factory, workflow, new_return, clock)
    slack_api.fail("chat.postMessage", 500, times=2)

    run(slack_runtime, adapter, clock)
    [row] = slack_outbox(session_factory, kind="handoff")
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)
    assert "Slack answered HTTP 500" in row.last_error
    assert row.next_attempt_at == clock() + backoff(1)

    clock.advance(backoff(1))
    assert run(slack_runtime, adapter, clock).retried == 1
    clock.advance(backoff(2))
    assert run(slack_runtime, adapter, clock).sent == 1  # Slack is back
    [row] = slack_outbox(session_factory, kind="handoff")
    assert (row.status, row.attempts, row.last_error) == (NotificationStatus.SENT, 3, None)


def test_slack_unreachable_is_retried(slack_runtime, session_factory, workflow, new_return, clock):
    _handoff(session_factory, workflow, new_return, clock)
    unreachable = replace(slack_runtime.settings, slack_api_url="http://127.0.0.1:9/api/")  # discard port
    adapter = SlackDelivery(unreachable, workflow, throttle=ChannelThrottle(0))
    assert run(slack_runtime, adapter, clock).retried == 1
    row = slack_outbox(session_factory, kind="handoff")[0]
    assert row.status is NotificationStatus.PENDING
    assert "cannot reach Slack" in row.last_error


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        ("not_in_channel", "invite it there"),
        ("channel_not_found", "check slack_channel"),
        ("invalid_auth", "SLACK_BOT_TOKEN is not valid"),
    ],
)
def test_what_retrying_cannot_fix_is_dead_at_once_with_what_to_do(
    slack_runtime, adapter, session_factory, workflow, new_return, clock, slack_api, error, advice
):
    _handoff(session_factory, workflow, new_return, clock)
    slack_api.fail("chat.postMessage", error=error)
    assert run(slack_runtime, adapter, clock).dead == 1
    row = slack_outbox(session_factory, kind="handoff")[0]
    assert row.status is NotificationStatus.DEAD
    assert error in row.last_error
    assert advice in row.last_error


def test_a_channel_gets_at_most_about_one_message_a_second(
    slack_runtime, session_factory, workflow, new_return, clock, slack_api
):
    t = FakeTime()
    adapter = SlackDelivery(
        slack_runtime.settings, workflow, throttle=ChannelThrottle(1.0, clock=t.clock, sleep=t.sleep)
    )
    for _ in range(3):
        _handoff(session_factory, workflow, new_return, clock)
    move(session_factory, workflow, new_return().rma, "approved", now=clock())  # one to #returns-logistics

    assert run(slack_runtime, adapter, clock).sent == 4
    assert t.slept == [1.0, 1.0]  # the 2nd and 3rd warehouse messages wait; logistics' does not
    channels = [c["channel"] for c in slack_api.calls_to("chat.postMessage")]
    assert sorted(channels) == ["#returns-logistics"] + ["#returns-warehouse"] * 3


def test_the_throttle_keeps_its_pace_across_dispatch_runs():
    t = FakeTime()
    throttle = ChannelThrottle(1.0, clock=t.clock, sleep=t.sleep)
    assert throttle.wait("#a") == 0
    t.now += 0.25
    assert throttle.wait("#a") == pytest.approx(0.75)
    assert throttle.wait("#b") == 0
    t.now += 5
    assert throttle.wait("#a") == 0


def test_delay_alerts_reuse_the_handoff_message_with_the_level_in_a_header(
    slack_runtime, adapter, session_factory, workflow, new_return, clock, slack_api
):
    r = new_return(stage="received")
    clock.advance(days=3)
    with unit_of_work(session_factory) as s:
        scan_batch(s, workflow, clock())

    run(slack_runtime, adapter, clock)

    alerts = [c for c in slack_api.calls_to("chat.postMessage") if c["channel"] == "#returns-warehouse"]
    assert alerts, [c["channel"] for c in slack_api.calls_to("chat.postMessage")]
    header = alerts[0]["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"] in (f"Escalated: {r.rma}", f"Overdue: {r.rma}")
    actions = next(b for b in alerts[0]["blocks"] if b.get("block_id") == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["claim", "move:inspected", "snooze", "open_board"]
    assert all(n.status is NotificationStatus.SENT for n in slack_outbox(session_factory, kind="alert"))


@pytest.mark.parametrize(
    ("level", "label"),
    [
        ("due_soon", "Due soon"),
        ("overdue", "Overdue"),
        ("escalated", "Escalated"),
        ("promise_broken", "Promise to the customer broken"),
    ],
)
def test_every_alert_level_has_its_header(
    slack_runtime, adapter, session_factory, workflow, new_return, clock, slack_api, level, label
):
    r = new_return(stage="received")
    with unit_of_work(session_factory) as s:
        facts = return_facts(s.merge(r), workflow)
        enqueue(
            s,
            channel="slack",
            kind="alert",
            recipient="#returns-warehouse",
            now=clock(),
            return_id=None,
            payload={
                **facts,
                "level": level,
                "late_by": "3h overdue",
                "next_stages": [{"key": "inspected", "name": "Inspected — to resolve"}],
            },
        )
    run(slack_runtime, adapter, clock)
    [post] = slack_api.calls_to("chat.postMessage")
    assert post["blocks"][0]["text"]["text"] == f"{label}: {r.rma}"
    assert "3h overdue" in message_text(post.args)


def test_the_daily_digest_is_posted_to_the_team(
    slack_runtime, adapter, session_factory, workflow, new_return, clock, slack_api
):
    late = new_return(stage="received", customer_name="Late Customer")
    clock.advance(days=2)
    new_return(stage="received")
    with unit_of_work(session_factory) as s:
        assert send_digest(s, workflow, workflow.teams["warehouse"], clock(), force=True)

    run(slack_runtime, adapter, clock)

    [post] = slack_api.calls_to("chat.postMessage")
    assert post["channel"] == "#returns-warehouse"
    text = message_text(post.args)
    assert "Warehouse — " in post["blocks"][0]["text"]["text"]
    assert "*2* open returns" in text
    assert late.rma in text
    assert "Overdue* (1)" in text
    assert "Unassigned* (2)" in text
    assert "https://returns.shop.example/board?team=warehouse&overdue=1" in text


def test_a_mention_reaches_the_person_in_slack(
    slack_runtime, adapter, session_factory, workflow, new_return, clock, slack_api, people
):
    r = new_return(stage="received")
    with unit_of_work(session_factory) as s:
        wanda = s.get(User, people.warehouse)
        add_comment(s, workflow, Actor.person(wanda, Channel.WEB), r.rma, "@walt please check the seams", now=clock())

    run(slack_runtime, adapter, clock)

    [post] = slack_api.calls_to("chat.postMessage")
    assert post["channel"] == "UWH2"
    assert "Wanda Warehouse mentioned you on" in post["text"]
    assert "please check the seams" in message_text(post.args)
    assert slack_outbox(session_factory, kind="mention")[0].delivery_ref.startswith("DWH2:")


def test_a_kind_slack_has_no_message_for_is_dead_at_once(slack_runtime, adapter, session_factory, clock):
    with unit_of_work(session_factory) as s:
        enqueue(
            s,
            channel="slack",
            kind="customer_update",
            recipient="#returns-warehouse",
            payload={},
            return_id=None,
            now=clock(),
        )
    assert run(slack_runtime, adapter, clock).dead == 1
    with session_factory() as s:
        assert "no message for notifications of kind 'customer_update'" in s.scalar(select(Notification)).last_error


def test_the_dispatcher_uses_slack_when_it_is_configured(slack_runtime, settings, workflow):
    adapters, unavailable = channel_adapters(slack_runtime.settings, workflow)
    assert isinstance(adapters["slack"], SlackDelivery)
    assert "slack" not in unavailable
    adapters, unavailable = channel_adapters(replace(settings, slack_bot_token=None), workflow)
    assert "slack" not in adapters
    assert "SLACK_BOT_TOKEN" in unavailable["slack"]
