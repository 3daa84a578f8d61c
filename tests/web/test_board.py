"""The board: columns and counts, SLA badges, cards, filters and search, fragments, "show more", the live feed
and moves."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from hub.accounts.models import Role
from hub.app import create_app
from hub.core.db import make_session_factory
from hub.core.runtime import Runtime
from hub.returns import queries
from hub.returns import services as svc
from hub.returns.drafts import ItemDraft
from hub.returns.models import Channel
from hub.returns.permissions import Actor
from hub.returns.queries import sla_state
from hub.workflow import parse_workflow
from tests.factories import PASSWORD, SYSTEM, make_return, make_returns, make_user, workflow_toml
from tests.web.support import (
    card_ids,
    column_count,
    csrf_token,
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
    assert tree.by_id("col-rejected").attrs["data-requires"] == "reason"
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
    assert tree.by_id(f"card-{rmas['on_time']}").find(cls="sla-badge").attrs["title"] == "Due Fri 6 Mar 10:00"
    head = tree.by_id("head-new")
    assert head.find(cls="overdue").text == "1 overdue"
    assert head.find(cls="due-soon").text == "1 due soon"
    assert tree.by_id("head-approved").find(cls="overdue").text == "1 overdue"
    assert tree.by_id("head-approved").find(cls="due-soon") is None
    assert tree.by_id(f"card-{overdue_elsewhere.rma}").find(cls="sla-badge").text == "Overdue"


def test_sla_badges_follow_the_clock(client, session, workflow, runtime, now):
    rmas = _sla_returns(session, workflow, now)
    runtime.clock = lambda: now + timedelta(days=1)  # Friday 10:00: everything is late
    login_as(client, session)  # a login unused for a day would have ended: log in at the new time
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


def test_search_shows_a_return_closed_long_ago_in_its_column(client, session, workflow, runtime, now):
    old = make_return(session, workflow, stage="resolved", now=now - timedelta(days=45), customer_name="Jürgen Müller")
    recent = make_return(session, workflow, stage="resolved", now=now - timedelta(days=1), customer_name="Eva Müller")
    make_return(session, workflow, stage="rejected", now=now - timedelta(days=45), customer_name="Jan Jansen")
    session.commit()
    login_as(client, session)
    unsearched = page(client.get("/board"))
    assert card_ids(unsearched, "resolved") == [recent.rma]
    assert unsearched.by_id("head-resolved").find(cls="column-sla").text == "Closed in the last 14 days"

    cursor = _cursor(client)
    tree = page(client.get("/board?q=muller"))
    assert card_ids(tree, "resolved") == [recent.rma, old.rma]  # newest first
    assert column_count(tree, "resolved") == 2
    assert card_ids(tree, "rejected") == []
    assert tree.by_id("head-resolved").find(cls="column-sla").text == "Every match, newest first"
    assert tree.find(cls="search-problem") is None
    summary = tree.find(cls="search-summary")
    assert " ".join(summary.text.split()) == "2 found, open or closed, for “muller”: Resolved (2)"
    assert summary.find("a").attrs["href"] == "#col-resolved"
    nothing = page(client.get("/board?q=nothing-like-this")).find(cls="search-summary")
    assert nothing.text == "No return, open or closed, matches “nothing-like-this”."
    # a change to it reaches a board searching for it
    with runtime.unit_of_work() as s:
        svc.add_comment(s, workflow, SYSTEM, old.rma, "Customer called about the refund", now=now)
    feed = client.get(f"/board/changes?after={cursor}&q=muller").get_json()
    assert [(c["id"], c["visible"]) for c in feed["cards"]] == [(f"card-{old.rma}", True)]
    assert "Every match, newest first" in feed["headers"]["resolved"]
    feed = client.get(f"/board/changes?after={cursor}").get_json()
    assert [(c["id"], c["visible"]) for c in feed["cards"]] == [(f"card-{old.rma}", False)]


def test_search_by_tracking_number_and_product_through_the_page(client, session, workflow, now):
    r = make_return(
        session,
        workflow,
        stage="in_transit",
        now=now,
        carrier="DHL",
        tracking_number="JJD014600006161931",
        items=[_item("PARKA-XL")],
    )
    make_return(session, workflow, now=now)
    session.commit()
    login_as(client, session)
    for q in ("JJD014600006161931", "product+parka"):
        assert _all_cards(page(client.get(f"/board?q={q}"))) == {r.rma}, q
    search = page(client.get("/board")).by_id("q")
    assert "tracking" in search.attrs["placeholder"]
    assert "product" in search.attrs["placeholder"]


def test_a_search_too_short_to_look_up_says_so_and_filters_nothing(client, session, workflow, now):
    rmas = {make_return(session, workflow, now=now, customer_name=name).rma for name in ("Jo Li", "Bo Ek")}
    session.commit()
    login_as(client, session)
    tree = page(client.get("/board?q=li"))
    assert tree.find(cls="search-problem").text == "Type at least 3 letters or digits to search: “li” is too short."
    assert _all_cards(tree) == rmas
    assert tree.by_id("q").attrs["value"] == "li"


def test_a_search_finding_more_than_the_limit_says_the_board_shows_some_of_them(
    client, session, workflow, now, monkeypatch
):
    monkeypatch.setattr(queries, "SEARCH_LIMIT", 2)
    for name in ("Broad Alpha", "Broad Bravo", "Broad Charlie"):
        make_return(session, workflow, now=now, customer_name=name)
    session.commit()
    login_as(client, session)
    tree = page(client.get("/board?q=broad"))
    broad = tree.find(cls="search-broad")
    assert " ".join(broad.text.split()) == (
        "More than 2 returns match “broad”: the board shows 2 of them. "
        "Add a word (a name, an order or tracking number) to narrow the search."
    )
    assert tree.by_id("head-new").find("span", cls="count").text == "2+"
    assert page(client.get("/board?q=broad+bravo")).find(cls="search-broad") is None


# --- fragment or page ---------------------------------------------------------------------------


def test_htmx_filter_changes_get_only_the_board_fragment(client, filter_board):
    resp = client.get("/board?team=logistics", headers=hx(target="board"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<html" not in html
    assert "<body" not in html
    tree = parse(html)
    top = [n for n in tree.children if not isinstance(n, str)]
    # the board, and the skip links to its columns out of band (the team filter leaves fewer columns)
    assert [n.attrs["id"] for n in top] == ["board", "skip-links"]
    assert top[1].attrs["hx-swap-oob"] == "true"
    assert [a.attrs["href"] for a in top[1].find_all("a")] == ["#q", "#group-approved"]
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


def _window(since, until) -> str:
    return urlencode({"new_since": since.isoformat(), "new_until": until.isoformat()}, safe=":")


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
    # the page's window of new arrivals (empty on a first visit) comes along, so paging keeps the page's order
    assert more.attrs["hx-get"] == f"/board/columns/new?offset=50&{_window(now, now)}"
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
    assert button.attrs["hx-get"] == f"/board/columns/new?offset=50&q=karin&{_window(now, now)}"
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
        ("/board/columns/new?new_since=yesterday&new_until=2026-03-05T09:00:00%2B00:00", 400),
        ("/board/changes?after=1&new_since=2026-03-05T09:00:00", 400),  # a time without its zone
        ("/board?sort.new=sideways&sort.nowhere=age", 200),  # a made-up order orders nothing
        ("/board?assignee=²", 200),  # a made-up filter value filters nothing
        ("/board?assignee=" + "9" * 30, 400),  # a user id past the column's range (tests/web/test_hostile_input.py)
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
        {
            "id": f"card-{r.rma}",
            "stage": "approved",
            "visible": False,
            "new": False,
            "entered": now.timestamp(),
            "html": "",
        }
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
            "You can't move {rma} because “New request” belongs to Customer service: only its members, leads and "
            "admins can.",
        ),
        (
            "stale version",
            409,
            "{rma} was changed by Bob Smith (claimed, Thu 5 Mar 10:00 CET) after you opened it; nothing was "
            "changed. The card now shows the change; check it and try again.",
        ),
        ("needs a note", 422, "Choose the reason the customer reads: moving to “Rejected” needs one."),
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


# --- new arrivals, priority and each column's order ---------------------------------------------------------


def _card_classes(tree, rma: str) -> set[str]:
    return tree.by_id(f"card-{rma}").classes


def test_a_return_handed_to_a_team_shows_at_the_top_marked_new_until_the_next_look(
    client, session, workflow, runtime, now
):
    older = make_returns(session, workflow, 60, stage="approved", now=now - timedelta(days=1))
    handed = make_return(session, workflow, now=now - timedelta(hours=2), customer_name="Handed Over")
    sender = make_user(session, team="customer_service")
    session.commit()
    receiver, _ = login_as(client, session, team="logistics")
    client.get("/board")  # the receiving team looks at the board now ...

    later = now + timedelta(minutes=30)  # ... and customer service hands a return over a moment later
    with runtime.unit_of_work() as s:
        svc.move_return(
            s, workflow, Actor.person(s.get(type(sender), sender.id), Channel.WEB), handed.rma, "approved", now=later
        )
    runtime.clock = lambda: later + timedelta(minutes=5)
    tree = page(client.get("/board"))
    assert column_count(tree, "approved") == 61
    # in the first page (it is the newest of 61 in the default order), on top, marked "New" in words
    assert card_ids(tree, "approved")[0] == handed.rma
    assert len(card_ids(tree, "approved")) == 50
    card = tree.by_id(f"card-{handed.rma}")
    assert "is-new" in card.classes
    assert card.attrs["data-arrived"] == "1"
    assert card.find("span", cls="new-badge").text == "New"
    assert all("is-new" not in _card_classes(tree, rma) for rma in older[:49])

    # a filter or order change swaps the board in the page's window: still new there, and not "seen" by it
    window = json.loads(tree.by_id("filters").attrs["hx-vals"])
    assert window == {"new_since": now.isoformat(), "new_until": (later + timedelta(minutes=5)).isoformat()}
    swapped = page(client.get("/board?" + urlencode({"team": "logistics", **window}), headers=hx(target="board")))
    assert card_ids(swapped, "approved")[0] == handed.rma
    assert "is-new" in _card_classes(swapped, handed.rma)

    # "show more" brings the other eleven: none twice, none left out
    more = tree.by_id("cards-approved").find("li", cls="more").find("button")
    rest = page(client.get(more.attrs["hx-get"], headers=hx()))
    shown = card_ids(tree, "approved") + [n.attrs["data-rma"] for n in rest.find_all("li", cls="card")]
    assert sorted(shown) == sorted([*older, handed.rma])
    assert len(shown) == 61

    # the next look: seen, so it is in its place in the order (the newest normal one: beyond the first page)
    runtime.clock = lambda: later + timedelta(minutes=10)
    again = page(client.get("/board"))
    assert handed.rma not in card_ids(again, "approved")
    assert receiver.id  # (the receiver's own look was what made it seen)


def test_a_return_someone_moved_themselves_is_not_new_to_them(client, session, workflow, runtime, now):
    r = make_return(session, workflow, now=now - timedelta(hours=2))
    session.commit()
    mover, token = login_as(client, session, team="customer_service")
    client.get("/board")
    runtime.clock = lambda: now + timedelta(minutes=1)
    resp = client.post(
        f"/returns/{r.rma}/move", data={"to_stage": "approved", "version": "1", "view": "card"}, headers=hx(token)
    )
    assert resp.status_code == 200
    runtime.clock = lambda: now + timedelta(minutes=2)
    tree = page(client.get("/board"))
    assert card_ids(tree, "approved") == [r.rma]
    assert "is-new" not in _card_classes(tree, r.rma)
    # to a colleague who last looked before the move, it is new
    colleague = make_user(session, team="logistics")
    colleague.board_seen_at = now
    session.commit()
    other = client.application.test_client()
    other.post("/login", data={"email": colleague.email, "password": PASSWORD, "csrf_token": csrf_token(other)})
    assert "is-new" in _card_classes(page(other.get("/board")), r.rma)
    assert mover.id


def test_an_urgent_return_is_not_hidden_behind_sixty_older_ones(client, session, workflow, now):
    make_returns(session, workflow, 60, stage="received", now=now - timedelta(days=2))
    urgent = make_return(session, workflow, stage="received", now=now - timedelta(minutes=5), priority="urgent")
    high = make_return(session, workflow, stage="received", now=now - timedelta(minutes=1), priority="high")
    session.commit()
    login_as(client, session, team="warehouse")
    tree = page(client.get("/board"))
    assert card_ids(tree, "received")[:2] == [urgent.rma, high.rma]
    assert tree.by_id(f"card-{urgent.rma}").attrs["data-priority"] == "3"


def test_the_live_feed_marks_a_return_new_to_the_watcher_and_not_to_its_mover(client, session, workflow, runtime, now):
    r = make_return(session, workflow, stage="approved", now=now - timedelta(hours=1))
    mover = make_user(session, team="logistics")
    session.commit()
    login_as(client, session, team="warehouse")
    board = page(client.get("/board")).by_id("board")
    cursor, since = board.attrs["data-cursor"], board.attrs["data-new-since"]
    assert since == now.isoformat()  # a first visit: what arrives from now on is new
    mover_client = client.application.test_client()
    login(mover_client, mover.email)
    mover_board = page(mover_client.get("/board")).by_id("board")

    def feed(who, board_attrs):
        query = urlencode({"after": board_attrs.attrs["data-cursor"], "new_since": board_attrs.attrs["data-new-since"]})
        return who.get(f"/board/changes?{query}").get_json()["cards"]

    def move(to_stage, at):
        with runtime.unit_of_work() as s:
            actor = Actor.person(s.get(type(mover), mover.id), Channel.WEB)
            svc.move_return(s, workflow, actor, r.rma, to_stage, now=at)

    move("in_transit", now)  # at the moment the board loaded: not after it, so not new
    assert [c["new"] for c in feed(client, board)] == [False]

    move("received", now + timedelta(minutes=3))
    (card,) = feed(client, board)
    assert card["new"] is True
    html = parse(card["html"])
    assert "is-new" in html.find("li", cls="card").classes
    assert html.find("span", cls="new-badge").text == "New"
    # the mover's own board does not call it new
    assert [c["new"] for c in feed(mover_client, mover_board)] == [False]
    assert cursor


def test_each_open_column_offers_its_order_and_keeps_it_in_the_url(client, session, workflow, now):
    old = make_return(session, workflow, stage="approved", now=now - timedelta(days=1))
    urgent = make_return(session, workflow, stage="approved", now=now - timedelta(hours=1), priority="urgent")
    _fill(session, workflow, now, 51)
    login_as(client, session)
    tree = page(client.get("/board"))
    select = tree.by_id("sort-approved")
    assert select.attrs["name"] == "sort.approved"
    assert select.attrs["form"] == "filters"
    assert tree.by_id("col-approved").find("label").text == "Sort “Approved — label / pickup”"
    assert [(o.attrs["value"], o.text) for o in select.find_all("option")] == [
        ("priority", "Priority"),
        ("age", "Oldest first"),
        ("due", "Due soonest"),
        ("newest", "Newest first"),
    ]
    assert "selected" in select.find("option", value="priority").attrs
    assert not tree.has_id("sort-resolved")  # closed columns: newest closed first, always
    assert card_ids(tree, "approved") == [urgent.rma, old.rma]

    resp = client.get("/board?sort.approved=age&sort.new=newest", headers=hx(target="board"))
    assert resp.headers["HX-Push-Url"] == "/board?sort.new=newest&sort.approved=age"  # in the board's order
    sorted_tree = page(resp)
    assert card_ids(sorted_tree, "approved") == [old.rma, urgent.rma]
    assert sorted_tree.by_id("cards-approved").attrs["data-sort"] == "age"
    assert "selected" in sorted_tree.by_id("sort-approved").find("option", value="age").attrs
    assert sorted_tree.find("p", cls="filter-summary") is None  # an order is no filter
    # "show more" keeps the column's order: newest first, so the oldest of "new" comes last
    more = sorted_tree.by_id("cards-new").find("li", cls="more").find("button")
    assert "sort.new=newest" in more.attrs["hx-get"]
    rest = page(client.get(more.attrs["hx-get"], headers=hx()))
    assert len(rest.find_all("li", cls="card")) == 1
