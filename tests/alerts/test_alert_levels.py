"""Delay alerts: each level once per stage entry, however often the scan runs; routing; moves reset the clock."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.models import Role
from hub.alerts.scan import mark_alerts_raised
from hub.notifications.models import Notification
from hub.returns.clocks import level_reached
from hub.returns.models import AlertLevel, Channel, Event
from hub.returns.services import move_return, reopen_return
from tests.alerts.support import HOUR, alert_messages, alerts, events, move, routes, scan, stored
from tests.factories import SYSTEM, make_return, make_user, utc

SECOND = timedelta(seconds=1)
# a return entering "Received — to inspect" (warehouse, 07:00-16:00 Amsterdam, 1 business day = 9 working
# hours) on Thursday 5 March 2026 at 10:00 Amsterdam (09:00 UTC):
WARN = utc(2026, 3, 6, 6, 45)  # 75% = 6h45: six hours on Thursday, 45 minutes from Friday 07:00
DUE = utc(2026, 3, 6, 9)  # Friday 10:00 Amsterdam
ESCALATE = utc(2026, 3, 9, 9)  # another nine working hours: Monday 10:00 Amsterdam
PROMISE = utc(2026, 3, 19, 9)  # 14 calendar days after the request

TEAM = Counter({("slack", "#returns-warehouse"): 1, ("email", "warehouse@shop.example"): 1})
ESCALATION = Counter({("slack", "#returns-escalations"): 1, ("email", "returns-leads@shop.example"): 1})


@pytest.fixture
def received(session, workflow, now) -> str:
    """A return that entered "received" at the suite's moment (committed)."""
    rma = make_return(session, workflow, stage="received", now=now).rma
    session.commit()
    return rma


def test_entering_a_stage_stores_its_clocks(received, runtime):
    r = stored(runtime, received)
    assert (r.stage_warn_at, r.stage_due_at, r.stage_escalate_at, r.promised_by) == (WARN, DUE, ESCALATE, PROMISE)
    assert r.alert_level == AlertLevel.NONE
    assert r.next_alert_at == WARN
    assert r.snoozed_until is None
    assert level_reached(r, WARN - SECOND) == AlertLevel.NONE
    assert level_reached(r, ESCALATE) == AlertLevel.ESCALATED


def test_each_level_fires_exactly_once_however_often_the_scan_runs(received, runtime, now):
    expected: list[str] = []
    steps = [
        (now, None),
        (now + HOUR, None),
        (WARN - SECOND, None),
        (WARN, "due_soon"),
        (WARN + SECOND, None),
        (WARN + HOUR, None),
        (DUE - SECOND, None),
        (DUE, "overdue"),
        (DUE + HOUR, None),
        (DUE + timedelta(days=1), None),
        (ESCALATE - SECOND, None),
        (ESCALATE, "escalated"),
        (ESCALATE + HOUR, None),
        (PROMISE - SECOND, None),
        (PROMISE, "promise_broken"),
        (PROMISE + HOUR, None),
        (PROMISE + timedelta(days=60), None),
    ]
    for at, level in steps:
        scan(runtime, at, times=3)
        if level:
            expected.append(level)
        assert [lv for _, _, lv in alerts(runtime)] == expected, f"after scanning at {at}"
    assert {stage for _, stage, _ in alerts(runtime)} == {"received"}
    # the team hears of every level; escalations also reach the escalation channel and address
    assert routes(runtime, received, "due_soon") == TEAM
    assert routes(runtime, received, "overdue") == TEAM
    assert routes(runtime, received, "escalated") == TEAM + ESCALATION
    assert routes(runtime, received, "promise_broken") == TEAM + ESCALATION
    assert len(alert_messages(runtime)) == 12
    r = stored(runtime, received)
    assert r.alert_level == AlertLevel.ESCALATED
    assert r.promise_alerted is True
    assert r.next_alert_at is None  # nothing more is owed: the scan never reads it again
    assert r.version == 1  # an alert is no edit: it never causes a version conflict for someone on the board


def test_an_alert_is_a_timeline_event_of_the_delay_scan(received, runtime):
    scan(runtime, DUE)
    kind, when, payload = events(runtime, received)[-1]
    assert (kind, when, payload) == ("alert", DUE, {"stage": "received", "level": "overdue"})
    with runtime.read_session_factory() as s:
        event = s.scalars(select(Event).where(Event.kind == "alert")).one()
        assert (event.channel, event.actor_id, event.actor_label) == (Channel.JOB, None, "Returns Hub (delay scan)")


def test_an_alert_message_says_how_late_and_where_the_return_can_go(received, runtime):
    scan(runtime, DUE + timedelta(hours=3))
    with runtime.read_session_factory() as s:
        n = s.scalars(select(Notification).where(Notification.kind == "alert", Notification.channel == "slack")).one()
    assert n.payload["rma"] == received
    assert n.payload["late_by"] == "3h overdue"  # one duration wording (hub.returns.timeline)
    assert n.payload["stage_name"] == "Received — to inspect"
    assert n.payload["team_name"] == "Warehouse"
    assert n.payload["next_stages"] == [{"key": "inspected", "name": "Inspected — to resolve"}]
    assert n.return_id is not None


