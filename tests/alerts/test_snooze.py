"""Snooze: nothing is raised until the snooze ends; its end is on the timeline, then what is owed comes."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.models import Role
from hub.core.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from hub.returns.models import AlertLevel, Channel, Return
from hub.returns.permissions import Actor
from hub.returns.services import snooze_return
from tests.alerts.support import HOUR, alerts, events, move, scan, stored
from tests.factories import PASSWORD, SYSTEM, make_return, make_user, utc
from tests.web.support import login

# "Received — to inspect", entered Thursday 5 March 2026 10:00 Amsterdam: see test_alert_levels
WARN, DUE, ESCALATE = utc(2026, 3, 6, 6, 45), utc(2026, 3, 6, 9), utc(2026, 3, 9, 9)


@pytest.fixture
def received(session, workflow, now) -> str:
    rma = make_return(session, workflow, stage="received", now=now).rma
    session.commit()
    return rma


def _snooze(runtime, rma: str, hours: float, at) -> None:
    """Snooze in a transaction of its own, as a request does."""
    with runtime.unit_of_work() as s:
        snooze_return(s, runtime.workflow, SYSTEM, rma, hours, now=at)


def _kinds(runtime, rma: str) -> list[str]:
    return [kind if kind != "alert" else f"alert:{payload['level']}" for kind, _, payload in events(runtime, rma)]


def test_a_snoozed_return_raises_nothing_until_the_snooze_ends_then_what_is_owed(session, workflow, runtime, received):
    at = utc(2026, 3, 6, 6)
    _snooze(runtime, received, 4, at)  # until 10:00 UTC, past due soon and due
    r = stored(runtime, received)
    assert r.snoozed_until == at + 4 * HOUR
    assert r.next_alert_at == at + 4 * HOUR
    for t in (WARN, WARN + HOUR, DUE, at + 4 * HOUR - timedelta(seconds=1)):
        scan(runtime, t, times=2)
    assert alerts(runtime) == []
    scan(runtime, at + 4 * HOUR, times=3)
    assert _kinds(runtime, received) == ["created", "snoozed", "snooze_ended", "alert:overdue"]
    kind, when, payload = events(runtime, received)[2]
    assert (kind, when, payload["until"]) == ("snooze_ended", at + 4 * HOUR, (at + 4 * HOUR).isoformat())
    r = stored(runtime, received)
    assert (r.snoozed_until, r.alert_level, r.next_alert_at) == (None, AlertLevel.OVERDUE, ESCALATE)
    scan(runtime, ESCALATE, times=2)
    assert [lv for *_, lv in alerts(runtime)] == ["overdue", "escalated"]


def test_the_end_of_a_short_snooze_is_recorded_when_it_passes(session, workflow, runtime, received):
    scan(runtime, WARN)
    end = WARN + HOUR  # before the return is due
    _snooze(runtime, received, 1, WARN)
    scan(runtime, end - timedelta(seconds=1))
    assert _kinds(runtime, received) == ["created", "alert:due_soon", "snoozed"]
    scan(runtime, end, times=2)
    assert _kinds(runtime, received) == ["created", "alert:due_soon", "snoozed", "snooze_ended"]
    assert events(runtime, received)[-1][1] == end
    assert stored(runtime, received).next_alert_at == DUE
    scan(runtime, DUE, times=2)
    assert _kinds(runtime, received)[-1] == "alert:overdue"


def test_a_snooze_ends_on_the_timeline_even_when_no_alert_is_owed_any_more(session, workflow, runtime, now, received):
    promise = now + timedelta(days=14)
    scan(runtime, promise)  # escalated and promise broken: nothing more to raise in this stage
    assert stored(runtime, received).next_alert_at is None
    _snooze(runtime, received, 4, promise + HOUR)
    scan(runtime, promise + 5 * HOUR, times=2)
    assert _kinds(runtime, received)[-2:] == ["snoozed", "snooze_ended"]
    assert stored(runtime, received).next_alert_at is None


def test_a_long_snooze_delays_the_escalation_too(session, workflow, runtime, received):
    start = DUE - HOUR
    end = start + 72 * HOUR  # Monday 08:00 UTC: one hour before the escalation
    _snooze(runtime, received, 72, start)
    for t in (WARN, DUE, DUE + timedelta(days=1), end - timedelta(seconds=1)):
        scan(runtime, t, times=2)
    assert alerts(runtime) == []
    scan(runtime, end)
    assert [lv for *_, lv in alerts(runtime)] == ["overdue"]
    scan(runtime, ESCALATE)
    assert [lv for *_, lv in alerts(runtime)] == ["overdue", "escalated"]


def test_snoozing_again_moves_the_end(session, workflow, runtime, received):
    _snooze(runtime, received, 4, utc(2026, 3, 6, 6))
    _snooze(runtime, received, 4, utc(2026, 3, 6, 9, 30))
    scan(runtime, utc(2026, 3, 6, 10), times=2)  # the first snooze's end: still snoozed
    assert alerts(runtime) == []
    scan(runtime, utc(2026, 3, 6, 13, 30))
    assert _kinds(runtime, received) == ["created", "snoozed", "snoozed", "snooze_ended", "alert:overdue"]


def test_a_move_ends_the_snooze_with_the_stage_entry(runtime, received):
    _snooze(runtime, received, 72, utc(2026, 3, 6, 6))
    move(runtime, received, "inspected", utc(2026, 3, 6, 8))
    r = stored(runtime, received)
    assert r.snoozed_until is None
    # inspected (customer service 09:00-17:00): entered Friday 09:00 Amsterdam, due soon at 15:00
    assert r.next_alert_at == utc(2026, 3, 6, 14)
    scan(runtime, utc(2026, 3, 6, 14))
    assert alerts(runtime) == [(received, "inspected", "due_soon")]


# --- who may snooze, and for how long ----------------------------------------------------------------


def test_the_owning_team_and_leads_may_snooze_another_team_may_not(session, workflow, now, received):
    member = make_user(session, team="warehouse")
    outsider = make_user(session, team="customer_service")
    other_lead = make_user(session, team="logistics", role=Role.LEAD)
    session.commit()
    with pytest.raises(PermissionDenied, match="belongs to Warehouse"):
        snooze_return(session, workflow, Actor.person(outsider, Channel.WEB), received, 4, now=now)
    session.rollback()
    assert stored_snooze(session, received) is None
    snooze_return(session, workflow, Actor.person(member, Channel.WEB), received, 4, now=now)
    snooze_return(session, workflow, Actor.person(other_lead, Channel.SLACK), received, 2, now=now)
    session.commit()
    assert stored_snooze(session, received) == now + 2 * HOUR


def stored_snooze(session, rma: str):
    value = session.scalar(select(Return.snoozed_until).where(Return.rma == rma))
    session.commit()
    return value


@pytest.mark.parametrize("hours", [0, -1, 72.5, 1000, math.nan, math.inf])
def test_bad_hours_are_refused_and_change_nothing(session, workflow, now, received, hours):
    with pytest.raises(ValidationFailed) as exc:
        snooze_return(session, workflow, SYSTEM, received, hours, now=now)
    assert set(exc.value.field_errors) == {"hours"}
    assert "72" in exc.value.field_errors["hours"]
    session.rollback()
    assert stored_snooze(session, received) is None


def test_the_longest_snooze_is_three_days(session, workflow, now, received):
    snooze_return(session, workflow, SYSTEM, received, 72, now=now)
    session.commit()
    assert stored_snooze(session, received) == now + timedelta(days=3)


def test_a_closed_or_unknown_return_cannot_be_snoozed(session, workflow, now):
    rma = make_return(session, workflow, stage="resolved", now=now).rma
    session.commit()
    with pytest.raises(InvalidTransition, match="closed"):
        snooze_return(session, workflow, SYSTEM, rma, 4, now=now)
    with pytest.raises(NotFound):
        snooze_return(session, workflow, SYSTEM, "RMA-404", 4, now=now)


# --- the board's snooze button ---------------------------------------------------------------------------


def test_the_snooze_form_works_for_a_member_of_the_owning_team(client, session, runtime, clock, received):
    user = make_user(session, team="warehouse")
    session.commit()
    token = login(client, user.email, PASSWORD)
    resp = client.post(f"/returns/{received}/snooze", data={"hours": "4", "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert stored(runtime, received).snoozed_until == clock.now + 4 * HOUR
    kind, when, payload = events(runtime, received)[-1]
    assert (kind, when, payload["hours"]) == ("snoozed", clock.now, 4)
    page = client.get(f"/returns/{received}").get_data(as_text=True)
    assert "Snoozed until" in page
    assert "snoozed the delay alerts" in page


def test_the_snooze_form_needs_the_csrf_token(client, session, runtime, received):
    user = make_user(session, team="warehouse")
    session.commit()
    login(client, user.email, PASSWORD)
    resp = client.post(f"/returns/{received}/snooze", data={"hours": "4"})
    assert resp.status_code == 400
    assert stored(runtime, received).snoozed_until is None


def test_the_snooze_form_refuses_another_team_and_bad_hours(app, client, session, runtime, received):
    outsider = make_user(session, team="logistics")
    member = make_user(session, team="warehouse")
    session.commit()
    token = login(client, outsider.email, PASSWORD)
    resp = client.post(
        f"/returns/{received}/snooze", data={"hours": "4", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert resp.status_code == 403
    assert "belongs to Warehouse" in resp.get_data(as_text=True)

    other = app.test_client()
    token = login(other, member.email, PASSWORD)
    resp = other.post(
        f"/returns/{received}/snooze", data={"hours": "100", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert resp.status_code == 422
    assert "at most 72 hours" in resp.get_data(as_text=True)
    assert other.post(f"/returns/{received}/snooze", data={"hours": "soon", "csrf_token": token}).status_code == 400
    assert stored(runtime, received).snoozed_until is None
