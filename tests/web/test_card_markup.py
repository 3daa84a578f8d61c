"""Board cards: the fast renderer (hub/web/cards.py) writes the markup the card template wrote, escaped."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask, g, render_template_string, url_for
from sqlalchemy.orm import Session

from hub.accounts.models import Role, User
from hub.returns import queries
from hub.returns.drafts import ItemDraft
from hub.returns.models import Priority, Resolution, Return, ReturnItem
from hub.returns.permissions import may_act_on, stages_reachable
from hub.web.context import actor, db
from hub.web.fragments import card_renderer
from hub.workflow import Workflow
from tests.factories import make_return, make_user
from tests.web.support import login_as, parse

pytestmark = pytest.mark.usefixtures("frozen_clock")

# the card template as it was before the renderer, kept only here to compare against
BEFORE = (Path(__file__).parent / "fixtures" / "card_before_issue12.html").read_text()

HOSTILE_NAME = "<script>alert(\"name\")</script> & 'Zoë' Ångström 山田 &amp;"
HOSTILE_SKU = "<b>SKU</b>&\"1'&lt;"
HOSTILE_PRODUCT = "<img src=x onerror=alert(1)> \"Jeans\" & 'co'"
HOSTILE_REASON = '<i>reason</i>&"q"'
HOSTILE_BLOCK = "</p><script>alert('blocked')</script>"
HOSTILE_PERSON = 'Eve <evil> "O\'Brien" & Co'


def _item(sku: str = "TSHIRT-BLU-M", product: str = "T-shirt blue M") -> ItemDraft:
    return ItemDraft(sku=sku, product_name=product, quantity=1, unit_price="19.95", reason_code="too_small")


def _varied_returns(session: Session, workflow: Workflow, now: datetime) -> list[int]:
    """Returns of every kind a card shows: hostile text, assignees, blocks, priorities, clocks, closed ones."""
    person = make_user(session, team="logistics", name=HOSTILE_PERSON)
    plain = make_user(session, team="warehouse", name="Jo")
    hour, day = timedelta(hours=1), timedelta(days=1)
    specs: list[tuple[str, dict[str, object]]] = [
        ("new", {"customer_name": HOSTILE_NAME, "assignee": person, "blocked": HOSTILE_BLOCK, "priority": 2}),
        ("new", {"due": now - hour, "priority": 3, "promised": now - day, "items": 3}),
        ("approved", {"warn": now - hour, "due": now + hour, "promised": now + hour, "assignee": plain}),
        ("in_transit", {"priority": 0, "blocked": "Waiting for the carrier", "due": None}),
        ("received", {"customer_name": "Zoë Ångström 山田", "promised": now + 2 * day}),
        ("inspected", {"due": now - 3 * day, "assignee": person}),
        ("resolved", {"resolution": Resolution.STORE_CREDIT, "closed": now - day}),
        ("rejected", {"closed": now - hour, "priority": 2}),
    ]
    ids = []
    for stage, spec in specs:
        r = make_return(
            session,
            workflow,
            stage=stage,
            now=now - 2 * day,
            customer_name=str(spec.get("customer_name", "Sanne de Vries")),
            items=[_item(HOSTILE_SKU, HOSTILE_PRODUCT)] + [_item() for _ in range(int(str(spec.get("items", 1))) - 1)],
        )
        _apply(r, spec)
        ids.append(r.id)
    session.flush()
    # a reason code the workflow does not know (a changed workflow): shown in words, escaped
    session.query(ReturnItem).filter(ReturnItem.return_id == ids[0]).update({"reason_code": HOSTILE_REASON})
    session.commit()
    return ids


def _apply(r: Return, spec: dict[str, object]) -> None:
    assignee = spec.get("assignee")
    r.assignee_id = assignee.id if isinstance(assignee, User) else None
    if "blocked" in spec:
        r.is_blocked, r.blocked_reason = True, spec["blocked"]  # type: ignore[assignment]
    r.priority = int(str(spec.get("priority", int(Priority.NORMAL))))
    for key, column in (("due", "stage_due_at"), ("warn", "stage_warn_at"), ("promised", "promised_by")):
        if key in spec:
            setattr(r, column, spec[key])
    if "closed" in spec:
        r.closed_at = spec["closed"]  # type: ignore[assignment]
        r.resolution = spec.get("resolution")  # type: ignore[assignment]


def _old_card(card: queries.Card) -> str:
    """The card through the old template and the context the board gave it (url_for per request, as it had)."""
    from hub.web.context import workflow

    wf, a = workflow(), actor()

    def url_template(endpoint: str):
        head, _, tail = url_for(endpoint, rma="__rma__").partition("__rma__")
        return lambda rma: head + quote(rma, safe="") + tail

    return render_template_string(
        BEFORE,
        card=card,
        may_act=lambda stage: may_act_on(a, wf, stage),
        targets=lambda c: list(stages_reachable(wf, a, c)),
        detail_url=url_template("returns.detail"),
        move_url=url_template("returns.move"),
    )


def _normal(html: str) -> str:
    """Whitespace collapsed, and none between tags."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