def test_escalations_also_reach_the_teams_leads_and_nobody_elses(session, runtime, received):
    make_user(session, team="warehouse", role=Role.LEAD, email="lead.slack@shop.example", slack_user_id="U0WARE1")
    make_user(session, team="warehouse", role=Role.LEAD, email="lead.mail@shop.example")
    gone = make_user(session, team="warehouse", role=Role.LEAD, email="lead.gone@shop.example", slack_user_id="U0GONE")
    gone.is_active = False
    make_user(session, team="warehouse", role=Role.MEMBER, email="member@shop.example", slack_user_id="U0MEMB")
    make_user(session, team="customer_service", role=Role.LEAD, email="cs.lead@shop.example", slack_user_id="U0CS")
    session.commit()

    for at in (WARN, DUE, ESCALATE, PROMISE):
        scan(runtime, at, times=2)
    leads = Counter(
        {("email", "lead.slack@shop.example"): 1, ("slack", "U0WARE1"): 1, ("email", "lead.mail@shop.example"): 1}
    )
    assert routes(runtime, received, "due_soon") == TEAM
    assert routes(runtime, received, "overdue") == TEAM
    assert routes(runtime, received, "escalated") == TEAM + ESCALATION + leads
    assert routes(runtime, received, "promise_broken") == TEAM + ESCALATION + leads
    recipients = {to for _, _, _, to in alert_messages(runtime)}
    assert not recipients & {
        "lead.gone@shop.example",
        "U0GONE",
        "member@shop.example",
        "U0MEMB",
        "cs.lead@shop.example",
        "U0CS",
    }


def test_only_the_highest_level_is_raised_when_the_scan_was_down(received, runtime):
    scan(runtime, ESCALATE + timedelta(days=2), times=3)  # due soon and overdue were missed
    assert alerts(runtime) == [(received, "received", "escalated")]
    scan(runtime, PROMISE + HOUR, times=3)
    assert [lv for _, _, lv in alerts(runtime)] == ["escalated", "promise_broken"]


def test_a_scan_down_past_the_promise_raises_the_escalation_and_the_broken_promise_once(received, runtime):
    scan(runtime, PROMISE + timedelta(days=10), times=3)
    assert [lv for _, _, lv in alerts(runtime)] == ["escalated", "promise_broken"]
    assert Counter(lv for _, lv, _, _ in alert_messages(runtime)) == {"escalated": 4, "promise_broken": 4}


# --- a move starts a new stage entry ---------------------------------------------------------------------

# "New request" (customer service, 09:00-17:00 Amsterdam, 8 working hours), entered Thursday 10:00 Amsterdam
NEW_WARN, NEW_DUE, NEW_ESCALATE = utc(2026, 3, 5, 15), utc(2026, 3, 6, 9), utc(2026, 3, 9, 9)


def test_a_move_resets_the_clock_and_the_new_stage_alerts_from_scratch(session, workflow, runtime, now):
    rma = make_return(session, workflow, now=now).rma
    session.commit()
    scan(runtime, NEW_WARN, times=2)
    scan(runtime, NEW_DUE, times=2)
    assert alerts(runtime) == [(rma, "new", "due_soon"), (rma, "new", "overdue")]

    # handed to logistics (08:00-17:00 Amsterdam, 9 working hours) on Friday 13:00 Amsterdam
    moved_at = utc(2026, 3, 6, 12)
    move(runtime, rma, "approved", moved_at)
    r = stored(runtime, rma)
    warn, due, escalate = utc(2026, 3, 9, 9, 45), utc(2026, 3, 9, 12), utc(2026, 3, 10, 12)
    assert (r.stage_warn_at, r.stage_due_at, r.stage_escalate_at) == (warn, due, escalate)
    assert (r.alert_level, r.next_alert_at) == (AlertLevel.NONE, warn)

    scan(runtime, moved_at, times=2)
    scan(runtime, NEW_ESCALATE, times=2)  # the old stage's escalation time: nothing, that entry is over
    assert len(alerts(runtime)) == 2
    for at in (warn, warn + HOUR, due, due + HOUR, escalate, escalate + timedelta(days=3)):
        scan(runtime, at, times=2)
    assert alerts(runtime) == [
        (rma, "new", "due_soon"),
        (rma, "new", "overdue"),
        (rma, "approved", "due_soon"),
        (rma, "approved", "overdue"),
        (rma, "approved", "escalated"),
    ]
    logistics = Counter({("slack", "#returns-logistics"): 1, ("email", "logistics@shop.example"): 1})
    assert routes(runtime, rma, "escalated") == logistics + ESCALATION


