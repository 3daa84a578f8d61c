"""Daily digests: contents, the team's local working day and time, once per day, routing."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, time
from zoneinfo import ZoneInfo

import pytest

from hub.alerts.digests import DIGEST_LIST, build_digest, digest_due, send_digest
from hub.returns.services import assign_return, flag_return
from hub.workflow import load_workflow, parse_workflow
from jobs.digests import run_digests
from tests.alerts.support import digests, move
from tests.factories import SYSTEM, make_return, make_returns, make_user, utc, with_team, workflow_toml

THURSDAY_9 = utc(2026, 3, 5, 8)  # 09:00 in Amsterdam, where the default teams are
ALL_TEAMS = ["customer_service", "logistics", "warehouse"]


def digest_of(runtime, team: str, channel: str = "email") -> dict:
    found = [n.payload for n in digests(runtime) if n.payload["team"] == team and n.channel == channel]
    assert len(found) == 1, found
    return found[0]


def rmas(rows: list[dict]) -> list[str]:
    return [r["rma"] for r in rows]


@pytest.fixture
def warehouse_returns(session, workflow) -> dict[str, str]:
    """Returns of the warehouse in every state the digest reports on (and some it must leave out)."""
    at = {  # when each entered "received"; the warehouse works 07:00-16:00 Amsterdam, 9 hours a day
        "wednesday": utc(2026, 3, 4, 6),  # due Wednesday 16:00 Amsterdam
        "monday": utc(2026, 3, 2, 9),  # due Tuesday 10:00
        "tuesday": utc(2026, 3, 3, 9),  # due Wednesday 10:00
        "due_today": utc(2026, 3, 4, 15),  # entered at closing: due Thursday 16:00
        "tomorrow": THURSDAY_9,  # due Friday 09:00
    }
    made = {key: make_return(session, workflow, stage="received", now=when).rma for key, when in at.items()}
    worker = make_user(session, team="warehouse", name="Wim Warehouse")
    assign_return(session, workflow, SYSTEM, made["monday"], worker, now=THURSDAY_9)
    flag_return(session, workflow, SYSTEM, made["tuesday"], "waiting for the carrier's photos", now=THURSDAY_9)
    made["other_team"] = make_return(session, workflow, stage="new", now=utc(2026, 3, 2, 9)).rma
    made["closed"] = make_return(session, workflow, stage="resolved", now=utc(2026, 3, 2, 9)).rma
    session.commit()
    return made


def test_the_digest_counts_and_lists_what_the_team_must_look_at(session, workflow, warehouse_returns):
    made = warehouse_returns
    d = build_digest(session, workflow, workflow.teams["warehouse"], THURSDAY_9)
    assert (d["team"], d["team_name"], d["date"]) == ("warehouse", "Warehouse", "2026-03-05")
    assert d["open_count"] == 5
    assert d["overdue_count"] == 3
    assert rmas(d["overdue"]) == [made["monday"], made["tuesday"], made["wednesday"]]  # oldest first
    assert d["overdue"][0] == {
        "rma": made["monday"],
        "customer_name": "Sanne de Vries",
        "stage_name": "Received — to inspect",
        "due_at": "2026-03-03T09:00:00+00:00",
        "assignee": "Wim Warehouse",
    }
    assert (d["due_today_count"], rmas(d["due_today"])) == (1, [made["due_today"]])
    assert (d["blocked_count"], rmas(d["blocked"])) == (1, [made["tuesday"]])
    assert d["unassigned_count"] == 4
    assert rmas(d["unassigned"]) == [made["tuesday"], made["wednesday"], made["due_today"], made["tomorrow"]]
    listed = {r for key in ("overdue", "due_today", "blocked", "unassigned") for r in rmas(d[key])}
    assert made["other_team"] not in listed
    assert made["closed"] not in listed


def test_due_today_ends_at_the_teams_local_midnight(session, workflow, warehouse_returns):
    late = make_return(session, workflow, stage="received", now=utc(2026, 3, 5, 14, 30)).rma  # due Fri 07:30
    session.commit()
    late_evening = utc(2026, 3, 5, 22, 59)  # 23:59 in Amsterdam: still Thursday there
    d = build_digest(session, workflow, workflow.teams["warehouse"], late_evening)
    assert d["date"] == "2026-03-05"
    assert late not in rmas(d["due_today"])
    friday = build_digest(session, workflow, workflow.teams["warehouse"], utc(2026, 3, 5, 23, 1))
    assert friday["date"] == "2026-03-06"
    assert late in rmas(friday["due_today"])


def test_the_counts_are_complete_when_the_lists_are_cut(session, workflow, runtime):
    made = make_returns(session, workflow, DIGEST_LIST + 5, stage="received", now=utc(2026, 3, 2, 9))
    session.commit()
    runtime.clock = lambda: THURSDAY_9
    assert "warehouse" in run_digests(runtime)
    d = digest_of(runtime, "warehouse")
    assert (d["open_count"], d["overdue_count"], d["unassigned_count"]) == (20, 20, 20)
    assert len(d["overdue"]) == len(d["unassigned"]) == DIGEST_LIST
    assert set(rmas(d["overdue"])) <= set(made)


# --- when a digest is due ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "due"),
    [
        (utc(2026, 3, 5, 7, 59), None),  # Thursday 08:59 in Amsterdam: before the digest time
        (utc(2026, 3, 5, 8, 0), date(2026, 3, 5)),  # 09:00
        (utc(2026, 3, 5, 22, 30), date(2026, 3, 5)),  # 23:30: a worker that was down still sends today's
        (utc(2026, 3, 7, 9), None),  # Saturday
        (utc(2026, 3, 8, 9), None),  # Sunday
        (utc(2026, 3, 30, 7), date(2026, 3, 30)),  # Monday after the switch to summer time: 09:00 CEST
        (utc(2026, 3, 30, 6, 59), None),  # 08:59 CEST (it would be 07:59 CET)
    ],
)
def test_a_digest_is_due_after_the_digest_time_on_a_working_day(moment, due):
    assert digest_due(load_workflow().teams["warehouse"], moment) == due


def test_no_digest_on_a_holiday(session, workflow, runtime):
    wf = with_team(workflow, "warehouse", holidays=frozenset({date(2026, 3, 5)}))
    rt = replace(runtime, workflow=wf)
    rt.clock = lambda: THURSDAY_9
    assert run_digests(rt) == ["customer_service", "logistics"]
    rt.clock = lambda: utc(2026, 3, 6, 8)
    assert run_digests(rt) == ALL_TEAMS


def test_the_digest_time_is_the_teams_local_time(workflow, runtime):
    wf = with_team(workflow, "warehouse", timezone=ZoneInfo("America/New_York"))
    wf = with_team(wf, "logistics", digest_time=time(7, 30))
    rt = replace(runtime, workflow=wf)
    for moment, sent in [
        (utc(2026, 3, 5, 6, 29), []),  # 07:29 in Amsterdam
        (utc(2026, 3, 5, 6, 30), ["logistics"]),
        (utc(2026, 3, 5, 8), ["customer_service"]),
        (utc(2026, 3, 5, 13, 59), []),  # 08:59 in New York (EST)
        (utc(2026, 3, 5, 14), ["warehouse"]),
        # Monday after the US switch to summer time (Europe switches three weeks later)
        (utc(2026, 3, 9, 6, 30), ["logistics"]),
        (utc(2026, 3, 9, 8), ["customer_service"]),
        (utc(2026, 3, 9, 12, 59), []),
        (utc(2026, 3, 9, 13), ["warehouse"]),  # 09:00 EDT
    ]:
        rt.clock = lambda m=moment: m
        assert run_digests(rt) == sent, moment


def test_the_working_day_is_the_teams_local_day(workflow, runtime):
    tokyo = with_team(workflow, "warehouse", timezone=ZoneInfo("Asia/Tokyo"))
    team = tokyo.teams["warehouse"]
    assert digest_due(team, utc(2026, 3, 8, 23, 59)) is None  # Monday 08:59 in Tokyo, Sunday in UTC
    assert digest_due(team, utc(2026, 3, 9, 0)) == date(2026, 3, 9)
    assert digest_due(team, utc(2026, 3, 6, 23, 30)) is None  # Saturday in Tokyo, Friday in UTC
    new_york = with_team(workflow, "warehouse", timezone=ZoneInfo("America/New_York")).teams["warehouse"]
    assert digest_due(new_york, utc(2026, 3, 7, 1)) == date(2026, 3, 6)  # Friday 20:00 in New York


# --- once a day ------------------------------------------------------------------------------------------


def test_a_digest_goes_out_once_a_day_however_often_the_job_runs(runtime):
    runtime.clock = lambda: THURSDAY_9
    assert run_digests(runtime) == ALL_TEAMS
    assert run_digests(runtime) == []
    runtime.clock = lambda: utc(2026, 3, 5, 15)
    assert run_digests(runtime) == []
    assert len(digests(runtime)) == 6
    runtime.clock = lambda: utc(2026, 3, 6, 8)
    assert run_digests(runtime) == ALL_TEAMS
    assert run_digests(runtime, "warehouse") == []
    assert len(digests(runtime)) == 12
    assert {n.payload["date"] for n in digests(runtime)} == {"2026-03-05", "2026-03-06"}


def test_two_workers_send_one_digest(runtime):
    runtime.clock = lambda: THURSDAY_9
    barrier = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(run_digests(runtime))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(team for sent in results for team in sent) == ALL_TEAMS
    assert len(digests(runtime)) == 6


def test_a_forced_digest_goes_out_on_a_weekend_once(session, workflow):
    team = workflow.teams["warehouse"]
    saturday = utc(2026, 3, 7, 10)
    assert send_digest(session, workflow, team, saturday) is False
    assert send_digest(session, workflow, team, saturday, force=True) is True
    assert send_digest(session, workflow, team, saturday, force=True) is False
    session.commit()


def test_the_digest_goes_to_the_teams_slack_channel_and_email(runtime):
    runtime.clock = lambda: THURSDAY_9
    run_digests(runtime)
    routes = {(n.payload["team"], n.channel, n.recipient) for n in digests(runtime)}
    assert routes == {
        ("customer_service", "slack", "#returns-customer-service"),
        ("customer_service", "email", "customer-service@shop.example"),
        ("logistics", "slack", "#returns-logistics"),
        ("logistics", "email", "logistics@shop.example"),
        ("warehouse", "slack", "#returns-warehouse"),
        ("warehouse", "email", "warehouse@shop.example"),
    }
    assert all(n.return_id is None for n in digests(runtime))


def test_a_team_with_digest_time_false_gets_none(runtime):
    wf = parse_workflow(workflow_toml(teams={"warehouse": {"digest_time": False}}))
    assert wf.teams["warehouse"].digest_time is None
    rt = replace(runtime, workflow=wf)
    for moment in (THURSDAY_9, utc(2026, 3, 5, 15), utc(2026, 3, 6, 8)):
        rt.clock = lambda m=moment: m
        assert "warehouse" not in run_digests(rt)
        assert digest_due(wf.teams["warehouse"], moment) is None
    assert {n.payload["team"] for n in digests(rt)} == {"customer_service", "logistics"}


def test_the_digest_follows_the_return_to_its_new_team(session, workflow, runtime):
    rma = make_return(session, workflow, stage="received", now=utc(2026, 3, 2, 9)).rma
    session.commit()
    move(runtime, rma, "inspected", utc(2026, 3, 4, 9))  # customer service: due Thursday 10:00 Amsterdam
    runtime.clock = lambda: utc(2026, 3, 5, 8)
    run_digests(runtime)
    assert digest_of(runtime, "warehouse")["open_count"] == 0
    cs = digest_of(runtime, "customer_service")
    assert (cs["open_count"], rmas(cs["overdue"]), rmas(cs["due_today"])) == (1, [], [rma])
