"""Demo data: every stage populated, histories consistent with the workflow, realistic mixes.

(`returns-hub seed-demo`: tests/cli/test_demo.py.)
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts.models import Role, User
from hub.accounts.services import authenticate
from hub.core.db import make_session_factory
from hub.demo.seed import DEMO_PASSWORD, MAIL_DOMAINS, DemoDataError, demo_logins, seed_demo
from hub.returns.models import Channel, Comment, Event, Return, ReturnItem
from hub.workflow import Workflow, parse_workflow
from hub.workflow.calendar import due_at
from tests.factories import NOW, make_return, make_user

PER_STAGE = 40
SIZE_REASONS = {"too_small", "too_large"}
FAULT_REASONS = {"defective", "damaged", "missing_parts"}


@pytest.fixture(scope="class")
def seeded(engine, empty_database, workflow):
    """The default workflow seeded once with PER_STAGE returns a stage, for the read-only tests of a class."""
    with make_session_factory(engine).begin() as s:
        summary = seed_demo(s, workflow, now=NOW, returns_per_stage=PER_STAGE)
    yield summary
    empty_database()


@pytest.fixture
def reader(engine, seeded):
    """A session on the seeded database; whatever a test changes is rolled back."""
    with make_session_factory(engine)() as s:
        yield s
        s.rollback()


def _returns(session: Session) -> list[Return]:
    return list(session.scalars(select(Return).order_by(Return.id)))


def _events(session: Session) -> dict[int, list[Event]]:
    out: dict[int, list[Event]] = defaultdict(list)
    for e in session.scalars(select(Event).order_by(Event.id)):
        out[e.return_id].append(e)
    return out


def assert_histories_consistent(session: Session, workflow: Workflow, now) -> None:
    """Each return's event log replays, move by move along allowed transitions, to its stored state."""
    events = _events(session)
    for r in _returns(session):
        log = events[r.id]
        assert log[0].kind == "created", r.rma
        assert log[0].created_at == r.created_at
        times = [e.created_at for e in log]
        assert times == sorted(times), r.rma
        assert times[-1] <= now
        stage = log[0].to_stage
        entered = log[0].created_at
        for e in log[1:]:
            if e.to_stage is None:
                continue
            assert e.kind in ("moved", "closed", "reopened"), r.rma
            assert e.from_stage == stage, r.rma
            assert workflow.allows(stage, e.to_stage), (r.rma, stage, e.to_stage)
            stage, entered = e.to_stage, e.created_at
        assert (r.stage, r.stage_entered_at) == (stage, entered), r.rma
        s = workflow.stages[r.stage]
        assert (r.closed_at is not None) == s.closed
        if s.closed:
            assert r.closed_at == r.stage_entered_at
            assert r.stage_due_at is None
            assert not r.is_blocked
            assert r.assignee_id is None
        else:
            assert r.stage_due_at == due_at(r.stage_entered_at, s.sla, workflow.team_of(r.stage))
        assert (r.resolution is not None) == s.requires_resolution
        assert r.promised_by == r.created_at + timedelta(days=workflow.promise_days)
        assert r.version == 1 + sum(1 for e in log[1:] if e.kind != "commented")


