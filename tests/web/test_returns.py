"""A return's detail (page or panel) and every change made from it, with the errors a person can run into."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.models import Role, User
from hub.returns import services as svc
from hub.returns.drafts import ItemDraft
from hub.returns.models import Channel, Comment, Event, Return
from hub.returns.permissions import Actor
from tests.factories import make_return, make_user
from tests.web.support import (
    count,
    hx,
    login_as,
    page,
    parse,
    state,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def jan(client, session):
    """Jan, a customer service member, logged in: (user, CSRF token)."""
    return login_as(client, session, team="customer_service", name="Jan de Boer", email="jan@shop.example")


def _post(client, token: str, rma: str, action: str, **data: str):
    return client.post(f"/returns/{rma}/{action}", data=data, headers=hx(token))


def _notice(resp):
    node = page(resp).find(cls="notice")
    return node.text if node else None


def _field_errors(resp) -> list[str]:
    return [n.text for n in page(resp).find_all(cls="field-error")]


def _facts(tree) -> dict[str, str]:
    dl = tree.find(cls="facts").find("dl")
    terms = dl.find_all("dt")
    values = dl.find_all("dd")
    return {t.text: v.text for t, v in zip(terms, values, strict=True)}


# --- page, panel, facts -------------------------------------------------------------------------


def test_the_detail_is_a_whole_page_or_a_panel_for_htmx(client, session, workflow, now, jan):
    r = make_return(session, workflow, now=now)
    session.commit()
    full = client.get(f"/returns/{r.rma}")
    assert full.status_code == 200
    html = full.get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    tree = parse(html)
    assert tree.find("title").text == f"{r.rma} · Returns Hub"
    assert tree.find(cls="crumbs").find("a").attrs["href"] == "/board"
    assert tree.by_id("detail").attrs["data-rma"] == r.rma

    panel = client.get(f"/returns/{r.rma}", headers=hx(target="panel"))
    html = panel.get_data(as_text=True)
    assert "<html" not in html
    tree = parse(html)
    top = [n for n in tree.children if not isinstance(n, str)]
    assert [(n.tag, n.attrs["id"]) for n in top] == [("article", "detail")]
    assert top[0].attrs["data-version"] == "1"
    assert top[0].find("h1").text == f"{r.rma} · Sanne de Vries"

    restore = client.get(f"/returns/{r.rma}", headers=hx(**{"HX-History-Restore-Request": "true"}))
    assert "<!doctype html>" in restore.get_data(as_text=True)


def test_the_rma_in_the_url_is_case_insensitive(client, session, workflow, now, jan):
    r = make_return(session, workflow, now=now)
    session.commit()
    tree = page(client.get(f"/returns/{r.rma.lower()}", headers=hx()))
    assert tree.by_id("detail").attrs["data-rma"] == r.rma


def test_the_detail_lists_every_item_with_its_reason(client, session, workflow, now, jan):
    r = make_return(
        session,
        workflow,
        now=now,
        items=[
            ItemDraft(
                sku="coat-grn-l",
                product_name="Coat green L",
                quantity=1,
                unit_price="129.5",
                reason_code="damaged",
                reason_note="Torn seam",
                category="outerwear",
            ),
            ItemDraft(sku="SOCKS-9", product_name="Socks", quantity=3, unit_price="4.99", reason_code="changed_mind"),
        ],
    )
    session.commit()
    rows = page(client.get(f"/returns/{r.rma}", headers=hx())).find("table", cls="items").find("tbody")
    cells = [[td.text for td in tr.find_all("td")] for tr in rows.find_all("tr")]
    assert cells == [
        ["COAT-GRN-L", "Coat green L · outerwear", "1", "129.50", "Arrived damaged“Torn seam”"],
        ["SOCKS-9", "Socks", "3", "4.99", "Changed mind"],
    ]


@pytest.mark.parametrize(
    ("delivered_days_ago", "created_days_ago", "expected"),
    [
        (10, 0, "23 Feb 2026 · return window 30 days, 20 days left"),
        (29, 0, "4 Feb 2026 · return window 30 days, 1 day left"),
        (30, 0, "3 Feb 2026 · return window 30 days, 0 days left"),
        (40, 20, "24 Jan 2026 · return window 30 days, ended 10 days ago"),
        (None, 0, "unknown"),
    ],
)
def test_policy_facts_show_the_delivery_and_the_window_left(
    client, session, workflow, now, jan, delivered_days_ago, created_days_ago, expected
):
    delivered = now.date() - timedelta(days=delivered_days_ago) if delivered_days_ago is not None else None
    r = make_return(session, workflow, now=now - timedelta(days=created_days_ago), delivered_on=delivered)
    session.commit()
    facts = _facts(page(client.get(f"/returns/{r.rma}", headers=hx())))
    assert facts["Delivered on"] == expected
    assert "requested after the window" not in facts["Delivered on"]


def test_a_request_made_after_the_window_is_pointed_out(client, session, workflow, now, jan):
    r = make_return(session, workflow, now=now)
    r.delivered_on = now.date() - timedelta(days=45)  # as an old import could have stored it
    session.commit()
    facts = _facts(page(client.get(f"/returns/{r.rma}", headers=hx())))
    assert facts["Delivered on"] == (
        "19 Jan 2026 · return window 30 days, ended 15 days ago requested after the window"
    )


def test_the_facts_show_the_stage_clock_the_promise_and_the_customer(client, session, workflow, now, jan):
    r = make_return(
        session,
        workflow,
        now=now - timedelta(hours=1),
        customer_email="mila@example.nl",
        order_number="ORD-777",
        customer_locale="de",
    )
    late = make_return(session, workflow, now=now - timedelta(days=15))
    session.commit()
    facts = _facts(page(client.get(f"/returns/{r.rma}", headers=hx())))
    assert facts["In this stage"] == "1h since Thu 5 Mar 09:00 CET"
    assert facts["Stage due"] == "Thu 5 Mar 17:00 CET (in 7h)"  # from 09:00, when customer service opens
    assert facts["Promised by"] == "19 Mar 2026"
    assert facts["Assignee"] == "nobody"
    assert facts["Order"] == "ORD-777"
    assert facts["Customer"] == "Sanne de Vries · mila@example.nl · de"
    late_facts = _facts(page(client.get(f"/returns/{late.rma}", headers=hx())))
    assert late_facts["Promised by"] == "4 Mar 2026 promise broken"
    assert late_facts["Stage due"].endswith("late)")


def test_the_timeline_lists_every_event_with_actor_and_channel(client, session, workflow, runtime, now, jan):
    user, token = jan
    sam = make_user(session, name="Sam Slack")
    r = make_return(session, workflow, now=now - timedelta(hours=3))
    session.commit()
    assert _post(client, token, r.rma, "claim").status_code == 200
    with runtime.unit_of_work() as s:
        svc.flag_return(
            s, workflow, Actor.person(s.get(User, sam.id), Channel.SLACK), r.rma, "Waiting for photos", now=now
        )
        svc.add_comment(s, workflow, Actor.system("delay scan", Channel.JOB), r.rma, "Stage is late", now=now)
    assert _post(client, token, r.rma, "unflag").status_code == 200
    assert _post(client, token, r.rma, "shipping", carrier="DHL", tracking_number="JJD0001").status_code == 200
    assert _post(client, token, r.rma, "move", to_stage="approved", note="Label sent").status_code == 200

    events = page(client.get(f"/returns/{r.rma}", headers=hx())).find("ol", cls="timeline").find_all("li")
    seen = [(e.find("strong").text, e.find(cls="channel").text, (e.classes - {"event"}).pop()) for e in events]
    assert seen == [
        ("Jan de Boer", "web", "event-moved"),
        ("Jan de Boer", "web", "event-shipping_updated"),
        ("Jan de Boer", "web", "event-unflagged"),
        ("delay scan", "job", "event-commented"),
        ("Sam Slack", "slack", "event-flagged"),
        ("Jan de Boer", "web", "event-claimed"),
        ("test", "cli", "event-created"),
    ]
    assert len(events) == count(session, Event)
    texts = [e.text for e in events]
    assert texts[0].startswith("Jan de Boer moved it from “New request” to “Approved — label / pickup” web")
    assert texts[0].endswith("“Label sent”")
    assert texts[1].endswith("DHL JJD0001")
    # someone's own words (a note, a comment, a reason) are quoted, as Slack quotes them
    assert texts[3].endswith("“Stage is late”")
    assert texts[4].endswith("“Waiting for photos”")
    assert texts[6].startswith("test created the return in “New request” cli")
    assert events[6].find("time").text == "Thu 5 Mar 07:00"


# --- comments -----------------------------------------------------------------------------------


def test_a_comment_marks_up_mentions_and_escapes_everything_else(client, session, workflow, now, jan):
    user, token = jan
    make_user(session, name="Tess Teammate", email="tess@shop.example")
    r = make_return(session, workflow, now=now)
    session.commit()
    body = 'Hi @tess, see <script>alert("x")</script> and <img src=x onerror=alert(1)> & mail jan@shop.example'
    resp = _post(client, token, r.rma, "comment", body=body)
    assert resp.status_code == 200
    assert _notice(resp) == "Comment added."
    html = resp.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    tree = parse(html)
    comment = tree.find("ul", cls="comments").find("li", cls="comment")
    rendered = comment.find(cls="comment-body")
    assert [m.text for m in rendered.find_all("span", cls="mention")] == ["@tess"]  # not the e-mail address
    assert rendered.text == body
    assert comment.find("strong").text == "Jan de Boer"
    assert tree.find("ol", cls="timeline").find("li", cls="event-commented").find(cls="event-note").text == f"“{body}”"
    event = _last_event(session, r.rma)
    assert event.kind == "commented"
    assert event.payload["mentions"] == [_user_id(session, "tess@shop.example")]


def test_a_mention_at_the_end_of_a_sentence_leaves_the_full_stop_outside(client, session, workflow, now, jan):
    _, token = jan
    make_user(session, name="Tess Teammate", email="tess@shop.example")
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "comment", body="Over to @tess. Thanks @Jan.de.Boer!")
    rendered = page(resp).find(cls="comment-body")
    assert [m.text for m in rendered.find_all("span", cls="mention")] == ["@tess", "@Jan.de.Boer"]
    assert rendered.text == "Over to @tess. Thanks @Jan.de.Boer!"


def test_an_empty_comment_is_refused_next_to_the_box(client, session, workflow, now, jan):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "comment", body="   ")
    assert resp.status_code == 422
    assert _field_errors(resp) == ["a comment cannot be empty"]
    assert count(session, Comment) == 0


def test_a_refused_long_comment_keeps_its_text_in_the_box(client, session, workflow, now, jan):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "comment", body="x" * 5001)
    assert resp.status_code == 422
    assert _field_errors(resp) == ["at most 5000 characters (got 5001)"]
    assert page(resp).by_id("comment-body").text == "x" * 5001
    assert count(session, Comment) == 0


# --- owner --------------------------------------------------------------------------------------


def test_claiming_makes_me_the_assignee(client, session, workflow, now, jan):
    user, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "claim", version="1")
    assert resp.status_code == 200
    assert _notice(resp) == f"You now own {r.rma}."
    tree = page(resp)
    assert _facts(tree)["Assignee"] == "Jan de Boer"
    assert tree.find("form", action=f"/returns/{r.rma}/claim") is None  # nothing left to claim
    assert tree.by_id("detail").attrs["data-version"] == "2"
    after = state(session, r.rma)
    assert after.assignee_id == user.id
    assert after.event_kinds == ("created", "claimed")


def test_assigning_to_a_team_member_and_back_to_nobody(client, session, workflow, now, jan):
    _, token = jan
    tess = make_user(session, name="Tess Teammate")
    larry = make_user(session, team="logistics", name="Larry Logistics")
    lead = make_user(session, team=None, role=Role.LEAD, name="Lea Lead")
    r = make_return(session, workflow, now=now)
    session.commit()
    options = page(client.get(f"/returns/{r.rma}", headers=hx())).by_id("assignee_id").find_all("option")
    assert [o.text for o in options] == ["Nobody", "Jan de Boer", "Lea Lead", "Tess Teammate"]
    assert larry.name not in [o.text for o in options]

    resp = _post(client, token, r.rma, "assign", assignee_id=str(tess.id), version="1")
    assert resp.status_code == 200
    assert _notice(resp) == f"{r.rma} assigned to Tess Teammate."
    assert state(session, r.rma).assignee_id == tess.id
    assert "assigned it to Tess Teammate" in page(resp).find("li", cls="event-assigned").text

    resp = _post(client, token, r.rma, "assign", assignee_id=str(lead.id))
    assert resp.status_code == 200
    assert state(session, r.rma).assignee_id == lead.id

    resp = _post(client, token, r.rma, "assign", assignee_id="")
    assert resp.status_code == 200
    assert _notice(resp) == f"{r.rma} assigned to nobody."
    after = state(session, r.rma)
    assert after.assignee_id is None
    assert after.event_kinds == ("created", "assigned", "assigned", "unassigned")


def test_assigning_to_someone_outside_the_owning_team_is_refused(client, session, workflow, now, jan):
    _, token = jan
    larry = make_user(session, team="logistics", name="Larry Logistics")
    r = make_return(session, workflow, now=now)
    session.commit()
    before = state(session, r.rma)
    resp = _post(client, token, r.rma, "assign", assignee_id=str(larry.id), version="1")
    assert resp.status_code == 422
    message = "Larry Logistics is not on Customer service, which owns “New request”"
    assert message in _notice(resp)
    assert _field_errors(resp) == [message]
    assert state(session, r.rma) == before


def test_assigning_to_a_deactivated_user_is_refused(client, session, workflow, now, jan):
    _, token = jan
    gone = make_user(session, name="Gone Person")
    gone.is_active = False
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "assign", assignee_id=str(gone.id))
    assert resp.status_code == 422
    assert _field_errors(resp) == ["Gone Person is deactivated"]
    assert state(session, r.rma).assignee_id is None


@pytest.mark.parametrize(
    ("assignee_id", "message"),
    [
        ("99999", "no user with id 99999"),
        ("abc", "assignee_id must be a whole number, got 'abc'"),
        ("-1", "assignee_id must be a whole number, got '-1'"),
        ("²", "assignee_id must be a whole number, got '²'"),
        ("9" * 30, "assignee_id must be a whole number from 0 to 2147483647, got '" + "9" * 30 + "'"),
    ],
)
def test_assigning_to_someone_who_does_not_exist_is_a_bad_request(
    client, session, workflow, now, jan, assignee_id, message
):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "assign", assignee_id=assignee_id)
    assert resp.status_code == 400
    assert page(resp).by_id("toasts").text == message
    assert state(session, r.rma).events == 1


# --- blocked ------------------------------------------------------------------------------------


def test_flagging_with_a_reason_and_clearing_it(client, session, workflow, now, jan):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "flag", reason="  Waiting for photos  ", version="1")
    assert resp.status_code == 200
    assert _notice(resp) == f"{r.rma} is flagged as blocked."
    tree = page(resp)
    assert tree.find(cls="stage-line").find(cls="blocked").text == "Blocked"
    assert tree.find("aside").find(cls="blocked-reason").text == "Waiting for photos"
    assert tree.find("form", action=f"/returns/{r.rma}/unflag") is not None
    after = state(session, r.rma)
    assert (after.is_blocked, after.blocked_reason) == (True, "Waiting for photos")

    resp = _post(client, token, r.rma, "unflag", version="2")
    assert resp.status_code == 200
    assert _notice(resp) == f"{r.rma} is no longer blocked."
    assert page(resp).find("form", action=f"/returns/{r.rma}/flag") is not None
    after = state(session, r.rma)
    assert (after.is_blocked, after.blocked_reason) == (False, None)
    assert after.event_kinds == ("created", "flagged", "unflagged")


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        ("", "say why the return is blocked"),
        ("   ", "say why the return is blocked"),
        ("x" * 501, "at most 500 characters (got 501)"),
    ],
)
def test_flagging_needs_a_reason(client, session, workflow, now, jan, reason, error):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "flag", reason=reason)
    assert resp.status_code == 422
    assert _field_errors(resp) == [error]
    assert _notice(resp) == error
    assert state(session, r.rma).is_blocked is False


# --- moving, closing, reopening -----------------------------------------------------------------


def test_the_move_form_offers_the_next_stages_with_their_teams(client, session, workflow, now, jan):
    r = make_return(session, workflow, now=now)
    session.commit()
    options = page(client.get(f"/returns/{r.rma}", headers=hx())).by_id("to_stage").find_all("option")
    assert [(o.attrs["value"], o.text) for o in options] == [
        ("approved", "Approved — label / pickup (Logistics)"),
        ("rejected", "Rejected"),
    ]


def _move_form(tree):
    form = tree.find("form", cls="move-form")
    chosen = [o.attrs["value"] for o in form.by_id("to_stage").find_all("option") if "selected" in o.attrs]
    return form, chosen


@pytest.mark.parametrize(
    ("move_to", "chosen"),
    [(None, ["resolved"]), ("rejected", ["rejected"]), ("resolved", ["resolved"]), ("approved", ["resolved"])],
)
def test_the_move_form_opens_on_the_stage_asked_for(client, session, workflow, now, jan, move_to, chosen):
    # the board's drop on "Rejected" opens the details with ?move_to=rejected: that stage is chosen, not the first
    r = make_return(session, workflow, stage="inspected", now=now)
    session.commit()
    url = f"/returns/{r.rma}" + (f"?move_to={move_to}" if move_to else "")  # approved: not offered from here
    form, selected = _move_form(page(client.get(url, headers=hx(target="panel"))))
    assert selected == chosen
    options = {o.attrs["value"]: o.attrs.get("data-requires") for o in form.by_id("to_stage").find_all("option")}
    assert options == {"resolved": "resolution", "rejected": "reason"}  # what each stage needs, for the page
    assert form.by_id("resolution").attrs["data-required-for"] == "resolution"
    assert form.by_id("rejection-reason").attrs["data-required-for"] == "reason"
    assert form.by_id("move-note").attrs["data-required-for"] == "note"
    labels = [n.text for n in form.find_all("label")]
    assert "Extra note for the customer (optional)" in labels[-1]
    assert "Note (optional)" in labels[-1]


def test_the_move_form_names_a_note_optional_where_no_stage_needs_a_reason(client, session, workflow, now):
    r = make_return(session, workflow, stage="received", now=now)
    session.commit()
    login_as(client, session, team="warehouse")
    form, selected = _move_form(page(client.get(f"/returns/{r.rma}?move_to=inspected", headers=hx())))
    assert selected == ["inspected"]
    assert form.find("label", for_="move-note").text == "Note (optional)"
    assert not form.has_id("resolution")


def test_a_refused_move_keeps_the_stage_the_resolution_and_the_note(client, session, workflow, now, jan):
    _, token = jan
    r = make_return(session, workflow, stage="inspected", now=now)
    session.commit()
    resp = _post(client, token, r.rma, "move", to_stage="rejected", note="Seal broken", version="1")
    assert resp.status_code == 422
    form, selected = _move_form(page(resp))
    assert selected == ["rejected"]  # not back on "Resolved", the first stage offered
    assert _field_errors(resp) == ["Choose the reason the customer reads: moving to “Rejected” needs one."]
    assert form.by_id("move-note").text == "Seal broken"
    resp = _post(client, token, r.rma, "move", to_stage="rejected", rejection_reason="other", version="1")
    form, _ = _move_form(page(resp))
    assert _field_errors(resp) == [
        "Write a note for the customer: “Other (explain in the note)” says too little on its own."
    ]
    chosen = [o.attrs["value"] for o in form.by_id("rejection-reason").find_all("option") if "selected" in o.attrs]
    assert chosen == ["other"]  # the reason chosen stays, with its text in the preview
    assert form.find("q").text == "Onze klantenservice legt hieronder uit waarom."  # the customer reads Dutch

    resp = _post(client, token, r.rma, "move", to_stage="resolved", resolution="", note="Kept the box", version="1")
    assert resp.status_code == 422
    form, selected = _move_form(page(resp))
    assert selected == ["resolved"]
    assert form.by_id("move-note").text == "Kept the box"
    resp = _post(client, token, r.rma, "move", to_stage="resolved", resolution="voucher", version="1")
    form, _ = _move_form(page(resp))
    assert [o.attrs["value"] for o in form.by_id("resolution").find_all("option") if "selected" in o.attrs] == []
    resp = _post(client, token, r.rma, "move", to_stage="resolved", resolution="refund", version="2")  # stale
    assert resp.status_code == 409
    form, selected = _move_form(page(resp))
    assert selected == ["resolved"]
    assert [o.attrs["value"] for o in form.by_id("resolution").find_all("option") if "selected" in o.attrs] == [
        "refund"
    ]
    assert state(session, r.rma).stage == "inspected"

    # a change that is not a move does not carry a move's fields over
    resp = _post(client, token, r.rma, "flag", reason="", version="1")
    assert resp.status_code == 422
    form, selected = _move_form(page(resp))
    assert selected == ["resolved"]  # the first stage offered
    assert form.by_id("move-note").text == ""


def test_moving_to_the_next_stage(client, session, workflow, now, jan):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "move", to_stage="approved", version="1")
    assert resp.status_code == 200
    assert _notice(resp) == f"{r.rma} moved to “Approved — label / pickup”."
    tree = page(resp)
    assert tree.find(cls="stage-chip").text == "Approved — label / pickup"
    assert tree.find("form", action=f"/returns/{r.rma}/move") is None  # logistics' now
    assert state(session, r.rma).stage == "approved"


def test_resolving_needs_a_resolution(client, session, workflow, now):
    r = make_return(session, workflow, stage="inspected", now=now)
    session.commit()
    client_user, token = login_as(client, session, team="customer_service")
    resp = _post(client, token, r.rma, "move", to_stage="resolved", version="1")
    assert resp.status_code == 422
    assert _field_errors(resp) == ["Choose how it was resolved: refund, exchange or store credit."]
    resp = _post(client, token, r.rma, "move", to_stage="resolved", resolution="voucher", version="1")
    assert resp.status_code == 422
    assert _field_errors(resp) == [
        "“voucher” is not a resolution this shop offers; choose refund, exchange or store credit."
    ]
    assert state(session, r.rma).stage == "inspected"

    resp = _post(client, token, r.rma, "move", to_stage="resolved", resolution="store_credit", version="1")
    assert resp.status_code == 200
    tree = page(resp)
    assert tree.find(cls="stage-line").find(cls="resolved").text == "Store credit"
    assert "· store credit" in tree.find("li", cls="event-closed").text
    after = state(session, r.rma)
    assert (after.stage, after.resolution) == ("resolved", "store_credit")
    assert after.event_kinds[-1] == "closed"


def test_rejecting_needs_a_reason_for_the_customer(client, session, workflow, now, jan):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "move", to_stage="rejected", note="Delivered 45 days ago", version="1")
    assert resp.status_code == 422
    assert _field_errors(resp) == ["Choose the reason the customer reads: moving to “Rejected” needs one."]
    resp = _post(client, token, r.rma, "move", to_stage="rejected", rejection_reason="late", version="1")
    assert resp.status_code == 422
    assert _field_errors(resp) == [
        "There is no rejection reason “late”; reasons are: outside_window, used_or_damaged, final_sale, "
        "no_proof_of_purchase, missing_parts, other."
    ]
    assert state(session, r.rma).stage == "new"
    assert list(state(session, r.rma).event_kinds) == ["created"]

    resp = _post(
        client,
        token,
        r.rma,
        "move",
        to_stage="rejected",
        rejection_reason="outside_window",
        note="Delivered 45 days ago",
        version="1",
    )
    assert resp.status_code == 200
    event = page(resp).find("li", cls="event-closed")
    assert "· Outside the return window" in event.text  # the timeline names the reason
    assert event.find(cls="event-note").text == "“Delivered 45 days ago”"
    assert state(session, r.rma).stage == "rejected"


@pytest.mark.parametrize(
    ("locale", "language", "text"),
    [
        ("de-DE", "German", "Die Artikel wurden im Ausverkauf gekauft; nach unseren Rückgaberegeln"),
        ("nl", "Dutch", "De artikelen zijn gekocht als eindverkoop; volgens ons retourbeleid"),
        ("fr", "English", "The items were bought as final sale, which our return policy excludes"),
    ],
)
def test_the_reject_form_says_what_the_customer_reads_and_in_which_language(
    client, session, workflow, now, jan, locale, language, text
):
    r = make_return(session, workflow, now=now, customer_locale=locale)
    session.commit()
    form, _ = _move_form(page(client.get(f"/returns/{r.rma}?move_to=rejected", headers=hx(target="panel"))))
    select = form.by_id("rejection-reason")
    assert select.attrs["name"] == "rejection_reason"
    assert select.attrs["aria-describedby"] == "reason-preview"
    options = select.find_all("option")
    assert [o.text for o in options] == [
        "Choose a reason…",
        "Outside the return window",
        "Used or damaged by the customer",
        "Final-sale item",
        "No proof of purchase",
        "Parts or accessories missing",
        "Other (explain in the note)",
    ]
    final_sale = next(o for o in options if o.attrs["value"] == "final_sale")
    assert final_sale.attrs["data-text"].startswith(text)  # the preview board.js shows, in the customer's language
    preview = form.by_id("reason-preview")
    assert f"The customer gets an e-mail in {language} and sees on their status page" in preview.text
    assert form.find("q").attrs["lang"] == locale[:2] if language != "English" else form.find("q").attrs["lang"] == "en"
    assert f"Sent to the customer word for word, under the reason: write it in {language}." in form.text


@pytest.mark.parametrize(("closed", "back_to"), [("resolved", "inspected"), ("rejected", "new")])
def test_reopening_a_closed_return(client, session, workflow, now, jan, closed, back_to):
    _, token = jan
    r = make_return(session, workflow, stage=closed, now=now - timedelta(days=1))
    session.commit()
    tree = page(client.get(f"/returns/{r.rma}", headers=hx()))
    assert tree.find("form", action=f"/returns/{r.rma}/move").find("button").text == "Reopen"
    resp = _post(client, token, r.rma, "reopen", note="Customer sent the wrong parcel", version="1")
    assert resp.status_code == 200
    assert _notice(resp) == f"{r.rma} is reopened."
    event = page(resp).find("li", cls="event-reopened")
    assert f"from “{workflow.stages[closed].name}” to “{workflow.stages[back_to].name}”" in event.text
    after = state(session, r.rma)
    assert after.stage == back_to
    assert after.event_kinds == ("created", "reopened")


@pytest.mark.parametrize(
    ("action", "notice"),
    [
        ("unflag", "{rma} is not blocked."),
        ("reopen", "{rma} is not closed; it is in “New request”."),
    ],
    ids=["clearing-a-block-that-is-not-there", "reopening-an-open-return"],
)
def test_a_change_that_does_not_fit_the_return_is_refused(client, session, workflow, now, jan, action, notice):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, action)
    assert resp.status_code == 409
    assert _notice(resp) == notice.format(rma=r.rma)


# --- shipping -----------------------------------------------------------------------------------


def test_editing_the_shipping_details(client, session, workflow, now, jan):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "shipping", carrier=" PostNL ", tracking_number=" 3SABC123 ", version="1")
    assert resp.status_code == 200
    assert _notice(resp) == "Shipping details saved."
    tree = page(resp)
    assert tree.by_id("carrier").attrs["value"] == "PostNL"
    assert tree.by_id("tracking_number").attrs["value"] == "3SABC123"
    after = state(session, r.rma)
    assert (after.carrier, after.tracking_number) == ("PostNL", "3SABC123")
    # saving the same details again changes nothing
    assert _post(client, token, r.rma, "shipping", carrier="PostNL", tracking_number="3SABC123").status_code == 200
    assert state(session, r.rma).event_kinds == ("created", "shipping_updated")


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({"carrier": "", "tracking_number": "3SABC123"}, ["name the carrier of this tracking number"]),
        ({"carrier": "x" * 61, "tracking_number": ""}, ["at most 60 characters (got 61)"]),
        ({"carrier": "DHL", "tracking_number": "9" * 81}, ["at most 80 characters (got 81)"]),
    ],
)
def test_bad_shipping_details_are_refused_next_to_the_field(client, session, workflow, now, jan, form, errors):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "shipping", **form)
    assert resp.status_code == 422
    assert _field_errors(resp) == errors
    assert state(session, r.rma).carrier is None


# --- conflicts, unknown returns, no htmx --------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "form"),
    [
        ("move", {"to_stage": "approved"}),
        ("claim", {}),
        ("assign", {"assignee_id": ""}),
        ("flag", {"reason": "Waiting"}),
        ("shipping", {"carrier": "DHL", "tracking_number": "1"}),
    ],
)
def test_a_stale_version_is_refused_naming_who_changed_it(client, session, workflow, now, jan, action, form):
    _, token = jan
    bob = make_user(session, name="Bob Smith")
    r = make_return(session, workflow, now=now)
    session.commit()
    loaded = page(client.get(f"/returns/{r.rma}", headers=hx())).by_id("detail").attrs["data-version"]
    svc.claim_return(session, workflow, Actor.person(bob, Channel.SLACK), r.rma, now=now)
    session.commit()
    before = state(session, r.rma)
    resp = _post(client, token, r.rma, action, version=loaded, **form)
    assert resp.status_code == 409
    assert _notice(resp) == (
        f"{r.rma} was changed by Bob Smith (claimed, Thu 5 Mar 10:00 CET) after you opened it; nothing was changed. "
        "The panel now shows the change; check it and try again."
    )
    assert page(resp).by_id("detail").attrs["data-version"] == str(before.version)  # the retry uses the new one
    assert state(session, r.rma) == before


def test_a_version_that_is_not_a_number_is_a_bad_request(client, session, workflow, now, jan):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = _post(client, token, r.rma, "claim", version="two")
    assert resp.status_code == 400
    assert state(session, r.rma).assignee_id is None


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_an_unknown_return_is_404(client, session, jan, htmx):
    resp = client.get("/returns/RMA-404", headers=hx() if htmx else None)
    assert resp.status_code == 404
    assert "no return RMA-404" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "action", ["move", "claim", "assign", "comment", "flag", "unflag", "snooze", "reopen", "shipping"]
)
def test_changing_an_unknown_return_is_404(client, session, jan, action):
    _, token = jan
    resp = _post(client, token, "RMA-404", action, to_stage="approved", body="Hi", reason="x", carrier="DHL")
    assert resp.status_code == 404
    toast = page(resp).by_id("toasts")
    assert toast.attrs["hx-swap-oob"] == "beforeend"
    assert "no return RMA-404" in toast.text
    assert count(session, Event) == 0


def test_without_htmx_a_change_redirects_to_the_detail_with_a_message(client, session, workflow, now, jan):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = client.post(f"/returns/{r.rma}/claim", data={"csrf_token": token, "version": "1"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/returns/{r.rma}"
    follow = page(client.get(resp.headers["Location"]))
    assert follow.by_id("toasts").find(cls="toast").text == f"You now own {r.rma}."


def test_without_htmx_a_refused_change_answers_with_the_page_its_status_and_the_field_error(
    client, session, workflow, now, jan
):
    _, token = jan
    r = make_return(session, workflow, now=now)
    session.commit()
    resp = client.post(f"/returns/{r.rma}/flag", data={"csrf_token": token, "reason": ""})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    assert _notice(resp) == "say why the return is blocked"
    assert _field_errors(resp) == ["say why the return is blocked"]
    other = make_return(session, workflow, stage="approved", now=now)
    session.commit()
    resp = client.post(f"/returns/{other.rma}/claim", data={"csrf_token": token})
    assert resp.status_code == 403
    assert "belongs to Logistics" in _notice(resp)


def _last_event(session, rma: str) -> Event:
    session.commit()
    event = session.scalar(select(Event).join(Return).where(Return.rma == rma).order_by(Event.id.desc()).limit(1))
    session.commit()
    return event


def _user_id(session, email: str) -> int:
    uid = session.scalar(select(User.id).where(User.email == email))
    session.commit()
    return uid
