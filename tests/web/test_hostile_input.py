"""Hostile input at the web's edge: control characters in any text and integers past the columns' range get a
400 that names the field (never a 500, on PostgreSQL too), with or without a login, and change nothing."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from hub.accounts.models import Role
from hub.notifications.models import Notification
from hub.returns.models import Return
from tests.factories import make_return
from tests.web.support import csrf_token, hx, login_as, page, state

CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x1b", "\x1f"]
BIG = ["2147483648", "9999999999", "99999999999999999999", "1" * 5000]
TOO_BIG_IDS = BIG[:3]


@pytest.fixture
def staff(client, session, workflow):
    """An admin on customer service, logged in, and a return in the first stage: (rma, CSRF token)."""
    _user, token = login_as(client, session, role=Role.ADMIN)
    r = make_return(session, workflow)
    session.commit()
    return r.rma, token


def _forms(client, path: str) -> list[tuple[str, str, list[str]]]:
    """(method, action, field names) of every form on a page (htmx's hx-post and hx-get included)."""
    out = []
    for form in page(client.get(path)).find_all("form"):
        attrs = form.attrs
        if "hx-post" in attrs or (attrs.get("method") or "get").lower() == "post":
            method, action = "POST", attrs.get("hx-post") or attrs.get("action") or path
        else:
            method, action = "GET", attrs.get("hx-get") or attrs.get("action") or path
        names = sorted(
            {
                n.attrs["name"]
                for n in form.iter()
                if n.tag in ("input", "select", "textarea") and n.attrs.get("name") and n.attrs["name"] != "csrf_token"
            }
        )
        out.append((method, action, names))
    return out


def _staff_fields(client, rma: str) -> list[tuple[str, str, str]]:
    pages = ["/board", f"/returns/{rma}", "/returns/new", "/account", "/admin/notifications"]
    found = {(m, a, n) for p in pages for m, a, names in _forms(client, p) for n in names}
    return sorted(found)


def _send(client, method: str, action: str, data: dict[str, str], token: str, *, htmx: bool = False):
    headers = hx(token) if htmx else {}
    if method == "GET":
        return client.get(action, query_string=data, headers=headers)
    return client.post(action, data={**data, "csrf_token": token}, headers=headers)


def test_every_field_of_every_staff_form_refuses_a_nul_and_names_it(client, session, staff):
    rma, token = staff
    before = state(session, rma)
    fields = _staff_fields(client, rma)
    names = {n for _m, _a, n in fields}
    # the forms were read: the fields of the new-return form, the return's actions and the board's filters
    assert {"customer_name", "items-0-reason_note", "body", "reason", "note", "tracking_number", "q"} <= names
    assert {"assignee_id", "version", "to_stage", "time_zone"} <= names

    wrong = []
    for method, action, name in fields:
        for htmx in (False, True):
            resp = _send(client, method, action, {name: "a\x00b"}, token, htmx=htmx)
            text = resp.get_data(as_text=True)
            if resp.status_code != 400 or f"The field {name} contains a control character (U+0000)" not in text:
                wrong.append((method, action, name, htmx, resp.status_code, text[:200]))
    assert wrong == []
    assert state(session, rma) == before


@pytest.mark.parametrize("char", CONTROL, ids=repr)
@pytest.mark.parametrize(
    "field", ["customer_name", "customer_email", "order_number", "items-0-product_name", "items-0-reason_note"]
)
def test_a_new_return_with_a_control_character_is_refused_and_nothing_is_created(
    client, session, staff, workflow, char, field
):
    _rma, token = staff
    data = {
        "order_number": "ORD-77001",
        "customer_name": "Ann Smith",
        "customer_email": "ann@example.com",
        "customer_locale": "en",
        "priority": "normal",
        "items-0-sku": "SKU-1",
        "items-0-product_name": "Shoe",
        "items-0-quantity": "1",
        "items-0-unit_price": "10.00",
        "items-0-reason_code": "too_small",
        "items-0-reason_note": "",
        "csrf_token": token,
    }
    data[field] = f"x{char}y"

    resp = client.post("/returns/new", data=data)

    assert resp.status_code == 400
    assert f"The field {field} contains a control character (U+{ord(char):04X})" in resp.get_data(as_text=True)
    session.commit()
    assert session.scalar(select(Return).where(Return.order_number == "ORD-77001")) is None


@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_a_comment_with_a_control_character_is_refused_as_an_htmx_toast(client, session, staff, char):
    rma, token = staff
    before = state(session, rma)

    resp = client.post(f"/returns/{rma}/comment", data={"body": f"hi{char}there"}, headers=hx(token))

    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "The field body contains a control character" in text
    assert "toast" in text  # the usual htmx error: a toast out of band, not a whole page
    assert state(session, rma) == before


def test_tab_newline_and_crlf_in_form_text_are_fine(client, session, staff):
    rma, token = staff
    resp = client.post(f"/returns/{rma}/comment", data={"body": "one\r\ntwo\n\tthree", "csrf_token": token})
    assert resp.status_code == 302
    assert state(session, rma).event_kinds[-1] == "commented"


# --- without a login ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_the_login_form_refuses_a_control_character_and_names_the_field(client, char):
    token = csrf_token(client)
    for name in ("email", "password"):
        data = {"email": "a@shop.example", "password": "secret", "csrf_token": token, name: f"a{char}@shop.example"}
        resp = client.post("/login", data=data)
        assert resp.status_code == 400, (name, resp.get_data(as_text=True)[:300])
        assert f"The field {name} contains a control character" in resp.get_data(as_text=True)


@pytest.mark.parametrize("char", CONTROL, ids=repr)
@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/status/{c}", "The address"),
        ("/status/abcdefghijklmnopqrstuvwxyz{c}", "The address"),
        ("/status/abcdefghijklmnopqrstuvwxyz?lang=nl{c}", "The field lang"),
        ("/login?next=/board{c}", "The field next"),
        ("/board?q=shoe{c}", "The field q"),
        ("/board?team=warehouse{c}", "The field team"),
        ("/returns/RMA-1{c}", "The address"),
    ],
)
def test_public_and_staff_addresses_refuse_a_control_character_without_a_login(client, url, named, char):
    resp = client.get(url.format(c=quote(char)))
    assert resp.status_code == 400
    assert f"{named} contains a control character (U+{ord(char):04X})" in resp.get_data(as_text=True)