class TestSeededDefaultWorkflow:
    """Read-only checks of one seeding of the default workflow."""

    def test_every_stage_gets_the_requested_number_of_returns(self, reader, workflow, seeded):
        counts = dict(reader.execute(select(Return.stage, func.count()).group_by(Return.stage)).all())
        assert counts == {key: PER_STAGE for key in workflow.stages}
        assert seeded.returns_by_stage == counts
        assert seeded.returns == PER_STAGE * len(workflow.stages)
        assert seeded.events == reader.scalar(select(func.count()).select_from(Event))

    def test_each_history_follows_the_workflow_and_matches_the_stored_state(self, reader, workflow, seeded):
        assert_histories_consistent(reader, workflow, NOW)

    def test_older_stages_hold_older_returns(self, reader, workflow, seeded):
        ages: dict[str, list[float]] = defaultdict(list)
        for r in _returns(reader):
            ages[r.stage].append((NOW - r.created_at).total_seconds())
        median = {k: sorted(v)[len(v) // 2] for k, v in ages.items()}
        open_keys = [s.key for s in workflow.open_stages]
        assert [median[k] for k in open_keys] == sorted(median[k] for k in open_keys)
        assert median["resolved"] > median["inspected"]

    def test_open_stages_mix_on_time_due_soon_and_overdue(self, reader, workflow, seeded):
        states = Counter()
        for r in _returns(reader):
            if r.closed_at is not None:
                continue
            if r.stage_due_at <= NOW:
                states[r.stage, "overdue"] += 1
            elif r.stage_warn_at <= NOW:
                states[r.stage, "due_soon"] += 1
            else:
                states[r.stage, "on_time"] += 1
        for stage in workflow.open_stages:
            assert states[stage.key, "overdue"] >= 1, stage.key
            assert states[stage.key, "on_time"] > PER_STAGE / 2, stage.key
        assert sum(n for (_, state), n in states.items() if state == "due_soon") >= len(workflow.open_stages)
        assert sum(seeded.overdue_by_stage.values()) == sum(n for (_, s), n in states.items() if s == "overdue")

    def test_some_open_returns_are_blocked_with_a_reason_and_some_are_assigned(self, reader, workflow, seeded):
        returns = _returns(reader)
        open_ = [r for r in returns if r.closed_at is None]
        blocked = [r for r in open_ if r.is_blocked]
        assert 0 < len(blocked) < len(open_) / 4
        assert all(len(r.blocked_reason) > 10 for r in blocked)
        assert len({r.blocked_reason for r in blocked}) > 5
        events = _events(reader)
        for r in blocked:
            assert events[r.id][-1].kind in ("flagged", "claimed", "commented")
            assert any(e.kind == "flagged" and e.payload["reason"] == r.blocked_reason for e in events[r.id])
        assigned = [r for r in open_ if r.assignee is not None]
        assert len(open_) / 5 < len(assigned) < len(open_) * 0.8
        for r in assigned:
            team = workflow.stages[r.stage].team
            assert team in r.assignee.team_keys or r.assignee.role in (Role.LEAD, Role.ADMIN)
        assert seeded.comments == reader.scalar(select(func.count()).select_from(Comment)) > 0
        assert sum(seeded.blocked_by_stage.values()) == len(blocked)

    def test_a_few_skus_come_back_far_more_often_than_the_rest(self, reader, seeded):
        counts = Counter(reader.scalars(select(ReturnItem.sku)))
        ranked = counts.most_common()
        total = sum(counts.values())
        assert len(counts) >= 25
        assert sum(n for _, n in ranked[:3]) > 0.35 * total
        assert ranked[0][1] > 10 * ranked[-1][1]

    def test_reasons_fit_the_product(self, reader, workflow, seeded):
        by_category: dict[str, Counter] = defaultdict(Counter)
        for item in reader.scalars(select(ReturnItem)):
            by_category[item.category][item.reason_code] += 1
            assert item.reason_code in workflow.reasons
            assert item.unit_price > 0
        apparel, electronics = by_category["apparel"], by_category["electronics"]
        assert sum(apparel[r] for r in SIZE_REASONS) > 0.5 * apparel.total()
        assert sum(electronics[r] for r in SIZE_REASONS) == 0
        assert sum(electronics[r] for r in FAULT_REASONS) > 0.5 * electronics.total()

    def test_returns_past_approval_have_a_carrier_and_tracking_number(self, reader, workflow, seeded):
        shipped_stages = {"in_transit", "received", "inspected", "resolved"}
        for r in _returns(reader):
            if r.stage in shipped_stages:
                assert r.carrier, r.rma
                assert r.tracking_number, r.rma
            elif r.stage in ("new", "approved"):
                assert (r.carrier, r.tracking_number) == (None, None), r.rma
        ups = reader.scalars(select(Return.tracking_number).where(Return.carrier == "UPS")).all()
        assert ups
        assert all(t.startswith("1Z") and len(t) == 18 for t in ups)

    def test_customers_have_realistic_names_emails_and_locales(self, reader, seeded):
        returns = _returns(reader)
        locales = Counter(r.customer_locale for r in returns)
        assert set(locales) <= {"en", "nl", "de"}
        assert locales["en"] + locales["nl"] > 0.75 * len(returns)
        assert all(r.customer_email.rsplit("@", 1)[1] in MAIL_DOMAINS for r in returns)
        assert len({r.customer_name for r in returns}) > len(returns) / 2
        assert any(" van " in f" {r.customer_name} " for r in returns if r.customer_locale == "nl")
        assert all(r.delivered_on is not None and r.delivered_on <= r.created_at.date() for r in returns)
        assert len({r.order_number for r in returns}) == len(returns)

    def test_the_history_claims_only_doors_the_app_has(self, reader, workflow, seeded):
        """No customer portal or API exists: returns come in through customer service (the new-return
        form or Slack) or a CSV import of the shop's returns, and people work them on the web and in Slack."""
        logs = _events(reader).values()
        events = [e for log in logs for e in log]
        assert {e.channel for e in events} <= {Channel.WEB, Channel.SLACK, Channel.CLI}
        assert not [e.actor_label for e in events if re.search(r"portal|customer|api\b", e.actor_label, re.I)]
        created = [log[0] for log in logs]
        by_channel = Counter(e.channel for e in created)
        assert set(by_channel) == {Channel.WEB, Channel.SLACK, Channel.CLI}
        assert by_channel[Channel.WEB] > by_channel[Channel.SLACK]
        first_team = workflow.initial_stage.team
        for e in created:
            if e.channel is Channel.CLI:
                # as `returns-hub import FILE` records it
                assert e.actor is None, e.actor_label
                assert re.fullmatch(r"CSV import shop-returns-\d{4}-\d{2}-\d{2}\.csv", e.actor_label), e.actor_label
            else:  # someone who may open returns, in the first stage (the form and Slack start there)
                assert e.actor is not None
                assert e.actor_label == e.actor.name
                assert first_team in e.actor.team_keys or e.actor.role in (Role.LEAD, Role.ADMIN), e.actor_label
                assert e.to_stage == workflow.initial_stage.key
        # moves, comments, claims and flags are people's, on the web or in Slack
        worked = [e for log in logs for e in log[1:]]
        assert all(e.actor is not None for e in worked)
        assert {e.channel for e in worked} == {Channel.WEB, Channel.SLACK}

    def test_every_demo_login_works_with_its_role_and_team(self, reader, workflow, seeded):
        logins = seeded.logins
        assert logins == demo_logins(workflow)
        assert [x.role for x in logins].count("admin") == 1
        for key in workflow.teams:
            assert {x.role for x in logins if x.team == key} == {"lead", "member"}
        for login in logins:
            user = authenticate(reader, login.email, DEMO_PASSWORD)
            assert user is not None, login.email
            assert user.role.value == login.role
            assert user.team_keys == ({login.team} if login.team else frozenset())


def _snapshot(session: Session) -> list[tuple]:
    return [
        (
            r.rma,
            r.customer_name,
            r.customer_email,
            r.stage,
            r.stage_entered_at,
            r.assignee.email if r.assignee else None,
            r.blocked_reason,
            r.tracking_number,
            tuple((i.sku, i.reason_code, i.reason_note) for i in r.items),
            tuple((e.kind, e.created_at, e.actor_label) for e in r.events),
        )
        for r in _returns(session)
    ]


def test_the_same_seed_makes_the_same_data(session, workflow, now):
    seed_demo(session, workflow, now=now, returns_per_stage=5, seed=7)
    first = _snapshot(session)
    session.rollback()
    seed_demo(session, workflow, now=now, returns_per_stage=5, seed=7)
    assert _snapshot(session) == first
    session.rollback()
    seed_demo(session, workflow, now=now, returns_per_stage=5, seed=8)
    assert _snapshot(session) != first


def test_refuses_a_database_that_already_has_returns(session, workflow, now):
    make_return(session, workflow, now=now)
    with pytest.raises(DemoDataError, match="already holds 1 return"):
        seed_demo(session, workflow, now=now, returns_per_stage=2)
    assert session.scalar(select(func.count()).select_from(Return)) == 1
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_refuses_when_the_demo_users_exist(session, workflow, now):
    make_user(session, email="admin@demo.example", team=None)
    with pytest.raises(DemoDataError, match="admin@demo.example"):
        seed_demo(session, workflow, now=now, returns_per_stage=2)


def test_other_users_do_not_stop_seeding(session, workflow, now):
    make_user(session, email="owner@shop.example", role=Role.ADMIN, team=None)
    summary = seed_demo(session, workflow, now=now, returns_per_stage=1)
    assert summary.returns == len(workflow.stages)


CUSTOM = """
promise_days = 10

[teams.support]
name = "Support"
timezone = "Europe/Berlin"
working_hours = ["08:30", "16:30"]

[teams.depot]
name = "Depot"
timezone = "Europe/London"
working_days = ["mon", "tue", "wed", "thu", "fri", "sat"]

[[stages]]
key = "intake"
name = "Intake"
team = "support"
sla = "4 business hours"
next = ["pickup", "declined"]

[[stages]]
key = "pickup"
name = "Pickup"
team = "depot"
sla = "2 calendar days"
next = ["quality_check"]

[[stages]]
key = "quality_check"
name = "Quality check"
team = "depot"
sla = "2 business days"
next = ["settle", "intake"]

[[stages]]
key = "settle"
name = "Settle"
team = "support"
sla = "1 business day"
next = ["done", "declined"]

[[stages]]
key = "done"
name = "Done"
closed = true
requires_resolution = true
next = ["settle"]

[[stages]]
key = "declined"
name = "Declined"
closed = true
requires_note = true
next = ["intake"]

[policy]
allowed_resolutions = ["refund", "store_credit"]
non_returnable_categories = ["toys"]

[[reasons]]
code = "defective"
label = "Defective"

[[reasons]]
code = "changed_mind"
label = "Changed mind"
"""


def test_seeds_any_valid_workflow(session, now):
    wf = parse_workflow(CUSTOM, source="custom.toml")
    summary = seed_demo(session, wf, now=now, returns_per_stage=8)
    assert summary.returns_by_stage == {key: 8 for key in wf.stages}
    assert {x.team for x in summary.logins} == {None, "support", "depot"}
    assert_histories_consistent(session, wf, now)
    items = session.scalars(select(ReturnItem)).all()
    assert {i.reason_code for i in items} <= {"defective", "changed_mind"}
    assert "toys" not in {i.category for i in items}
    assert {r.resolution.value for r in _returns(session) if r.stage == "done"} <= {"refund", "store_credit"}


def test_the_made_up_history_sends_nothing(session, workflow):
    from hub.notifications.models import Notification

    seed_demo(session, workflow, now=NOW, returns_per_stage=3)
    assert session.scalar(select(func.count()).select_from(Notification)) == 0