@pytest.mark.parametrize(
    ("team", "role"),
    [("customer_service", Role.MEMBER), ("warehouse", Role.MEMBER), (None, Role.MEMBER), ("logistics", Role.LEAD)],
)
def test_cards_render_as_the_card_template_did(app: Flask, session, workflow, now, team, role):
    ids = _varied_returns(session, workflow, now)
    me = make_user(session, team=team, role=role, time_zone="America/New_York")
    session.commit()
    with app.test_request_context("/board"):
        g._login_user = db().get(User, me.id)
        render = card_renderer()
        cards = queries.cards_for(db(), ids)
        compared = 0
        for is_new in (False, True):
            for rid in ids:
                card = cards[rid]
                card.is_new = is_new
                old, new = _normal(_old_card(card)), _normal(render(card))
                assert new == old, f"{card.rma} (new: {is_new})"
                compared += 1
    assert compared == 2 * len(ids)


def test_the_comparison_notices_a_changed_card(app: Flask, session, workflow, now):
    # the comparison is not vacuous: one attribute less in the old template is a difference
    ids = _varied_returns(session, workflow, now)
    me = make_user(session, team="customer_service")
    session.commit()
    with app.test_request_context("/board"):
        g._login_user = db().get(User, me.id)
        card = queries.cards_for(db(), ids[:1])[ids[0]]
        old = _normal(_old_card(card)).replace(' data-seq="', ' data-sequence="')
        assert _normal(card_renderer()(card)) != old


def _hostile_card(tree, rma: str) -> None:
    node = tree.by_id(f"card-{rma}")
    assert node.find("p", cls="customer").text == HOSTILE_NAME
    item = node.find("p", cls="item")
    assert item.attrs["title"] == HOSTILE_PRODUCT
    assert item.text.startswith(HOSTILE_SKU.upper())  # SKUs are stored upper-case
    assert node.find("p", cls="reason").text == HOSTILE_REASON.replace("_", " ")
    assert node.find("p", cls="blocked-reason").text == f"Blocked: {HOSTILE_BLOCK}"
    assert node.find("span", cls="avatar").attrs["title"] == f"Assigned to {HOSTILE_PERSON}"
    for tag in ("script", "img", "b", "i", "evil"):  # none of the hostile text became markup
        assert not node.find_all(tag), tag


def test_hostile_text_is_escaped_everywhere_a_card_shows_it(client, session, workflow, now):
    ids = _varied_returns(session, workflow, now)
    rma = session.get(Return, ids[0]).rma
    login_as(client, session, role=Role.LEAD)
    html = client.get("/board").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    _hostile_card(parse(html), rma)
    more = client.get("/board/columns/new?offset=0").get_data(as_text=True)
    assert "<script>alert" not in more
    _hostile_card(parse(more), rma)
    feed = json.loads(client.get("/board/changes?after=0").get_data(as_text=True))
    (card,) = [c for c in feed["cards"] if c["id"] == f"card-{rma}"]
    assert "<script>alert" not in card["html"]
    _hostile_card(parse(card["html"]), rma)