def test_a_control_character_in_a_field_name_is_refused_too(client):
    resp = client.get("/board?" + quote("q\x00") + "=x")
    assert resp.status_code == 400
    assert "contains a control character" in resp.get_data(as_text=True)


@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_a_nul_in_the_board_search_is_refused_when_logged_in(client, session, staff, char):
    resp = client.get("/board", query_string={"q": f"shoe{char}"}, headers=hx(target="board"))
    assert resp.status_code == 400
    assert "The field q contains a control character" in resp.get_data(as_text=True)


# --- integers past the columns' range --------------------------------------------------------------------------


@pytest.mark.parametrize("big", BIG, ids=len)
@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/board?assignee={n}", "assignee"),
        ("/board/changes?after={n}", "after"),
        ("/board/columns/received?offset={n}", "offset"),
    ],
)
def test_a_query_number_past_the_range_is_a_400_that_names_it(client, session, staff, url, named, big):
    resp = client.get(url.format(n=big))
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert f"{named} must be a whole number from 0 to 2147483647" in resp.get_data(as_text=True)


def test_the_largest_id_is_still_a_number(client, session, staff):
    assert client.get("/board?assignee=2147483647").status_code == 200
    assert client.get("/board/changes?after=2147483647").status_code == 200


@pytest.mark.parametrize("big", BIG, ids=len)
@pytest.mark.parametrize(
    ("action", "field"),
    [("assign", "assignee_id"), ("claim", "version"), ("flag", "version"), ("shipping", "version")],
)
def test_a_form_number_past_the_range_is_a_400_that_names_it(client, session, staff, action, field, big):
    rma, token = staff
    before = state(session, rma)
    data = {"csrf_token": token, "reason": "lost", "carrier": "DHL", "tracking_number": "JD1", field: big}

    resp = client.post(f"/returns/{rma}/{action}", data=data)

    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert f"{field} must be a whole number from 0 to 2147483647" in resp.get_data(as_text=True)
    assert state(session, rma) == before


@pytest.mark.parametrize("big", TOO_BIG_IDS, ids=len)
def test_a_notification_id_past_the_range_is_a_400_that_names_it(client, session, staff, big):
    _rma, token = staff
    resp = client.post(f"/admin/notifications/{big}/retry", data={"csrf_token": token})
    assert resp.status_code == 400
    assert "the notification id must be a whole number from 0 to 2147483647" in resp.get_data(as_text=True)
    session.commit()
    assert session.scalars(select(Notification)).all() == []


def test_the_largest_notification_id_names_no_notification(client, session, staff):
    _rma, token = staff
    assert client.post("/admin/notifications/2147483647/retry", data={"csrf_token": token}).status_code == 404
    assert client.post("/admin/notifications/x1/retry", data={"csrf_token": token}).status_code == 400
