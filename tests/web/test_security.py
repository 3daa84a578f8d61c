"""CSRF on every state-changing route; security headers and a script- and style-free HTML on every page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from hub.accounts.models import LoginAttempt, LoginSession, Role, User
from hub.notifications.models import Notification, NotificationStatus
from hub.returns import services as svc
from hub.returns.models import Channel, Comment, Event, Return
from hub.returns.permissions import Actor
from tests.factories import PASSWORD, SYSTEM, make_return, make_user
from tests.web.support import (
    count,
    csrf_token,
    hx,
    login_as,
    page,
    parse,
    state,
)

RETRY = "/admin/notifications/{id}/retry"
RETRY_ALL = "/admin/notifications/retry-all"
CSRF_EXEMPT = {"slack.events"}  # Slack signs its requests; it cannot send our token


@dataclass(frozen=True)
class Case:
    """A state-changing request: the stage its return starts in, and the form it sends."""

    path: str
    stage: str | None = "new"
    data: Callable[[int], dict[str, str]] = lambda _user_id: {}
    blocked: bool = False


NEW_FORM = {
    "order_number": "ORD-1",
    "customer_name": "Eva Jansen",
    "customer_email": "eva@example.nl",
    "customer_locale": "nl",
    "priority": "normal",
    "items-0-sku": "JEANS-32",
    "items-0-product_name": "Jeans 32",
    "items-0-quantity": "1",
    "items-0-unit_price": "59.95",
    "items-0-reason_code": "too_large",
}
CASES = {
    "move": Case("/returns/{rma}/move", data=lambda _: {"to_stage": "approved"}),
    "claim": Case("/returns/{rma}/claim"),
    "assign": Case("/returns/{rma}/assign", data=lambda uid: {"assignee_id": str(uid)}),
    "comment": Case("/returns/{rma}/comment", data=lambda _: {"body": "Called the customer"}),
    "flag": Case("/returns/{rma}/flag", data=lambda _: {"reason": "Waiting for photos"}),
    "unflag": Case("/returns/{rma}/unflag", blocked=True),
    "snooze": Case("/returns/{rma}/snooze", data=lambda _: {"hours": "4"}),
    "reopen": Case("/returns/{rma}/reopen", stage="resolved"),
    "shipping": Case("/returns/{rma}/shipping", data=lambda _: {"carrier": "DHL", "tracking_number": "JJD0001"}),
    "new": Case("/returns/new", stage=None, data=lambda _: dict(NEW_FORM)),
    "settings": Case("/account", stage=None, data=lambda _: {"time_zone": "America/New_York"}),
    "logout everywhere": Case("/account/logout-everywhere", stage=None),
}


def _prepare(client, session, workflow, name: str):
    """An admin logged in, and the return the request acts on: (token, path, form, rma)."""
    case = CASES[name]
    user, token = login_as(client, session, role=Role.ADMIN)
    rma = None
    if case.stage:
        r = make_return(session, workflow, stage=case.stage)
        if case.blocked:
            svc.flag_return(session, workflow, SYSTEM, r.rma, "Waiting for the carrier")
        session.commit()
        rma = r.rma
    data = {**case.data(user.id)}
    if rma:
        data["version"] = str(state(session, rma).version)
    return token, case.path.format(rma=rma), data, rma


def _snapshot(session, rma: str | None):
    rows = tuple(count(session, m) for m in (Return, Event, Comment, Notification, LoginSession))
    zones = tuple(session.scalars(select(User.time_zone).order_by(User.id)))
    session.commit()
    return rows, zones, state(session, rma) if rma else None


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(client, session, workflow, name, htmx):
    _, path, data, rma = _prepare(client, session, workflow, name)
    before = _snapshot(session, rma)
    resp = client.post(path, data=data, headers=hx() if htmx else None)
    assert resp.status_code == 400
    assert "The CSRF token is missing" in resp.get_data(as_text=True)
    assert _snapshot(session, rma) == before


@pytest.mark.parametrize("name", list(CASES))
def test_a_post_with_a_wrong_csrf_token_is_refused(client, session, workflow, name):
    token, path, data, rma = _prepare(client, session, workflow, name)
    before = _snapshot(session, rma)
    resp = client.post(path, data={**data, "csrf_token": token[:-4] + "AAAA"})
    assert resp.status_code == 400
    assert "The CSRF token is invalid" in resp.get_data(as_text=True)
    assert _snapshot(session, rma) == before


@pytest.mark.parametrize("name", list(CASES))
def test_a_csrf_token_of_another_session_is_refused(app, client, session, workflow, name):
    _, path, data, rma = _prepare(client, session, workflow, name)
    _, other_token = login_as(app.test_client(), session, role=Role.ADMIN)
    before = _snapshot(session, rma)
    resp = client.post(path, data=data, headers=hx(other_token))
    assert resp.status_code == 400
    assert _snapshot(session, rma) == before


@pytest.mark.parametrize(
    ("way", "statuses"), [("htmx-header", (200, 204)), ("form-field", (302,))], ids=["htmx-header", "form-field"]
)
@pytest.mark.parametrize("name", list(CASES))
def test_the_csrf_token_is_accepted_in_the_htmx_header_or_the_form_field(
    client, session, workflow, name, way, statuses
):
    token, path, data, rma = _prepare(client, session, workflow, name)
    before = _snapshot(session, rma)
    if way == "htmx-header":
        resp = client.post(path, data=data, headers=hx(token))
    else:
        resp = client.post(path, data={**data, "csrf_token": token})
    assert resp.status_code in statuses, resp.get_data(as_text=True)
    assert _snapshot(session, rma) != before


def test_every_post_route_of_the_app_is_covered_here(app):
    admin = {RETRY.format(id=1), RETRY_ALL}
    covered = {c.path.format(rma="RMA-1") for c in CASES.values()} | {"/login", "/logout"} | admin
    adapter = app.url_map.bind("localhost")
    endpoints = {adapter.match(p, method="POST")[0] for p in covered}
    posts = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert posts - CSRF_EXEMPT == endpoints


def test_slack_events_are_exempt_from_csrf_since_slack_signs_them(client):
    resp = client.post("/slack/events", data={"command": "/returns"})
    assert "CSRF" not in resp.get_data(as_text=True)


def _dead_notification(session) -> int:
    n = Notification(
        channel="email",
        kind="handoff",
        recipient="logistics@shop.example",
        payload={},
        status=NotificationStatus.DEAD,
        attempts=8,
        last_error="SMTP refused",
    )
    session.add(n)
    session.commit()
    return n.id


def _notification_status(session, nid: int) -> tuple[str, int]:
    session.commit()
    n = session.get(Notification, nid, populate_existing=True)
    session.commit()
    return n.status.value, n.attempts


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_retrying_a_notification_without_a_csrf_token_is_refused(client, session, htmx):
    login_as(client, session, role=Role.ADMIN)
    nid = _dead_notification(session)
    resp = client.post(RETRY.format(id=nid), headers=hx() if htmx else None)
    assert resp.status_code == 400
    assert _notification_status(session, nid) == ("dead", 8)


@pytest.mark.parametrize("way", ["header", "field"])
def test_retrying_a_notification_with_a_csrf_token_is_accepted(client, session, way):
    _, token = login_as(client, session, role=Role.ADMIN)
    nid = _dead_notification(session)
    if way == "header":
        resp = client.post(RETRY.format(id=nid), headers={"X-CSRFToken": token})
    else:
        resp = client.post(RETRY.format(id=nid), data={"csrf_token": token})
    assert resp.status_code == 302
    assert _notification_status(session, nid) == ("pending", 0)


def test_login_without_a_csrf_token_is_refused_and_records_nothing(client, session):
    user = make_user(session)
    session.commit()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/board").status_code == 302
    resp = client.post("/login", data={"email": user.email, "password": "guess"})
    assert resp.status_code == 400
    assert count(session, LoginAttempt) == 0


def test_logout_without_a_csrf_token_keeps_the_session_and_with_the_header_ends_it(client, session):
    _, token = login_as(client, session)
    assert client.post("/logout", headers={"HX-Request": "true"}).status_code == 400
    assert client.get("/board").status_code == 200
    assert client.post("/logout", headers={"X-CSRFToken": token}).status_code == 302
    assert client.get("/board").status_code == 302


def test_every_page_hands_htmx_the_csrf_token_in_a_header(client, session):
    login_as(client, session)
    tree = page(client.get("/board"))
    token = tree.find("input", name="csrf_token").attrs["value"]  # the log-out form's
    assert tree.find("body").attrs["hx-headers"] == f'{{"X-CSRFToken": "{token}"}}'
    assert client.post("/logout", headers={"X-CSRFToken": token}).status_code == 302


# --- security headers and the HTML itself -------------------------------------------------------


def _csp(resp) -> dict[str, list[str]]:
    policy = resp.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _pages(client, session, workflow, now) -> dict[str, object]:
    """Every kind of page and fragment, rendered with data that exercises their branches."""
    anonymous = {
        "login": client.get("/login"),
        "login error": client.post(
            "/login", data={"email": "x@shop.example", "password": "wrong password", "csrf_token": csrf_token(client)}
        ),
    }
    user, token = login_as(client, session, role=Role.ADMIN, name="Ada Admin")
    busy = make_return(session, workflow, now=now, priority="urgent", delivered_on=now.date())
    svc.claim_return(session, workflow, Actor.person(user, Channel.WEB), busy.rma, now=now)
    svc.flag_return(session, workflow, SYSTEM, busy.rma, "Waiting for photos", now=now)
    svc.add_comment(session, workflow, SYSTEM, busy.rma, "Ping @ada", now=now)
    closed = make_return(session, workflow, stage="inspected", now=now)
    svc.move_return(session, workflow, SYSTEM, closed.rma, "resolved", resolution="refund", now=now)
    session.commit()
    return {
        **anonymous,
        "board": client.get("/board"),
        "board fragment": client.get("/board?blocked=1", headers=hx(target="board")),
        "column page": client.get("/board/columns/new?offset=0", headers=hx()),
        "detail": client.get(f"/returns/{busy.rma}"),
        "detail panel": client.get(f"/returns/{busy.rma}", headers=hx()),
        "closed detail": client.get(f"/returns/{closed.rma}"),
        "new form": client.get("/returns/new"),
        "new form errors": client.post("/returns/new", data={"csrf_token": token, "customer_email": "nope"}),
        "item row": client.get("/returns/new/item?i=1", headers=hx()),
        "board card": client.post(
            f"/returns/{busy.rma}/move", data={"to_stage": "approved", "view": "card"}, headers=hx(token)
        ),
        "not found": client.get("/returns/RMA-9999"),
        "no such column": client.get("/board/columns/nowhere"),
        "notifications admin": client.get("/admin/notifications"),
        "customer status": client.get(f"/status/{busy.status_token}"),
    }


def test_pages_carry_a_strict_content_security_policy_and_the_other_headers(client, session, workflow, now):
    for name, resp in _pages(client, session, workflow, now).items():
        csp = _csp(resp)
        assert "'unsafe-inline'" not in csp["script-src"], name
        assert "'unsafe-eval'" not in csp["script-src"], name
        assert csp["script-src"] == ["'self'"], name
        assert csp["style-src"] == ["'self'"], name
        assert csp["frame-ancestors"] == ["'none'"], name
        assert csp["object-src"] == ["'none'"], name
        assert csp["default-src"] == ["'self'"], name
        assert resp.headers["X-Content-Type-Options"] == "nosniff", name
        assert resp.headers["X-Frame-Options"] == "DENY", name
        assert resp.headers["Referrer-Policy"] in ("same-origin", "no-referrer"), name
        assert resp.headers["Cache-Control"] == "no-store", name


def test_pages_have_no_inline_script_no_inline_style_and_no_event_handlers(client, session, workflow, now):
    for name, resp in _pages(client, session, workflow, now).items():
        html = resp.get_data(as_text=True)
        assert resp.mimetype == "text/html", name
        tree = parse(html)
        assert len(list(tree.iter())) > 3, name
        for el in tree.iter():
            if el.tag == "script":
                assert el.attrs.get("src", "").startswith("/static/"), f"{name}: inline or foreign script {el.attrs}"
                assert not el.text, f"{name}: a script with a body"
            assert el.tag != "style", f"{name}: a <style> block"
            assert "style" not in el.attrs, f"{name}: style attribute on <{el.tag}>"
            handlers = [a for a in el.attrs if a.startswith("on") or a.startswith("hx-on")]
            assert not handlers, f"{name}: event handler attributes {handlers} on <{el.tag}>"
            for attr in ("href", "src", "action", "formaction"):
                assert not el.attrs.get(attr, "").lower().startswith("javascript:"), name


def test_the_htmx_config_forbids_eval_and_inline_indicator_styles(client, session):
    login_as(client, session)
    meta = page(client.get("/board")).find("meta", name="htmx-config")
    config = meta.attrs["content"]
    assert '"allowEval": false' in config
    assert '"allowScriptTags": false' in config
    assert '"includeIndicatorStyles": false' in config


def test_json_and_css_answers_carry_the_headers_too(client, session):
    login_as(client, session)
    for path in ("/board/changes?after=0", "/healthz", "/theme.css"):
        resp = client.get(path)
        assert resp.headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"], path
    assert client.get("/theme.css").headers["Cache-Control"] == "public, max-age=300"


def test_the_session_cookie_is_http_only_and_same_site(client, session):
    user = make_user(session)
    session.commit()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)})
    cookie = next(v for k, v in resp.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
