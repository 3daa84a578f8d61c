"""Who may do what: members act on their teams' stages, leads and admins anywhere; the UI offers only that."""

from __future__ import annotations

import itertools
import re

import pytest

from hub.accounts.models import Role, Team
from hub.returns.models import Return
from hub.workflow import load_workflow
from tests.factories import make_return, make_user
from tests.web.support import (
    count,
    hx,
    login,
    login_as,
    page,
    state,
)

WF = load_workflow()
ROLES = [Role.ADMIN, Role.LEAD, Role.MEMBER]
TEAMS = ["customer_service", "logistics", "warehouse", None]
STAGES = ["new", "approved", "received"]  # one stage of each team
NEXT = {"new": "approved", "approved": "in_transit", "received": "inspected"}
ACTIONS = ["move", "claim", "flag", "assign", "shipping", "snooze"]


def _allowed(role: Role, team: str | None, stage: str) -> bool:
    return role in (Role.ADMIN, Role.LEAD) or team == WF.stages[stage].team


def _form(action: str, stage: str, teammate_id: int) -> dict[str, str]:
    return {
        "move": {"to_stage": NEXT[stage]},
        "claim": {},
        "flag": {"reason": "Waiting for photos from the customer"},
        "assign": {"assignee_id": str(teammate_id)},
        "shipping": {"carrier": "PostNL", "tracking_number": "3SABCD1234567"},
        "snooze": {"hours": "4"},
    }[action]


def _changed_as_asked(action: str, stage: str, after, user_id: int, teammate_id: int) -> bool:
    return {
        "move": after.stage == NEXT[stage],
        "claim": after.assignee_id == user_id,
        "flag": after.is_blocked and after.blocked_reason == "Waiting for photos from the customer",
        "assign": after.assignee_id == teammate_id,
        "shipping": (after.carrier, after.tracking_number) == ("PostNL", "3SABCD1234567"),
        "snooze": after.event_kinds[-1] == "snoozed",
    }[action]


def _id(value: object) -> str:
    return getattr(value, "value", None) or str(value or "no-team")


MATRIX = list(itertools.product(ROLES, TEAMS, ACTIONS))


@pytest.mark.parametrize(("role", "team", "action"), MATRIX, ids=lambda v: _id(v))
def test_the_server_allows_exactly_what_the_role_and_team_permit(client, session, workflow, role, team, action):
    # one return in a stage of each team: the same user is allowed on some and refused on others
    teammates = {s: make_user(session, team=workflow.stages[s].team, name=f"Tess {s}") for s in STAGES}
    returns = {s: make_return(session, workflow, stage=s) for s in STAGES}
    user, token = login_as(client, session, team=team, role=role)
    for stage, r in returns.items():
        teammate = teammates[stage]
        before = state(session, r.rma)
        resp = client.post(
            f"/returns/{r.rma}/{action}",
            data={**_form(action, stage, teammate.id), "version": str(before.version)},
            headers=hx(token),
        )
        after = state(session, r.rma)
        body = resp.get_data(as_text=True)
        if _allowed(role, team, stage):
            assert resp.status_code == 200, f"{stage}: {body}"
            assert _changed_as_asked(action, stage, after, user.id, teammate.id), (stage, after)
            assert after.events == before.events + 1, stage
            assert after.version == before.version + 1, stage
        else:
            assert resp.status_code == 403, f"{stage}: {body}"
            message = page(resp).find(cls="notice-error").text
            owner_name = workflow.teams[workflow.stages[stage].team].name
            assert f"“{workflow.stages[stage].name}” belongs to {owner_name}" in message, stage
            assert "only its members, leads and admins can" in message, stage
            assert after == before, stage


@pytest.mark.parametrize(("role", "team", "stage"), list(itertools.product(ROLES, TEAMS, STAGES)), ids=lambda v: _id(v))
def test_the_ui_offers_only_the_actions_the_user_may_take(client, session, workflow, role, team, stage):
    r = make_return(session, workflow, stage=stage)
    login_as(client, session, team=team, role=role)
    allowed = _allowed(role, team, stage)

    detail = page(client.get(f"/returns/{r.rma}", headers=hx()))
    actions = {f.attrs["action"].rsplit("/", 1)[-1] for f in detail.find_all("form", method="post")}
    offered = actions & {"move", "claim", "assign", "flag", "shipping"}
    assert offered == ({"move", "claim", "assign", "flag", "shipping"} if allowed else set())
    assert "comment" in actions  # anyone may comment

    card = page(client.get("/board")).by_id(f"card-{r.rma}")
    buttons = [b.attrs["data-move-to"] for b in card.find_all("button") if "data-move-to" in b.attrs]
    if allowed:
        assert buttons == list(workflow.stages[stage].next)
        assert card.attrs["data-targets"] == " ".join(workflow.stages[stage].next)
        assert "locked" not in card.classes
    else:
        assert buttons == []
        assert card.attrs["data-targets"] == ""
        assert "locked" in card.classes
        owner = workflow.teams[workflow.stages[stage].team].name
        assert card.find(cls="lock").text == f"{owner} only"


