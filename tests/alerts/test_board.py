"""The board shows the stage clocks: overdue and due-soon cards are marked, counted and can be filtered."""

from __future__ import annotations

import re

import pytest

from tests.alerts.support import move
from tests.factories import PASSWORD, make_return, make_user, utc
from tests.web.support import login

CARD_RE = re.compile(r'<li class="card ([^"]*)"\s+id="card-([^"]+)"')
HEAD_RE = re.compile(r'<header class="column-head" id="head-([a-z_]+)".*?</header>', re.S)
PILL_RE = re.compile(r'<span class="pill (overdue|due-soon)"[^>]*>(\d+) (?:overdue|due soon)</span>')


def cards(html: str) -> dict[str, set[str]]:
    """Each card's RMA and its classes."""
    return {rma: set(classes.split()) for classes, rma in CARD_RE.findall(html)}


def pills(html: str) -> dict[str, dict[str, int]]:
    """Each column header's overdue and due-soon counts."""
    return {m.group(1): {kind: int(n) for kind, n in PILL_RE.findall(m.group(0))} for m in HEAD_RE.finditer(html)}


@pytest.fixture
def late(session, workflow, client, clock) -> dict[str, str]:
    """At Thursday 10:00 Amsterdam: returns overdue, due soon and on time; logged in as a warehouse member."""
    made = {
        # received (warehouse, 07:00-16:00 Amsterdam): Monday's is long overdue
        "overdue": make_return(session, workflow, stage="received", now=utc(2026, 3, 2, 9)).rma,
        # entered Wednesday 11:00: due soon since Thursday 08:45, due at 11:00
        "due_soon": make_return(session, workflow, stage="received", now=utc(2026, 3, 4, 10)).rma,
        "on_time": make_return(session, workflow, stage="received", now=clock.now).rma,
        "new_overdue": make_return(session, workflow, stage="new", now=utc(2026, 3, 2, 9)).rma,
        "resolved": make_return(session, workflow, stage="resolved", now=utc(2026, 3, 2, 9)).rma,
    }
    user = make_user(session, team="warehouse")
    session.commit()
    login(client, user.email, PASSWORD)
    return made


def test_late_cards_are_marked(client, late):
    found = cards(client.get("/board").get_data(as_text=True))
    assert "sla-overdue" in found[late["overdue"]]
    assert "sla-overdue" in found[late["new_overdue"]]
    assert "sla-due_soon" in found[late["due_soon"]]
    assert "sla-on_time" in found[late["on_time"]]
    assert not {"sla-overdue", "sla-due_soon"} & found[late["resolved"]]


def test_column_headers_count_overdue_and_due_soon(client, late):
    heads = pills(client.get("/board").get_data(as_text=True))
    assert heads["received"] == {"overdue": 1, "due-soon": 1}
    assert heads["new"] == {"overdue": 1}
    assert heads["inspected"] == {}


def test_the_board_follows_the_clock(client, clock, late):
    clock.set(utc(2026, 3, 5, 10))  # 11:00 Amsterdam: the due-soon one is due now
    found = cards(client.get("/board").get_data(as_text=True))
    assert "sla-overdue" in found[late["due_soon"]]
    assert pills(client.get("/board").get_data(as_text=True))["received"] == {"overdue": 2}


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("overdue=1", {"overdue", "new_overdue"}),
        ("due_soon=1", {"due_soon"}),
        ("overdue=1&due_soon=1", {"overdue", "new_overdue", "due_soon"}),  # every return running late
        ("", {"overdue", "new_overdue", "due_soon", "on_time", "resolved"}),
    ],
)
def test_the_overdue_and_due_soon_filters(client, late, query, shown):
    html = client.get(f"/board?{query}").get_data(as_text=True)
    assert set(cards(html)) == {late[k] for k in shown}


def test_the_filters_count_what_they_show(client, late):
    heads = pills(client.get("/board?overdue=1&due_soon=1").get_data(as_text=True))
    assert heads["received"] == {"overdue": 1, "due-soon": 1}
    assert "resolved" not in heads  # closed columns have no late returns to show


def test_a_moved_card_is_on_time_again(client, runtime, clock, late):
    move(runtime, late["overdue"], "inspected", clock.now)
    found = cards(client.get("/board").get_data(as_text=True))
    assert "sla-on_time" in found[late["overdue"]]
    assert pills(client.get("/board").get_data(as_text=True))["received"] == {"due-soon": 1}
