"""App Home: published when opened, with the user's assigned returns, their team's overdue ones and queue sizes."""

from __future__ import annotations

from hub.accounts.models import User
from hub.core.db import unit_of_work
from hub.returns.models import Channel
from hub.returns.permissions import Actor
from hub.returns.services import assign_return
from tests.factories import make_user
from tests.slack.support import message_text


def _opened(slack, user: str, event_id: str, **kwargs):
    return slack.event(
        {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home", "event_ts": "1772700000.000100"},
        event_id=event_id,
        **kwargs,
    )


def _block(view, block_id: str) -> str:
    return message_text({"blocks": [b for b in view["blocks"] if b.get("block_id") == block_id]})


def test_opening_app_home_publishes_assigned_overdue_and_queue_sizes(
    slack, people, new_return, session_factory, workflow, clock
):
    mine = new_return(stage="received", customer_name="Assigned Customer")
    late = new_return(stage="received", customer_name="Late Customer")
    clock.advance(days=3)
    new_return(stage="received")
    new_return(stage="in_transit")  # logistics': not in the warehouse's queue
    with unit_of_work(session_factory) as s:
        wanda = s.get(User, people.warehouse)
        assign_return(s, workflow, Actor.person(wanda, Channel.WEB), mine.rma, wanda, now=clock())

    resp = _opened(slack, "UWH", "Ev001")

    assert resp.status_code == 200
    [published] = slack.api.calls_to("views.publish")
    assert published["user_id"] == "UWH"
    view = published["view"]
    assert view["type"] == "home"
    assert "Wanda Warehouse" in message_text(view)
    assert mine.rma in _block(view, "assigned")
    assert "Late Customer" not in _block(view, "assigned")
    overdue = _block(view, "overdue")
    assert "(2)" in overdue
    assert late.rma in overdue
    assert mine.rma in overdue
    assert "*Warehouse*: 3 open, 2 unassigned, 2 overdue" in _block(view, "queues")
    assert "Logistics" not in _block(view, "queues")


def test_a_lead_without_a_team_sees_every_teams_queue(slack, people, new_return, session_factory):
    from hub.accounts.models import Role

    with unit_of_work(session_factory) as s:
        make_user(s, team=None, role=Role.ADMIN, email="ada@shop.example", name="Ada Admin", slack_user_id="UADA")
    new_return(stage="in_transit")
    _opened(slack, "UADA", "Ev010")
    queues = _block(slack.api.calls_to("views.publish")[0]["view"], "queues")
    assert "Customer service" in queues
    assert "*Logistics*: 1 open" in queues
    assert "Warehouse" in queues


def test_an_unmapped_user_sees_ask_an_admin_on_app_home(slack, people):
    _opened(slack, "USTRANGER", "Ev002")
    view = slack.api.calls_to("views.publish")[0]["view"]
    assert "Ask an admin to add you" in _block(view, "unmapped")


def test_a_retried_event_is_handled_once(slack, people):
    _opened(slack, "UWH", "Ev003")
    _opened(slack, "UWH", "Ev003", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert len(slack.api.calls_to("views.publish")) == 1
    _opened(slack, "UWH", "Ev004")  # opened again: a new event, refreshed
    assert len(slack.api.calls_to("views.publish")) == 2


def test_the_messages_tab_publishes_nothing(slack, people):
    slack.event({"type": "app_home_opened", "user": "UWH", "channel": "D1", "tab": "messages"}, event_id="Ev005")
    assert slack.api.calls_to("views.publish") == []


def test_a_failing_publish_is_logged_not_raised(slack, people, caplog):
    slack.api.fail("views.publish", 500)
    assert _opened(slack, "UWH", "Ev006").status_code == 200
    assert "views.publish for UWH failed" in caplog.text
