"""The board: columns and counts, SLA badges, cards, filters and search, fragments, "show more", the live feed
and moves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.accounts.models import Role
from hub.app import create_app
from hub.core.db import make_session_factory
from hub.core.runtime import Runtime
from hub.returns import services as svc
from hub.returns.drafts import ItemDraft
from hub.returns.models import Channel
from hub.returns.permissions import Actor
from hub.returns.queries import sla_state
from hub.workflow import parse_workflow
from tests.factories import SYSTEM, make_return, make_user, workflow_toml
from tests.web.support import (
    card_ids,
    column_count,
    hx,
    login,
    login_as,
    page,
    parse,
    state,
)

ALL_STAGES = ["new", "approved", "in_transit", "received", "inspected", "resolved", "rejected"]


pytestmark = pytest.mark.usefixtures("frozen_clock")


def _item(sku: str, reason: str = "too_small") -> ItemDraft:
    return ItemDraft(sku=sku, product_name=f"Product {sku}", quantity=1, unit_price="10.00", reason_code=reason)


def _all_cards(tree) -> set[str]:
    return {n.attrs["data-rma"] for n in tree.find_all("li", cls="card")}


def _columns(tree) -> list[str]:
    return [n.attrs["data-stage"] for n in tree.find_all("section", cls="column")]


# --- columns, groups and counts -----------------------------------------------------------------


def test_columns_are_grouped_under_their_teams_in_workflow_order(client, session):
    login_as(client, session)
    tree = page(client.get("/board"))
    groups = [
        (g.attrs["aria-label"], [c.attrs["data-stage"] for c in g.find_all("section", cls="column")])
        for g in tree.find_all("section", cls="team-group")
    ]
    # a team may own two groups: each group's name also names its stages, so the landmarks stay unique
    assert groups == [
        ("Customer service: New request", ["new"]),
        ("Logistics: Approved — label / pickup, In transit", ["approved", "in_transit"]),
        ("Warehouse: Received — to inspect", ["received"]),
        ("Customer service: Inspected — to resolve", ["inspected"]),
        ("Closed: Resolved, Rejected", ["resolved", "rejected"]),
    ]
    assert [g.find("h2").text for g in tree.find_all("section", cls="team-group")] == [
        "Customer service",
        "Logistics",
        "Warehouse",
        "Customer service",
        "Closed",
    ]
    assert tree.find("h1").text == "Board"
    assert tree.by_id("head-new").find("h3").text == "New request"
    assert tree.by_id("head-in_transit").find(cls="column-sla").text == "SLA 5 calendar days"
    assert tree.by_id("head-resolved").find(cls="column-sla").text == "Closed in the last 14 days"
    assert tree.by_id("col-resolved").attrs["data-requires"] == "resolution"
    assert tree.by_id("col-rejected").attrs["data-requires"] == "note"
    assert tree.by_id("col-new").find(cls="empty").text == "Nothing here"


def test_counts_are_exact_and_every_card_sits_in_its_stage(client, session, workflow, now):
    made: dict[str, list[str]] = {s: [] for s in ALL_STAGES}
    for stage, n in {"new": 3, "approved": 2, "in_transit": 1, "inspected": 1, "rejected": 1}.items():
        for i in range(n):
            made[stage].append(make_return(session, workflow, stage=stage, now=now - timedelta(hours=n - i)).rma)
    older = make_return(session, workflow, stage="resolved", now=now - timedelta(days=2)).rma
    newer = make_return(session, workflow, stage="resolved", now=now - timedelta(days=1)).rma
    make_return(session, workflow, stage="resolved", now=now - timedelta(days=15))  # closed too long ago
    made["resolved"] = [newer, older]  # closed columns: newest first
    login_as(client, session)
    tree = page(client.get("/board"))
    for stage in ALL_STAGES:
        assert column_count(tree, stage) == len(made[stage]), stage
        assert card_ids(tree, stage) == made[stage], stage  # open columns: oldest first
    assert tree.by_id("head-resolved").find(cls="count").attrs["title"] == "2 returns closed in the last 14 days"
    assert tree.by_id("head-in_transit").find(cls="count").attrs["title"] == "1 return"


def _app_with_wip_limit(settings, db, limit: int):
    wf = parse_workflow(workflow_toml(stages={"new": {"wip_limit": limit}}), source="test workflow")
    assert wf.stages["new"].wip_limit == limit
    return create_app(runtime=Runtime(settings, wf, db, make_session_factory(db)), TESTING=True), wf


def test_the_wip_limit_is_marked_only_once_a_column_holds_more(settings, db, session, now):
    app, wf = _app_with_wip_limit(settings, db, 3)
    app.extensions["hub.core.runtime"].clock = lambda: now
    client = app.test_client()
    for _ in range(3):
        make_return(session, wf, now=now)
    user = make_user(session)
    session.commit()
    login(client, user.email)
    wip = page(client.get("/board")).by_id("head-new").find(cls="wip")
    assert wip.classes == {"wip"}
    assert wip.text == "/ 3"
    assert wip.attrs["title"] == "WIP limit 3"
    make_return(session, wf, now=now)
    session.commit()
    tree = page(client.get("/board"))
    wip = tree.by_id("head-new").find(cls="wip")
    assert wip.classes == {"wip", "over"}
    assert wip.text == "/ 3 over limit"
    assert wip.attrs["title"] == "Over the WIP limit of 3"
    assert column_count(tree, "new") == 4
    assert tree.by_id("head-in_transit").find(cls="wip") is None  # no limit configured


# --- SLA badges and overdue counts ----------------------------------------------------------------


def _sla_returns(session, workflow, now) -> dict[str, str]:
    """One return on time, one due soon and one overdue in "New request", checked against the clock."""
    made = {
        "on_time": make_return(session, workflow, now=now),  # due Fri 10:00
        "due_soon": make_return(session, workflow, now=now - timedelta(hours=22, minutes=30)),  # Wed 11:30
        "overdue": make_return(session, workflow, now=now - timedelta(days=2)),  # Tue 10:00
    }
    for expected, r in made.items():
        assert sla_state(r.stage_due_at, r.stage_warn_at, None, now) == expected
    session.commit()
    return {k: r.rma for k, r in made.items()}


def test_cards_show_their_sla_state_and_columns_count_overdue_and_due_soon(client, session, workflow, now):
    rmas = _sla_returns(session, workflow, now)
    overdue_elsewhere = make_return(session, workflow, stage="approved", now=now - timedelta(days=3))
    login_as(client, session)
    tree = page(client.get("/board"))
    labels = {"on_time": "On time", "due_soon": "Due soon", "overdue": "Overdue"}
    for expected, rma in rmas.items():
        card = tree.by_id(f"card-{rma}")
        assert f"sla-{expected}" in card.classes
        badge = card.find(cls="sla-badge")
        assert badge.text == labels[expected]
        assert f"sla-{expected}" in badge.classes
    # due times are shown in the user's team's zone (Amsterdam)
    assert tree.by_id(f"card-{rmas['on_time']}").find(cls="sla-badge").attrs["title"] == "Due Fri 06 Mar 10:00"
    head = tree.by_id("head-new")
    assert head.find(cls="overdue").text == "1 overdue"
    assert head.find(cls="due-soon").text == "1 due soon"
    assert tree.by_id("head-approved").find(cls="overdue").text == "1 overdue"
    assert tree.by_id("head-approved").find(cls="due-soon") is None
    assert tree.by_id(f"card-{overdue_elsewhere.rma}").find(cls="sla-badge").text == "Overdue"


def test_sla_badges_follow_the_clock(client, session, workflow, runtime, now):
    rmas = _sla_returns(session, workflow, now)
    login_as(client, session)
    runtime.clock = lambda: now + timedelta(days=1)  # Friday 10:00: everything is late
    tree = page(client.get("/board"))
    assert {tree.by_id(f"card-{rma}").find(cls="sla-badge").text for rma in rmas.values()} == {"Overdue"}
    assert tree.by_id("head-new").find(cls="overdue").text == "3 overdue"
    assert tree.by_id("head-new").find(cls="due-soon") is None


def test_a_card_shows_rma_customer_first_sku_more_items_reason_assignee_and_time_in_stage(
    client, session, workflow, now
):
    jan = make_user(session, name="Jan de Boer")
    r = make_return(
        session,
        workflow,
        now=now - timedelta(days=2, hours=3),
        customer_name="Mila Visser",
        priority="urgent",
        items=[_item("COAT-GRN-L", "damaged"), _item("SCARF-01"), _item("HAT-02")],
    )
    svc.assign_return(session, workflow, SYSTEM, r.rma, jan, now=now - timedelta(days=2, hours=3))
    svc.flag_return(session, workflow, SYSTEM, r.rma, "Photos requested", now=now - timedelta(days=2, hours=3))
    single = make_return(session, workflow, now=now, items=[_item("SOCKS-9", "changed_mind")])
    login_as(client, session)
    tree = page(client.get("/board"))
    card = tree.by_id(f"card-{r.rma}")
    link = card.find("a", cls="rma")
    assert link.text == r.rma
    assert link.attrs["href"] == f"/returns/{r.rma}"
    assert link.attrs["hx-get"] == f"/returns/{r.rma}"
    assert link.attrs["hx-target"] == "#panel"
    assert card.find(cls="customer").text == "Mila Visser"
    assert card.find(cls="item").text == "COAT-GRN-L +2 more"
    assert card.find(cls="item").attrs["title"] == "Product COAT-GRN-L"
    assert card.find(cls="reason").text == "Arrived damaged"
    avatar = card.find(cls="avatar")
    assert avatar.text == "JB"
    assert avatar.attrs["title"] == "Assigned to Jan de Boer"
    assert card.find(cls="age").text == "2d 3h"
    assert card.find(cls="prio").text == "Urgent"
    assert "is-blocked" in card.classes
    assert card.find(cls="blocked-reason").text == "Blocked: Photos requested"
    assert card.attrs["data-version"] == str(state(session, r.rma).version)

    other = tree.by_id(f"card-{single.rma}")
    assert other.find(cls="item").text == "SOCKS-9"
    assert other.find(cls="more-items") is None
    assert other.find(cls="reason").text == "Changed mind"
    assert other.find(cls="unassigned").text == "—"
    assert other.find(cls="age").text == "0m"
    assert other.find(cls="prio") is None
    assert other.find(cls="blocked-reason") is None


def test_what_customers_and_searches_type_is_shown_as_text_never_as_markup(client, session, workflow, runtime, now):
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    r = make_return(session, workflow, now=now, customer_name=evil, items=[_item("<b>SKU</b>")])
    login_as(client, session)
    cursor = _cursor(client)
    for url in ("/board", "/board?q=" + evil.replace("&", "%26")):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "<b>SKU" not in html
        assert "<B>SKU" not in html
    tree = page(client.get("/board?q=%3Cscript%3E"))
    assert tree.by_id("q").attrs["value"] == "<script>"
    card = page(client.get("/board")).by_id(f"card-{r.rma}")
    assert card.find(cls="customer").text == evil
    assert card.find(cls="item").text == "<B>SKU</B>"  # SKUs are stored in capitals
    with runtime.unit_of_work() as s:
        svc.flag_return(s, workflow, SYSTEM, r.rma, "<script>alert(3)</script>", now=now)
    feed = client.get(f"/board/changes?after={cursor}").get_json()
    assert "<script>alert" not in feed["cards"][0]["html"]
    assert "&lt;script&gt;alert(3)" in feed["cards"][0]["html"]


# --- filters ------------------------------------------------------------------------------------


@pytest.fixture
def filter_board(client, session, workflow, now):
    """Five returns, each picked out by some filter; the viewer (an admin) owns R1, Wim (warehouse) owns R3."""
    me = make_user(session, role=Role.ADMIN, name="Ada Admin")
    wim = make_user(session, team="warehouse", name="Wim Warehouse")
    r1 = make_return(
        session,
        workflow,
        now=now - timedelta(days=2),
        customer_name="Sanne de Vries",
        customer_email="sanne@example.nl",
        order_number="ORD-1001",
        items=[_item("TSHIRT-BLU-M")],
    )
    r2 = make_return(
        session,
        workflow,
        stage="approved",
        now=now,
        customer_name="Pieter Bakker",
        customer_email="pieter.bakker@example.be",
        order_number="ORD-2002",
        items=[_item("SHOE-42")],
    )
    r3 = make_return(
        session,
        workflow,
        stage="received",
        now=now - timedelta(hours=22),
        customer_name="Anna Smit",
        customer_email="a.smit@example.com",
        order_number="ORD-3003",
        items=[_item("JEANS-32"), _item("BELT-01")],
    )
    r4 = make_return(
        session,
        workflow,
        stage="inspected",
        now=now,
        customer_name="Joost Jansen",
        customer_email="joost@example.nl",
        order_number="ORD-4004",
        items=[_item("DRESS-RED-S")],
    )
    r5 = make_return(
        session,
        workflow,
        stage="resolved",
        now=now,
        customer_name="Eva Mulder",
        customer_email="eva@example.nl",
        order_number="ORD-5005",
        items=[_item("CAP-01")],
    )
    svc.assign_return(session, workflow, SYSTEM, r1.rma, me, now=now - timedelta(days=2))
    svc.assign_return(session, workflow, SYSTEM, r3.rma, wim, now=now - timedelta(hours=22))
    svc.flag_return(session, workflow, SYSTEM, r2.rma, "Label printer broken", now=now)
    assert sla_state(r3.stage_due_at, r3.stage_warn_at, None, now) == "due_soon"
    session.commit()
    login(client, me.email)
    return {"R1": r1.rma, "R2": r2.rma, "R3": r3.rma, "R4": r4.rma, "R5": r5.rma, "wim": str(wim.id)}


FILTERS = [
    ("", {"R1", "R2", "R3", "R4", "R5"}),
    ("team=customer_service", {"R1", "R4"}),
    ("team=logistics", {"R2"}),
    ("team=warehouse", {"R3"}),
    ("assignee=mine", {"R1"}),
    ("assignee=unassigned", {"R2", "R4", "R5"}),
    ("assignee={wim}", {"R3"}),
    ("overdue=1", {"R1"}),
    ("due_soon=1", {"R3"}),
    ("blocked=1", {"R2"}),
    ("q={R2_lower}", {"R2"}),
    ("q=ORD-3003", {"R3"}),
    ("q=ord-4004", {"R4"}),
    ("q=bakker", {"R2"}),
    ("q=SANNE+DE", {"R1"}),
    ("q=a.smit@example", {"R3"}),
    ("q=PIETER.BAKKER@EXAMPLE.BE", {"R2"}),
    ("q=dress-red", {"R4"}),
    ("q=BELT-01", {"R3"}),  # any item's SKU, not only the first
    ("q=nothing-like-this", set()),
    ("team=customer_service&assignee=unassigned", {"R4"}),
    ("team=marketing&assignee=someone&overdue=maybe", {"R1", "R2", "R3", "R4", "R5"}),  # meaningless: ignored
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[q or "none" for q, _ in FILTERS])
def test_each_filter_shows_exactly_the_matching_returns_with_exact_counts(client, filter_board, query, expected):
    names = {rma: name for name, rma in filter_board.items()}
    url = "/board?" + query.format(wim=filter_board["wim"], R2_lower=filter_board["R2"].lower())
    tree = page(client.get(url))
    shown = {names[rma] for rma in _all_cards(tree)}
    assert shown == expected
    for stage in _columns(tree):
        assert column_count(tree, stage) == len(card_ids(tree, stage)), stage


@pytest.mark.parametrize(
    ("query", "columns"),
    [
        ("team=customer_service", ["new", "inspected"]),
        ("team=logistics", ["approved", "in_transit"]),
        ("team=warehouse", ["received"]),
        ("overdue=1", ["new", "approved", "in_transit", "received", "inspected"]),
        ("due_soon=1", ["new", "approved", "in_transit", "received", "inspected"]),
        ("blocked=1", ALL_STAGES),
        ("q=x", ALL_STAGES),
    ],
)
def test_filters_choose_the_columns_shown(client, filter_board, query, columns):
    assert _columns(page(client.get("/board?" + query))) == columns


def test_the_filter_form_reflects_the_filters_in_the_url(client, filter_board):
    tree = page(client.get(f"/board?team=warehouse&assignee={filter_board['wim']}&overdue=1&blocked=1&q=smit"))
    assert tree.by_id("q").attrs["value"] == "smit"
    team = tree.by_id("f-team").find("option", selected="")
    assert team.attrs["value"] == "warehouse"
    assert tree.by_id("f-assignee").find("option", selected="").text == "Wim Warehouse"
    checked = {n.attrs["name"] for n in tree.find_all("input", type="checkbox") if "checked" in n.attrs}
    assert checked == {"overdue", "blocked"}
    assert "Filtered board" in tree.find(cls="filter-summary").text
    board = tree.by_id("board")
    assert board.attrs["data-query"] == f"team=warehouse&assignee={filter_board['wim']}&overdue=1&blocked=1&q=smit"
    assert tree.by_id("col-received").find(cls="empty").text == "Nothing matches"


def test_an_unfiltered_board_offers_no_reset(client, filter_board):
    tree = page(client.get("/board"))
    assert tree.find(cls="filter-summary") is None
    assert tree.by_id("board").attrs["data-query"] == ""


def test_search_finds_names_whatever_the_case_of_their_accented_letters(client, session, workflow, now):
    make_return(session, workflow, now=now, customer_name="Özlem Çelik")
    make_return(session, workflow, now=now, customer_name="Jan Jansen")
    login_as(client, session, team="customer_service")
    for query in ("özlem", "ÖZLEM", "çelik"):
        html = client.get(f"/board?q={query}").get_data(as_text=True)
        assert "Özlem Çelik" in html, query
        assert "Jan Jansen" not in html


# --- fragment or page ---------------------------------------------------------------------------


def test_htmx_filter_changes_get_only_the_board_fragment(client, filter_board):
    resp = client.get("/board?team=logistics", headers=hx(target="board"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<html" not in html
    assert "<body" not in html
    tree = parse(html)
    top = [n for n in tree.children if not isinstance(n, str)]
    assert len(top) == 1
    assert top[0].attrs["id"] == "board"
    assert not tree.has_id("filters")
    assert _all_cards(tree) == {filter_board["R2"]}
    assert top[0].attrs["data-query"] == "team=logistics"
    assert int(top[0].attrs["data-cursor"]) > 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HX-Request": "true"},
        {"HX-Request": "true", "HX-Target": "main"},
        {"HX-Request": "true", "HX-Target": "board", "HX-History-Restore-Request": "true"},
    ],
    ids=["plain", "htmx-no-target", "htmx-other-target", "history-restore"],
)
def test_other_requests_get_the_whole_page(client, filter_board, headers):
    html = client.get("/board?team=logistics", headers=headers).get_data(as_text=True)
    tree = parse(html)
    assert "<!doctype html>" in html
    assert tree.has_id("filters")
    assert tree.has_id("board")
    assert tree.has_id("panel")
    assert _all_cards(tree) == {filter_board["R2"]}


# --- show more ----------------------------------------------------------------------------------


def _fill(session, workflow, now, n: int, **overrides) -> list[str]:
    rmas = [make_return(session, workflow, now=now - timedelta(minutes=n - i), **overrides).rma for i in range(n)]
    session.commit()
    return rmas


def test_a_long_column_shows_50_cards_and_show_more_brings_the_rest(client, session, workflow, now):
    rmas = _fill(session, workflow, now, 55)
    login_as(client, session)
    tree = page(client.get("/board"))
    assert column_count(tree, "new") == 55
    assert card_ids(tree, "new") == rmas[:50]
    more = tree.by_id("cards-new").find("li", cls="more").find("button")
    assert more.text == "Show 5 more of 5"
    assert more.attrs["hx-get"] == "/board/columns/new?offset=50"
    assert more.attrs["hx-target"] == "closest li"

    rest = page(client.get(more.attrs["hx-get"], headers=hx()))
    assert [n.attrs["data-rma"] for n in rest.find_all("li", cls="card")] == rmas[50:]
    assert rest.find("li", cls="more") is None
    # the counts stay exact
    assert column_count(page(client.get("/board")), "new") == 55


def test_show_more_pages_by_50_and_says_how_many_are_left(client, session, workflow, now):
    rmas = _fill(session, workflow, now, 105)
    login_as(client, session)
    first = page(client.get("/board"))
    assert first.by_id("cards-new").find("li", cls="more").text == "Show 50 more of 55"
    second = page(client.get("/board/columns/new?offset=50", headers=hx()))
    assert [n.attrs["data-rma"] for n in second.find_all("li", cls="card")] == rmas[50:100]
    button = second.find("li", cls="more").find("button")
    assert button.text == "Show 5 more of 5"
    third = page(client.get(button.attrs["hx-get"], headers=hx()))
    assert [n.attrs["data-rma"] for n in third.find_all("li", cls="card")] == rmas[100:]
    assert third.find("li", cls="more") is None


def test_show_more_keeps_the_filters(client, session, workflow, now):
    karin = _fill(session, workflow, now, 53, customer_name="Karin de Wit")
    _fill(session, workflow, now - timedelta(hours=1), 5, customer_name="Someone Else")
    login_as(client, session)
    tree = page(client.get("/board?q=karin"))
    assert column_count(tree, "new") == 53
    button = tree.by_id("cards-new").find("li", cls="more").find("button")
    assert button.text == "Show 3 more of 3"
    assert button.attrs["hx-get"] == "/board/columns/new?offset=50&q=karin"
    rest = page(client.get(button.attrs["hx-get"], headers=hx()))
    assert [n.attrs["data-rma"] for n in rest.find_all("li", cls="card")] == karin[50:]
    assert rest.find("li", cls="more") is None


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/board/columns/nowhere", 404),
        ("/board/columns/new?offset=abc", 400),
        ("/board/columns/new?offset=500", 200),
        ("/board/columns/new?offset=-3", 400),
        ("/board/columns/new?offset=" + "9" * 30, 400),
        ("/board/changes?after=" + "9" * 30, 400),
        ("/board/changes?after=²", 400),
        ("/board?assignee=²", 200),  # a made-up filter value filters nothing
        ("/board?assignee=" + "9" * 30, 200),
    ],
)
def test_show_more_with_odd_arguments(client, session, workflow, now, url, status):
    _fill(session, workflow, now, 2)
    login_as(client, session)
    resp = client.get(url, headers=hx())
    assert resp.status_code == status
    if url.endswith("500"):
        assert page(resp).find("li") is None


# --- the live feed ------------------------------------------------------------------------------


def _cursor(client, query: str = "") -> int:
    return int(page(client.get("/board" + query)).by_id("board").attrs["data-cursor"])


def test_the_feed_is_empty_when_nothing_changed(client, session, workflow, now):
    make_return(session, workflow, now=now)
    login_as(client, session)
    cursor = _cursor(client)
    assert cursor > 0
    assert client.get(f"/board/changes?after={cursor}").get_json() == {"cursor": cursor, "cards": [], "headers": {}}


def test_the_feed_brings_a_card_changed_through_the_services_and_advances_the_cursor(
    client, session, runtime, workflow, now
):
    r = make_return(session, workflow, now=now)
    quiet = make_return(session, workflow, now=now)
    slack_user = make_user(session, name="Sam Slack")
    login_as(client, session)
    cursor = _cursor(client)

    # a change made elsewhere: a Slack command goes through the same service, in its own transaction
    with runtime.unit_of_work() as s:
        svc.move_return(s, workflow, Actor.person(slack_user, Channel.SLACK), r.rma, "approved", now=now)

    feed = client.get(f"/board/changes?after={cursor}").get_json()
    assert feed["cursor"] > cursor
    assert [c["id"] for c in feed["cards"]] == [f"card-{r.rma}"]
    card = feed["cards"][0]
    assert card["stage"] == "approved"
    assert card["visible"] is True
    assert card["entered"] == now.timestamp()
    html = parse(card["html"]).by_id(f"card-{r.rma}")
    assert html.attrs["data-stage"] == "approved"
    assert html.attrs["data-version"] == "2"
    assert set(feed["headers"]) == set(ALL_STAGES)
    heads = {k: int(parse(v).find(cls="count").text) for k, v in feed["headers"].items()}
    assert heads["new"] == 1
    assert heads["approved"] == 1
    assert f"card-{quiet.rma}" not in {c["id"] for c in feed["cards"]}

    again = client.get(f"/board/changes?after={feed['cursor']}").get_json()
    assert again == {"cursor": feed["cursor"], "cards": [], "headers": {}}


def test_the_feed_brings_new_returns_and_job_changes_once_each(client, session, runtime, workflow, now):
    r = make_return(session, workflow, now=now)
    login_as(client, session)
    cursor = _cursor(client)
    with runtime.unit_of_work() as s:
        job = Actor.system("delay scan", Channel.JOB)
        svc.flag_return(s, workflow, job, r.rma, "No tracking update for 3 days", now=now)
        svc.add_comment(s, workflow, job, r.rma, "Asked the carrier", now=now)
        fresh = make_return(s, workflow, now=now)
        fresh_rma = fresh.rma
    feed = client.get(f"/board/changes?after={cursor}").get_json()
    assert [c["id"] for c in feed["cards"]] == [f"card-{r.rma}", f"card-{fresh_rma}"]
    flagged = parse(feed["cards"][0]["html"]).by_id(f"card-{r.rma}")
    assert "is-blocked" in flagged.classes
    assert flagged.find(cls="blocked-reason").text == "Blocked: No tracking update for 3 days"
    assert feed["cards"][1]["stage"] == "new"
    assert int(parse(feed["headers"]["new"]).find(cls="count").text) == 2


def test_the_feed_follows_the_filters_of_the_board(client, session, runtime, workflow, now):
    r = make_return(session, workflow, now=now)
    login_as(client, session)
    cursor = _cursor(client, "?team=customer_service")
    with runtime.unit_of_work() as s:
        svc.move_return(s, workflow, SYSTEM, r.rma, "approved", now=now)
    feed = client.get(f"/board/changes?after={cursor}&team=customer_service").get_json()
    assert feed["cards"] == [
        {"id": f"card-{r.rma}", "stage": "approved", "visible": False, "entered": now.timestamp(), "html": ""}
    ]
    assert set(feed["headers"]) == {"new", "inspected"}
    assert int(parse(feed["headers"]["new"]).find(cls="count").text) == 0


def test_the_feed_refuses_a_cursor_that_is_not_a_number(client, session):
    login_as(client, session)
    assert client.get("/board/changes?after=latest").status_code == 400


# --- moves from the board -----------------------------------------------------------------------


def _board_move(client, token: str, rma: str, to_stage: str, version: int | str, query: str = "", **extra: str):
    return client.post(
        f"/returns/{rma}/move{query}",
        headers=hx(token),
        data={"to_stage": to_stage, "version": str(version), "view": "card", **extra},
    )


def _toast(tree):
    box = tree.by_id("toasts")
    assert box.attrs["hx-swap-oob"] == "beforeend"
    return box.find(cls="toast")


def test_a_move_from_the_board_answers_with_the_card_fresh_headers_and_a_toast(client, session, workflow, now):
    r = make_return(session, workflow, now=now)
    _, token = login_as(client, session, team="customer_service")
    resp = _board_move(client, token, r.rma, "approved", 1)
    assert resp.status_code == 200
    tree = page(resp)
    card = tree.by_id(f"card-{r.rma}")
    assert card.attrs["data-stage"] == "approved"
    assert card.attrs["data-version"] == "2"
    assert card.find(cls="lock").text == "Logistics only"  # it left customer service's hands
    heads = {n.attrs["id"]: n for n in tree.find_all("header", cls="column-head")}
    assert set(heads) == {f"head-{s}" for s in ALL_STAGES}
    assert all(h.attrs["hx-swap-oob"] == "true" for h in heads.values())
    assert int(heads["head-new"].find(cls="count").text) == 0
    assert int(heads["head-approved"].find(cls="count").text) == 1
    toast = _toast(tree)
    assert "toast-success" in toast.classes
    assert toast.text == f"{r.rma} moved to “Approved — label / pickup”."
    assert state(session, r.rma).stage == "approved"


def test_a_board_move_keeps_the_filters_for_the_headers(client, session, workflow, now):
    r = make_return(session, workflow, now=now)
    _, token = login_as(client, session, team="customer_service")
    tree = page(_board_move(client, token, r.rma, "approved", 1, query="?team=customer_service"))
    assert {n.attrs["id"] for n in tree.find_all("header", cls="column-head")} == {"head-new", "head-inspected"}


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        (
            "not allowed",
            409,
            "{rma} cannot move from “New request” to “Received — to inspect”; from there it can go "
            "to “Approved — label / pickup”, “Rejected”.",
        ),
        ("unknown stage", 409, "unknown stage 'limbo'"),
        (
            "no permission",
            403,
            "cannot move {rma}: “New request” belongs to Customer service; only its members, leads and admins can.",
        ),
        (
            "stale version",
            409,
            "{rma} was changed by Bob Smith (claimed, 05 Mar 09:00 UTC) after you loaded it; "
            "reload to see the change and try again.",
        ),
        ("needs a note", 422, "moving to “Rejected” needs a reason for the customer"),
    ],
)
def test_an_illegal_move_from_the_board_sends_the_card_back_with_the_reason(
    client, session, workflow, now, case, status, message
):
    r = make_return(session, workflow, now=now)
    bob = make_user(session, name="Bob Smith")
    team = "logistics" if case == "no permission" else "customer_service"
    _, token = login_as(client, session, team=team)
    version = 1
    if case == "stale version":
        svc.claim_return(session, workflow, Actor.person(bob, Channel.WEB), r.rma, now=now)
        session.commit()
    to = {"not allowed": "received", "unknown stage": "limbo", "needs a note": "rejected"}.get(case, "approved")
    before = state(session, r.rma)

    resp = _board_move(client, token, r.rma, to, version)
    assert resp.status_code == status
    tree = page(resp)
    card = tree.by_id(f"card-{r.rma}")
    assert card.attrs["data-stage"] == "new"  # where the browser must snap it back to
    assert card.attrs["data-version"] == str(before.version)
    toast = _toast(tree)
    assert "toast-error" in toast.classes
    assert toast.attrs["role"] == "alert"
    assert message.format(rma=r.rma) in toast.text
    assert len(tree.find_all("header", cls="column-head")) == len(ALL_STAGES)
    assert state(session, r.rma) == before