@pytest.mark.parametrize(
    ("role", "team", "closed"), list(itertools.product(ROLES, TEAMS, ["resolved", "rejected"])), ids=lambda v: _id(v)
)
def test_reopening_belongs_to_the_team_that_gets_the_return_back(client, session, workflow, role, team, closed):
    r = make_return(session, workflow, stage=closed)
    back_to = workflow.stages[closed].next[0]
    _, token = login_as(client, session, team=team, role=role)
    allowed = _allowed(role, team, back_to)

    detail = page(client.get(f"/returns/{r.rma}", headers=hx()))
    move_form = detail.find("form", action=f"/returns/{r.rma}/move")
    assert (move_form is not None) == allowed
    if allowed:
        assert move_form.find("button").text == "Reopen"

    before = state(session, r.rma)
    resp = client.post(f"/returns/{r.rma}/reopen", data={"version": str(before.version)}, headers=hx(token))
    after = state(session, r.rma)
    if allowed:
        assert resp.status_code == 200
        assert after.stage == back_to
        assert after.event_kinds[-1] == "reopened"
    else:
        assert resp.status_code == 403
        owner = workflow.teams[workflow.stages[back_to].team].name
        assert f"belongs to {owner}" in page(resp).find(cls="notice-error").text
        assert after == before


@pytest.mark.parametrize("role", ROLES, ids=_id)
@pytest.mark.parametrize("action", ["claim", "flag", "assign"])
def test_nobody_changes_the_owner_or_the_block_of_a_closed_return(client, session, workflow, role, action):
    r = make_return(session, workflow, stage="resolved")
    user, token = login_as(client, session, team="customer_service", role=role)
    before = state(session, r.rma)
    resp = client.post(
        f"/returns/{r.rma}/{action}", data={"reason": "Late", "assignee_id": str(user.id)}, headers=hx(token)
    )
    assert resp.status_code == 409
    assert "is closed" in page(resp).find(cls="notice-error").text
    assert state(session, r.rma) == before


@pytest.mark.parametrize(
    ("role", "allowed"), [(Role.ADMIN, True), (Role.LEAD, True), (Role.MEMBER, False)], ids=["admin", "lead", "member"]
)
def test_only_leads_and_admins_correct_the_shipping_of_a_closed_return(client, session, workflow, role, allowed):
    r = make_return(session, workflow, stage="resolved")
    _, token = login_as(client, session, team="customer_service", role=role)
    resp = client.post(
        f"/returns/{r.rma}/shipping", data={"carrier": "DHL", "tracking_number": "JJD1"}, headers=hx(token)
    )
    assert resp.status_code == (200 if allowed else 403)
    assert (state(session, r.rma).carrier == "DHL") == allowed


def test_a_member_of_two_teams_acts_on_the_stages_of_both(client, session, workflow):
    returns = {s: make_return(session, workflow, stage=s) for s in STAGES}
    user = make_user(session, team="logistics")
    user.teams.append(session.get(Team, "warehouse"))
    session.commit()
    token = login(client, user.email)
    codes = {s: client.post(f"/returns/{r.rma}/claim", headers=hx(token)).status_code for s, r in returns.items()}
    assert codes == {"new": 403, "approved": 200, "received": 200}


@pytest.mark.parametrize(("role", "team"), list(itertools.product(ROLES, TEAMS)), ids=lambda v: _id(v))
def test_creating_returns_is_for_customer_service_leads_and_admins(client, session, role, team):
    _, token = login_as(client, session, team=team, role=role)
    allowed = _allowed(role, team, "new")
    board = page(client.get("/board"))
    assert (board.find("a", href="/returns/new") is not None) == allowed
    resp = client.get("/returns/new")
    assert resp.status_code == (200 if allowed else 403)
    if not allowed:
        # the one refusal wording the services, the CSV import and Slack use too
        assert re.fullmatch(
            r"You can't create returns because “New request” belongs to Customer service: "
            r"only its members, leads and admins can\.",
            page(resp).find(cls="lead").text,
        )
        resp = client.post(
            "/returns/new",
            data={
                "csrf_token": token,
                "order_number": "ORD-1",
                "customer_name": "Eva",
                "customer_email": "eva@example.nl",
                "items-0-sku": "A",
                "items-0-product_name": "A",
                "items-0-quantity": "1",
                "items-0-unit_price": "1",
                "items-0-reason_code": "damaged",
            },
        )
        assert resp.status_code == 403
        assert count(session, Return) == 0