def test_the_old_stages_pending_alerts_are_not_raised_after_a_move(session, workflow, runtime, now):
    rma = make_return(session, workflow, now=now).rma
    session.commit()
    move(runtime, rma, "approved", now + 3 * HOUR)  # before "new" turned due soon
    for at in (NEW_WARN, NEW_DUE - SECOND):
        scan(runtime, at, times=2)
    assert alerts(runtime) == []
    scan(runtime, NEW_DUE + HOUR, times=2)  # approved (Thursday 13:00 Amsterdam + 6h45 working) is due soon
    assert alerts(runtime) == [(rma, "approved", "due_soon")]


def test_the_broken_promise_is_raised_once_per_return_across_moves(session, workflow, runtime, now):
    rma = make_return(session, workflow, stage="in_transit", now=now).rma  # 5 calendar days
    session.commit()
    scan(runtime, PROMISE, times=2)
    assert [lv for _, _, lv in alerts(runtime)] == ["escalated", "promise_broken"]

    # received by the warehouse on Thursday 19 March, 11:00 Amsterdam
    move(runtime, rma, "received", PROMISE + HOUR)
    warn, due, escalate = utc(2026, 3, 20, 7, 45), utc(2026, 3, 20, 10), utc(2026, 3, 23, 10)
    for at in (warn, due, escalate, escalate + timedelta(days=30), escalate + timedelta(days=90)):
        scan(runtime, at, times=2)
    levels = [(stage, lv) for _, stage, lv in alerts(runtime)]
    assert levels == [
        ("in_transit", "escalated"),
        ("in_transit", "promise_broken"),
        ("received", "due_soon"),
        ("received", "overdue"),
        ("received", "escalated"),
    ]


def test_a_closed_return_never_alerts(session, workflow, runtime, now):
    closed = make_return(session, workflow, now=now).rma
    move_return(session, workflow, SYSTEM, closed, "rejected", rejection_reason="outside_window", now=now + HOUR)
    created_closed = make_return(session, workflow, stage="resolved", now=now).rma
    half_way = make_return(session, workflow, now=now).rma
    session.commit()
    assert stored(runtime, closed).next_alert_at is None
    scan(runtime, NEW_WARN, times=2)  # half_way turns due soon
    move(runtime, half_way, "rejected", NEW_WARN + HOUR, rejection_reason="other", note="duplicate")
    for at in (NEW_DUE, NEW_ESCALATE, PROMISE, PROMISE + timedelta(days=100)):
        scan(runtime, at, times=2)
    assert alerts(runtime) == [(half_way, "new", "due_soon")]
    assert not {rma for rma, *_ in alert_messages(runtime)} & {closed, created_closed}


def test_a_reopened_return_is_a_new_stage_entry(session, workflow, runtime, now):
    rma = make_return(session, workflow, now=now).rma
    session.commit()
    scan(runtime, NEW_DUE)
    move(runtime, rma, "rejected", NEW_DUE + HOUR, rejection_reason="other", note="not ours")
    reopened_at = utc(2026, 3, 10, 8)  # Tuesday 09:00 Amsterdam: opening time
    with runtime.unit_of_work() as s:
        reopen_return(s, workflow, SYSTEM, rma, now=reopened_at)
    for at in (reopened_at + 6 * HOUR, reopened_at + 8 * HOUR, reopened_at + 8 * HOUR + timedelta(days=1)):
        scan(runtime, at, times=2)
    assert [lv for _, _, lv in alerts(runtime)] == ["overdue", "due_soon", "overdue", "escalated"]


def test_marking_alerts_raised_tells_nobody_and_raises_only_later_levels(session, workflow, runtime, received):
    mark_alerts_raised(session, workflow, DUE)
    session.commit()
    assert alerts(runtime) == []
    assert alert_messages(runtime) == []
    assert stored(runtime, received).alert_level == AlertLevel.OVERDUE
    scan(runtime, DUE + HOUR, times=2)
    assert alerts(runtime) == []
    scan(runtime, ESCALATE)
    assert alerts(runtime) == [(received, "received", "escalated")]


def test_a_move_resets_the_level_even_in_a_session_that_loaded_the_return_before_the_scan(
    session, workflow, runtime, now
):
    # the session keeps the return it loaded (alert level 0) while the scan raises "overdue" in another
    # transaction; the move must still write level 0, or the new stage's first alerts would never come
    r = make_return(session, workflow, now=now)
    session.commit()
    scan(runtime, NEW_DUE)
    assert stored(runtime, r.rma).alert_level == AlertLevel.OVERDUE
    assert r.alert_level == AlertLevel.NONE  # what the session still believes
    move_return(session, workflow, SYSTEM, r.rma, "approved", now=NEW_DUE + HOUR)
    session.commit()
    assert stored(runtime, r.rma).alert_level == AlertLevel.NONE
    scan(runtime, utc(2026, 3, 9, 12))  # approved, entered Friday 11:00 Amsterdam, was due Monday 11:00
    assert alerts(runtime)[-1] == (r.rma, "approved", "overdue")
