"""The new-return form: who may use it, a return created from it, and every refusal shown next to its field."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.accounts.models import Role
from hub.core.config import CUSTOMER_LANGUAGES
from hub.returns.drafts import MAX_ITEM_LENGTH, MAX_LENGTH, MAX_QUANTITY
from hub.returns.models import Channel, Event, Return
from tests.web.support import (
    count,
    hx,
    login_as,
    page,
    parse,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def cs(client, session):
    """A customer service member, logged in: (user, CSRF token)."""
    return login_as(client, session, team="customer_service", name="Carla Service")


def _form(now, **overrides: str) -> dict[str, str]:
    form = {
        "order_number": "ORD-88231",
        "customer_name": "Eva Jansen",
        "customer_email": "Eva.Jansen@Example.NL",
        "customer_locale": "nl",
        "delivered_on": (now.date() - timedelta(days=5)).isoformat(),
        "priority": "high",
        "carrier": "",
        "tracking_number": "",
        "items-0-sku": "jeans-32",
        "items-0-product_name": "Jeans 32/34",
        "items-0-quantity": "1",
        "items-0-unit_price": "59,95",
        "items-0-reason_code": "too_large",
        "items-0-reason_note": "Too wide",
        "items-0-category": "",
    }
    form.update(overrides)
    return form


def _error_next_to(tree, name: str) -> str | None:
    """The error shown in the field that holds the input or select with this name."""
    control = tree.find(name=name)
    assert control is not None, f"no field {name}"
    field = control.parent
    while "field" not in field.classes:
        field = field.parent
    error = field.find(cls="field-error")
    if error is None:
        assert "has-error" not in field.classes
        return None
    assert "has-error" in field.classes
    return error.text


def _saved(session) -> list[Return]:
    session.commit()
    rows = list(session.scalars(select(Return).options(selectinload(Return.items), selectinload(Return.events))))
    session.commit()
    return rows


# --- who may ------------------------------------------------------------------------------------


def test_the_form_starts_with_one_empty_item_row(client, cs):
    resp = client.get("/returns/new")
    assert resp.status_code == 200
    tree = page(resp)
    form = tree.by_id("new-return")
    assert form.attrs["action"] == "/returns/new"
    assert form.attrs["hx-post"] == "/returns/new"
    assert [n.attrs["id"] for n in form.find_all(cls="item-row")] == ["item-0"]
    assert tree.by_id("items-0-quantity").attrs["value"] == "1"
    assert tree.by_id("items-0-unit_price").attrs["value"] == ""
    assert tree.by_id("f-customer_locale").find("option", selected="").attrs["value"] == "en"
    assert tree.by_id("f-priority").find("option", selected="").attrs["value"] == "normal"
    reasons = [o.attrs["value"] for o in tree.by_id("items-0-reason_code").find_all("option")]
    assert reasons[0] == ""
    assert "too_small" in reasons
    assert tree.by_id("add-item").find("button").attrs["hx-get"] == "/returns/new/item?i=1"
    assert tree.find(cls="field-error") is None
    assert tree.find(cls="notice-error") is None


@pytest.mark.parametrize(
    ("team", "role", "status"),
    [
        ("customer_service", Role.MEMBER, 200),
        ("logistics", Role.LEAD, 200),
        (None, Role.ADMIN, 200),
        ("logistics", Role.MEMBER, 403),
        ("warehouse", Role.MEMBER, 403),
        (None, Role.MEMBER, 403),
    ],
)
def test_only_customer_service_leads_and_admins_may_open_and_send_the_form(client, session, now, team, role, status):
    _, token = login_as(client, session, team=team, role=role)
    assert client.get("/returns/new").status_code == status
    resp = client.post("/returns/new", data={**_form(now), "csrf_token": token})
    assert resp.status_code == (302 if status == 200 else 403)
    assert count(session, Return) == (1 if status == 200 else 0)


# --- creating -----------------------------------------------------------------------------------


def test_a_valid_form_creates_the_return_and_opens_it(client, session, now, cs):
    user, token = cs
    form = _form(
        now,
        **{
            "items-1-sku": "BELT-01",
            "items-1-product_name": "Belt",
            "items-1-quantity": "2",
            "items-1-unit_price": "15",
            "items-1-reason_code": "defective",
            "items-1-category": "Accessories",
            "carrier": "PostNL",
            "tracking_number": "3SABC",
        },
    )
    resp = client.post("/returns/new", data={**form, "csrf_token": token})
    assert resp.status_code == 302
    [r] = _saved(session)
    assert resp.headers["Location"] == f"/returns/{r.rma}"
    assert r.rma == "RMA-1001"
    assert (r.order_number, r.customer_name, r.customer_email, r.customer_locale) == (
        "ORD-88231",
        "Eva Jansen",
        "eva.jansen@example.nl",
        "nl",
    )
    assert r.delivered_on == now.date() - timedelta(days=5)
    assert (r.priority, r.carrier, r.tracking_number, r.stage) == (2, "PostNL", "3SABC", "new")
    assert r.created_at == now
    assert [
        (i.sku, i.product_name, i.quantity, i.unit_price, i.reason_code, i.reason_note, i.category) for i in r.items
    ] == [
        ("JEANS-32", "Jeans 32/34", 1, Decimal("59.95"), "too_large", "Too wide", None),
        ("BELT-01", "Belt", 2, Decimal("15.00"), "defective", None, "accessories"),
    ]
    [event] = r.events
    assert (event.kind, event.to_stage, event.actor_id, event.actor_label, event.channel) == (
        "created",
        "new",
        user.id,
        "Carla Service",
        Channel.WEB,
    )

    detail = page(client.get(resp.headers["Location"]))
    assert detail.by_id("toasts").find(cls="toast").text == "RMA-1001 created for Eva Jansen."
    assert detail.by_id("detail").attrs["data-rma"] == "RMA-1001"


def test_an_htmx_form_is_sent_to_the_new_return_by_hx_redirect(client, session, now, cs):
    _, token = cs
    resp = client.post("/returns/new", data=_form(now), headers=hx(token))
    assert resp.status_code == 204
    assert resp.headers["HX-Redirect"] == "/returns/RMA-1001"
    assert resp.get_data() == b""
    assert count(session, Return) == 1


def test_an_empty_extra_item_row_is_ignored(client, session, now, cs):
    _, token = cs
    form = _form(
        now,
        **{
            "items-1-sku": " ",
            "items-1-product_name": "",
            "items-1-quantity": "1",
            "items-1-unit_price": "",
            "items-1-reason_code": "",
        },
    )
    assert client.post("/returns/new", data=form, headers=hx(token)).status_code == 204
    [r] = _saved(session)
    assert [i.sku for i in r.items] == ["JEANS-32"]


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"customer_email": "eva at example.nl"}, "customer_email", "“eva at example.nl” is not an e-mail address."),
        ({"customer_email": ""}, "customer_email", "The customer's e-mail address is required."),
        ({"order_number": "   "}, "order_number", "The order number is required."),
        ({"customer_name": "x" * 201}, "customer_name", "The customer's name is 201 characters long; at most 200 fit."),
        (
            {"items-0-reason_code": "teleported"},
            "items-0-reason_code",
            "“teleported” is not a return reason; reasons are: too_small, too_large, damaged, defective, wrong_item, "
            "not_as_described, changed_mind, late_delivery, missing_parts",
        ),
        ({"items-0-reason_code": ""}, "items-0-reason_code", "The return reason is required."),
        ({"items-0-sku": "giftcard"}, "items-0-sku", "GIFTCARD cannot be returned: the return policy excludes it."),
        (
            {"items-0-category": "Underwear"},
            "items-0-category",
            "underwear items cannot be returned: the return policy excludes them.",
        ),
        ({"items-0-quantity": "0"}, "items-0-quantity", "The quantity must be at least 1 (got 0)."),
        ({"items-0-quantity": "1.5"}, "items-0-quantity", "The quantity “1.5” is not a whole number."),
        ({"items-0-unit_price": "abc"}, "items-0-unit_price", "The unit price “abc” is not an amount like 19.95."),
        ({"items-0-unit_price": "-1"}, "items-0-unit_price", "The unit price “-1” is not an amount like 19.95."),
        ({"items-0-unit_price": "1.999"}, "items-0-unit_price", "The unit price “1.999” has more than two decimals."),
        (
            {"delivered_on": "2026-02-02"},
            "delivered_on",
            "Delivered 2026-02-02, 31 days ago: that is outside the 30-day return window.",
        ),
        ({"delivered_on": "2026-03-06"}, "delivered_on", "The delivery date 2026-03-06 is in the future."),
        ({"items-0-unit_price": ""}, "items-0-unit_price", "The unit price is required (0 for an item that was free)."),
        ({"items-0-quantity": " "}, "items-0-quantity", "The quantity is required."),
        ({"delivered_on": "last week"}, "delivered_on", "The delivery date “last week” is not a date like 2026-03-01."),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
def test_invalid_input_is_refused_next_to_its_field_and_nothing_is_saved(
    client, session, now, cs, overrides, field, message
):
    _, token = cs
    resp = client.post("/returns/new", data={**_form(now, **overrides), "csrf_token": token})
    assert resp.status_code == 422
    tree = page(resp)
    assert _error_next_to(tree, field) == message
    assert [n.text for n in tree.find_all(cls="field-error")] == [message]  # and nowhere else
    assert tree.find(cls="notice-error").text == "Please correct the 1 field marked below; nothing was saved."
    assert tree.find(name="customer_name").attrs["value"] == _form(now, **overrides)["customer_name"]
    assert count(session, Return) == 0
    assert count(session, Event) == 0


def test_top_level_errors_mark_the_input_for_assistive_technology(client, now, cs):
    _, token = cs
    tree = page(client.post("/returns/new", data={**_form(now, customer_email="nope"), "csrf_token": token}))
    email = tree.by_id("f-customer_email")
    assert email.attrs["aria-invalid"] == "true"
    assert email.attrs["aria-describedby"] == "e-customer_email"
    assert tree.by_id("e-customer_email").text == "“nope” is not an e-mail address."


def test_every_bad_field_is_named_at_once_and_the_typed_values_stay(client, session, now, cs):
    _, token = cs
    form = _form(
        now,
        customer_email="nope",
        **{
            "items-0-quantity": "0",
            "items-1-sku": "GIFTCARD",
            "items-1-product_name": "Gift card",
            "items-1-quantity": "1",
            "items-1-unit_price": "abc",
            "items-1-reason_code": "changed_mind",
        },
    )
    resp = client.post("/returns/new", data={**form, "csrf_token": token})
    assert resp.status_code == 422
    tree = page(resp)
    assert tree.find(cls="notice-error").text == "Please correct the 4 fields marked below; nothing was saved."
    assert _error_next_to(tree, "customer_email") == "“nope” is not an e-mail address."
    assert _error_next_to(tree, "items-0-quantity") == "The quantity must be at least 1 (got 0)."
    assert _error_next_to(tree, "items-1-sku") == "GIFTCARD cannot be returned: the return policy excludes it."
    assert _error_next_to(tree, "items-1-unit_price") == "The unit price “abc” is not an amount like 19.95."
    assert _error_next_to(tree, "items-0-sku") is None
    assert tree.by_id("items-1-product_name").attrs["value"] == "Gift card"
    assert tree.by_id("items-1-reason_code").find("option", selected="").attrs["value"] == "changed_mind"
    assert tree.by_id("f-priority").find("option", selected="").attrs["value"] == "high"
    assert tree.by_id("add-item").find("button").attrs["hx-get"] == "/returns/new/item?i=2"
    assert count(session, Return) == 0


def test_an_htmx_form_with_errors_gets_only_the_form_back(client, session, now, cs):
    _, token = cs
    resp = client.post("/returns/new", data=_form(now, **{"items-0-unit_price": "abc"}), headers=hx(token))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "<html" not in html
    top = [n for n in parse(html).children if not isinstance(n, str)]
    assert [(n.tag, n.attrs.get("id")) for n in top] == [("form", "new-return")]
    assert count(session, Return) == 0


# --- the customer's language -------------------------------------------------------------------


def test_the_form_offers_exactly_the_languages_customers_are_written_in(client, cs):
    options = page(client.get("/returns/new")).by_id("f-customer_locale").find_all("option")

    # each in its own name (and marked as such, for screen readers); no language without a catalogue
    assert [(o.attrs["value"], o.text, o.attrs.get("lang")) for o in options] == [
        ("en", "English", "en"),
        ("nl", "Nederlands", "nl"),
        ("de", "Deutsch", "de"),
    ]
    assert [o.attrs["value"] for o in options] == list(CUSTOMER_LANGUAGES)


def test_a_german_customer_keeps_the_choice_on_an_error_and_is_saved(client, session, now, cs):
    _, token = cs
    refused = client.post(
        "/returns/new", data={**_form(now, customer_locale="de", customer_email="nope"), "csrf_token": token}
    )
    assert refused.status_code == 422
    assert page(refused).by_id("f-customer_locale").find("option", selected="").attrs["value"] == "de"

    resp = client.post("/returns/new", data={**_form(now, customer_locale="de"), "csrf_token": token})

    assert resp.status_code == 302
    [r] = _saved(session)
    assert r.customer_locale == "de"


# --- extra item rows ----------------------------------------------------------------------------


def test_one_more_item_row_comes_with_a_fresh_add_button(client, cs):
    resp = client.get("/returns/new/item?i=1", headers=hx())
    assert resp.status_code == 200
    tree = page(resp)
    row = tree.by_id("item-1")
    names = [n.attrs["name"] for n in row.find_all() if n.tag in ("input", "select")]
    assert names == [
        f"items-1-{k}"
        for k in ("sku", "product_name", "category", "quantity", "unit_price", "reason_code", "reason_note")
    ]
    assert tree.by_id("items-1-quantity").attrs["value"] == "1"
    assert tree.by_id("items-1-unit_price").attrs["value"] == ""
    add = tree.by_id("add-item")
    assert add.attrs["hx-swap-oob"] == "true"
    assert add.find("button").attrs["hx-get"] == "/returns/new/item?i=2"


def test_the_last_allowed_row_has_no_add_button(client, cs):
    tree = page(client.get("/returns/new/item?i=19", headers=hx()))
    assert tree.has_id("item-19")
    assert tree.by_id("add-item").find("button") is None


@pytest.mark.parametrize("i", ["0", "20", "-1", "abc"])
def test_item_rows_beyond_the_limits_are_refused(client, cs, i):
    assert client.get(f"/returns/new/item?i={i}", headers=hx()).status_code == 400


def test_an_error_in_an_added_row_is_shown_in_that_row(client, session, now, cs):
    _, token = cs
    client.get("/returns/new/item?i=1", headers=hx())
    form = _form(
        now,
        **{
            "items-1-sku": "SCARF-2",
            "items-1-product_name": "Scarf",
            "items-1-quantity": "1",
            "items-1-unit_price": "9.95",
            "items-1-reason_code": "nope",
        },
    )
    tree = page(client.post("/returns/new", data=form, headers=hx(token)))
    assert _error_next_to(tree, "items-1-reason_code").startswith("“nope” is not a return reason")
    assert _error_next_to(tree, "items-0-reason_code") is None


# --- no invisible errors, limits shown, one address ---------------------------------------------


def test_a_comma_in_the_customer_email_is_refused_next_to_the_field(client, session, now, cs):
    _, token = cs
    resp = client.post("/returns/new", data={**_form(now, customer_email="x,victim@evil.example"), "csrf_token": token})
    assert resp.status_code == 422
    tree = page(resp)
    expected = "“x,victim@evil.example” is more than one address; give exactly one."
    assert _error_next_to(tree, "customer_email") == expected
    assert count(session, Return) == 0


def test_a_reason_note_too_long_is_shown_next_to_it(client, session, now, cs):
    _, token = cs
    resp = client.post("/returns/new", data={**_form(now, **{"items-0-reason_note": "x" * 2001}), "csrf_token": token})
    assert resp.status_code == 422
    tree = page(resp)
    message = "The customer's words is 2001 characters long; at most 2000 fit."
    assert _error_next_to(tree, "items-0-reason_note") == message
    assert [n.text for n in tree.find_all(cls="field-error")] == [message]
    assert tree.find(cls="notice-error").text == "Please correct the 1 field marked below; nothing was saved."
    assert count(session, Return) == 0


def test_an_error_the_form_has_no_field_for_is_shown_in_its_notice(client, session, now, cs):
    _, token = cs
    form = _form(now, tracking_number="T" * 81, customer_email="nope")
    tree = page(client.post("/returns/new", data={**form, "csrf_token": token}))
    notice = tree.find(cls="notice-error")
    assert notice.attrs["role"] == "alert"
    assert notice.find("p").text == "Nothing was saved. Please correct the 1 field marked below, and:"
    assert [li.text for li in notice.find_all("li")] == ["The tracking number is 81 characters long; at most 80 fit."]
    assert _error_next_to(tree, "customer_email") == "“nope” is not an e-mail address."
    assert count(session, Return) == 0


def test_every_text_input_carries_the_length_its_validator_enforces(client, cs):
    for tree in (page(client.get("/returns/new")), page(client.get("/returns/new/item?i=1", headers=hx()))):
        form = tree.by_id("new-return") if tree.has_id("new-return") else tree
        row = form.find(cls="item-row")
        i = row.attrs["id"].removeprefix("item-")
        texts = [n for n in form.find_all("input") if n.attrs.get("type", "text") in ("text", "email")]
        assert texts, "no text inputs"
        for control in texts:
            name = control.attrs["name"]
            field = name.removeprefix(f"items-{i}-")
            limit = MAX_ITEM_LENGTH.get(field) if name.startswith("items-") else MAX_LENGTH.get(field)
            if field == "unit_price":  # an amount: its validator reads the number, not its length
                assert "maxlength" not in control.attrs
            else:
                assert control.attrs.get("maxlength") == str(limit), name
        assert tree.by_id(f"items-{i}-quantity").attrs["max"] == str(MAX_QUANTITY)
