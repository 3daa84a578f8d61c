"""Logging in and out: who sees what without a login, wrong passwords, the brake on guessing (behind a proxy too),
redirects, sessions that end with a password reset, remember-me cookies."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from hub.accounts.models import LoginAttempt, Role, User
from hub.accounts.services import set_password
from hub.app import create_app
from hub.core.db import make_session_factory
from hub.core.runtime import Runtime
from hub.web.auth import PUBLIC_ENDPOINTS as APP_PUBLIC_ENDPOINTS
from tests.factories import PASSWORD, make_return, make_user
from tests.web.support import (
    count,
    csrf_token,
    hx,
    login_as,
    page,
)

WRONG = "Wrong e-mail address or password."
RMA = "RMA-1001"

# every route that needs a login, with a request that would otherwise be valid
PROTECTED = [
    ("GET", "/"),
    ("GET", "/board"),
    ("GET", "/board?team=logistics&q=sanne"),
    ("GET", "/board/columns/new?offset=50"),
    ("GET", "/board/changes?after=0"),
    ("GET", f"/returns/{RMA}"),
    ("GET", "/returns/new"),
    ("GET", "/returns/new/item?i=1"),
    ("POST", "/logout"),
    ("POST", f"/returns/{RMA}/move"),
    ("POST", f"/returns/{RMA}/claim"),
    ("POST", f"/returns/{RMA}/assign"),
    ("POST", f"/returns/{RMA}/comment"),
    ("POST", f"/returns/{RMA}/flag"),
    ("POST", f"/returns/{RMA}/unflag"),
    ("POST", f"/returns/{RMA}/snooze"),
    ("POST", f"/returns/{RMA}/reopen"),
    ("POST", f"/returns/{RMA}/shipping"),
    ("POST", "/returns/new"),
    ("GET", "/admin/notifications"),
    ("POST", "/admin/notifications/1/retry"),
    ("POST", "/admin/notifications/retry-all"),
    ("GET", "/account"),
    ("POST", "/account"),
    ("POST", "/account/logout-everywhere"),
]
PUBLIC = [
    ("/healthz", "application/json"),
    ("/login", "text/html"),
    ("/theme.css", "text/css"),
    ("/static/app.css", "text/css"),
    ("/static/app.js", "text/javascript"),
    ("/static/board.js", "text/javascript"),
    ("/static/vendor/htmx-2.0.11.min.js", "text/javascript"),
    ("/static/favicon.svg", "image/svg+xml"),
]
# the customer's status page is public by design; Slack's requests are checked by their signature instead,
# /metrics by its bearer token (tests/web/test_metrics.py)
PUBLIC_ENDPOINTS = {
    "auth.login",
    "static",
    "health.healthz",
    "views.theme_css",
    "status.status",
    "slack.events",
    "metrics.metrics",
}


def _request(client, method: str, path: str, headers: dict[str, str] | None = None):
    if method == "GET":
        return client.get(path, headers=headers)
    # a valid token of the anonymous session: the login check, not CSRF, must be what refuses
    return client.post(path, data={"csrf_token": csrf_token(client)}, headers=headers)


def _post_login(client, email: str, password: str, *, next_: str | None = None):
    query = {"next": next_} if next_ is not None else None
    return client.post(
        "/login", query_string=query, data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )


def _logged_in(client) -> bool:
    return client.get("/board").status_code == 200


def _error(resp) -> str:
    alert = page(resp).find(cls="form-error")
    return alert.text if alert else ""


# --- who needs a login -----------------------------------------------------------------------


def test_the_list_of_protected_routes_covers_every_route_of_the_app(app):
    covered = {(m, urlsplit(p).path) for m, p in PROTECTED}
    adapter = app.url_map.bind("localhost")
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            hits = [p for m, p in covered if m == method and adapter.match(p, method=method)[0] == rule.endpoint]
            if not hits:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"add these routes to PROTECTED: {missing}"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_anonymous_requests_are_sent_to_the_login_page(client, method, path):
    resp = _request(client, method, path)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [path.split("?")[0] if method == "POST" else path]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_anonymous_htmx_requests_get_401_and_a_redirect_for_htmx(client, method, path):
    resp = _request(client, method, path, headers=hx())
    assert resp.status_code == 401
    assert "log in again" in resp.get_data(as_text=True)
    assert urlsplit(resp.headers["HX-Redirect"]).path == "/login"


def test_an_htmx_request_leads_back_to_the_page_shown_not_to_the_fragment(client):
    resp = client.post(
        f"/returns/{RMA}/claim",
        data={"csrf_token": csrf_token(client)},
        headers=hx(**{"HX-Current-URL": "http://localhost/board?team=logistics"}),
    )
    assert resp.status_code == 401
    redirect = urlsplit(resp.headers["HX-Redirect"])
    assert parse_qs(redirect.query)["next"] == ["/board?team=logistics"]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/board?team=logistics", "/board?team=logistics"),
        ("GET", "/board", "/board"),
        ("POST", f"/returns/{RMA}/claim", "/board"),
    ],
)
def test_without_the_current_url_htmx_leads_back_to_a_page_that_exists(client, method, path, expected):
    resp = _request(client, method, path, headers=hx(**{"HX-Current-URL": "https://evil.example/board"}))
    assert parse_qs(urlsplit(resp.headers["HX-Redirect"]).query)["next"] == [expected]


@pytest.mark.parametrize(("path", "mimetype"), PUBLIC)
def test_public_endpoints_answer_without_a_login(client, path, mimetype):
    with client.get(path) as resp:  # static files answer with an open file
        assert resp.status_code == 200
        assert resp.mimetype == mimetype


def test_exactly_these_endpoints_are_public():
    assert APP_PUBLIC_ENDPOINTS == PUBLIC_ENDPOINTS


def test_the_customer_status_page_needs_no_login(client, session, workflow, now):
    r = make_return(session, workflow, now=now)
    session.commit()
    assert client.get(f"/status/{r.status_token}").status_code == 200
    assert client.get("/status/" + "x" * 32).status_code == 404  # not a redirect to the staff login


def test_slack_posts_are_not_sent_to_the_staff_login(client):
    resp = client.post("/slack/events", data={"command": "/returns"})
    assert resp.status_code not in (302, 401)


def test_healthz_reports_the_database_and_the_integrations(client):
    body = client.get("/healthz").get_json()
    assert body == {"status": "ok", "database": "ok", "slack": "off", "email": "files"}


def test_the_live_feed_answers_a_json_client_without_a_login_with_401(client):
    resp = client.get("/board/changes?after=0", headers={"Accept": "application/json"})
    assert resp.status_code == 401
    assert "log in" in resp.get_json()["error"]


def test_an_unknown_page_is_a_404_for_everyone(client, session):
    assert client.get("/nowhere").status_code == 404
    login_as(client, session)
    resp = client.get("/nowhere")
    assert resp.status_code == 404
    assert page(resp).find("h1").text == "Not found"


# --- logging in ------------------------------------------------------------------------------


def test_the_login_page_has_a_form_with_a_csrf_token(client):
    tree = page(client.get("/login"))
    form = tree.find("form", method="post")
    assert form is not None
    assert {n.attrs.get("name") for n in form.find_all("input")} >= {"csrf_token", "email", "password"}


def test_a_wrong_password_is_refused_with_a_message(client, session):
    user = make_user(session)
    session.commit()
    resp = _post_login(client, user.email, "not the password")
    assert resp.status_code == 401
    assert _error(resp) == WRONG
    # the address typed stays in the form, the password does not
    assert page(resp).by_id("email").attrs["value"] == user.email
    assert page(resp).by_id("password").attrs.get("value") is None
    assert not _logged_in(client)


def test_an_unknown_email_gets_the_same_message_as_a_wrong_password(client, session):
    resp = _post_login(client, "nobody@shop.example", PASSWORD)
    assert resp.status_code == 401
    assert _error(resp) == WRONG
    assert not _logged_in(client)


def test_an_empty_form_asks_for_both_fields(client):
    resp = _post_login(client, "", "")
    assert resp.status_code == 400
    assert _error(resp) == "Enter your e-mail address and password."


def test_a_correct_login_goes_to_the_board_and_ignores_the_case_of_the_email(client, session):
    user = make_user(session)
    session.commit()
    resp = _post_login(client, "  " + user.email.upper() + " ", PASSWORD)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/board"
    board = client.get("/board")
    assert board.status_code == 200
    assert page(board).find(cls="who-name").text == user.name


def test_a_logged_in_user_visiting_the_login_page_goes_to_the_board(client, session):
    login_as(client, session)
    resp = client.get("/login")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/board"


@pytest.mark.parametrize("target", ["/returns/RMA-1001", "/board?team=logistics&overdue=1", "/returns/new"])
def test_next_is_honoured_for_local_paths(client, session, target):
    user = make_user(session)
    session.commit()
    resp = _post_login(client, user.email, PASSWORD, next_=target)
    assert resp.status_code == 302
    assert resp.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "https://evil.example/board",
        "http:/evil.example",
        "//evil.example",
        "//evil.example/board",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "board",
    ],
)
def test_next_pointing_elsewhere_is_refused(client, session, target):
    user = make_user(session)
    session.commit()
    resp = _post_login(client, user.email, PASSWORD, next_=target)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme
    assert not parts.netloc
    # a backslash would be read as a slash by browsers: it may only come back percent-encoded
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\\" not in location
    assert urlsplit(urljoin("http://localhost/login", location)).netloc == "localhost"
    assert _logged_in(client)


def test_the_login_form_keeps_next_for_the_post(client):
    form = page(client.get("/login?next=/returns/RMA-1001")).find("form", method="post")
    assert parse_qs(urlsplit(form.attrs["action"]).query)["next"] == ["/returns/RMA-1001"]


def test_the_redirect_to_the_login_page_leads_back_after_logging_in(client, session):
    user = make_user(session)
    session.commit()
    location = client.get("/board?team=warehouse").headers["Location"]
    next_ = parse_qs(urlsplit(location).query)["next"][0]
    resp = _post_login(client, user.email, PASSWORD, next_=next_)
    assert resp.headers["Location"] == "/board?team=warehouse"


def test_a_very_long_email_at_login_is_a_plain_refusal(client):
    token = csrf_token(client)
    resp = client.post("/login", data={"email": "x" * 300 + "@shop.example", "password": "x", "csrf_token": token})
    assert resp.status_code == 401


# --- the brake on password guessing -----------------------------------------------------------


def test_the_sixth_attempt_is_refused_with_429_even_with_the_right_password(client, session, runtime, now):
    runtime.clock = lambda: now
    user = make_user(session)
    session.commit()
    for _ in range(5):
        assert _post_login(client, user.email, "guess").status_code == 401
    resp = _post_login(client, user.email, PASSWORD)
    assert resp.status_code == 429
    message = _error(resp)
    assert "Too many failed attempts" in message
    assert "Wait 15 minutes" in message
    assert "ask an admin to reset your password" in message
    assert not _logged_in(client)


def test_the_brake_counts_per_email(client, session, runtime, now):
    runtime.clock = lambda: now
    victim, other = make_user(session), make_user(session)
    session.commit()
    for _ in range(5):
        _post_login(client, victim.email, "guess")
    assert _post_login(client, victim.email.upper(), PASSWORD).status_code == 429
    assert _post_login(client, other.email, PASSWORD).status_code == 302


def test_guessing_unknown_emails_is_braked_too(client, runtime, now):
    runtime.clock = lambda: now
    for _ in range(5):
        assert _post_login(client, "ghost@shop.example", "guess").status_code == 401
    assert _post_login(client, "ghost@shop.example", "guess").status_code == 429


def test_the_brake_lets_go_after_15_minutes(client, session, runtime, now):
    runtime.clock = lambda: now
    user = make_user(session)
    session.commit()
    for _ in range(5):
        _post_login(client, user.email, "guess")
    runtime.clock = lambda: now + timedelta(minutes=14)
    assert _post_login(client, user.email, PASSWORD).status_code == 429
    runtime.clock = lambda: now + timedelta(minutes=15, seconds=1)
    assert _post_login(client, user.email, PASSWORD).status_code == 302


def test_a_successful_login_clears_the_failures(client, session, runtime, now):
    runtime.clock = lambda: now
    user = make_user(session)
    session.commit()
    for _ in range(4):
        _post_login(client, user.email, "guess")
    assert _post_login(client, user.email, PASSWORD).status_code == 302
    assert count(session, LoginAttempt) == 0
    client.post("/logout", data={"csrf_token": csrf_token(client, "/board")})
    for _ in range(4):
        _post_login(client, user.email, "guess")
    assert _post_login(client, user.email, PASSWORD).status_code == 302


def test_failures_are_shared_by_every_app_server(client, session, runtime, now):
    runtime.clock = lambda: now
    user = make_user(session)
    session.commit()
    for _ in range(5):
        _post_login(client, user.email, "guess")
    # a second app on the same database (another process behind the load balancer)
    other = create_app(runtime=runtime, TESTING=True).test_client()
    assert _post_login(other, user.email, PASSWORD).status_code == 429


def test_behind_a_trusted_proxy_the_login_limit_counts_each_client_not_the_proxy(settings, db, workflow):
    rt = Runtime(replace(settings, trusted_proxies=1), workflow, db, make_session_factory(db))
    client = create_app(runtime=rt, TESTING=True).test_client()
    token = csrf_token(client)
    for n in range(30):  # one attacker, thirty different e-mails, all through the proxy
        client.post(
            "/login",
            data={"email": f"guess{n}@shop.example", "password": "nope", "csrf_token": token},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    blocked = client.post(
        "/login",
        data={"email": "guess99@shop.example", "password": "x", "csrf_token": token},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert blocked.status_code == 429
    other = client.post(
        "/login",
        data={"email": "someone@shop.example", "password": "x", "csrf_token": token},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert other.status_code == 401  # a colleague behind the same proxy can still try


# --- logging out, deactivated users, password resets, remember me -------------------------------


def test_logout_needs_a_post(client, session):
    login_as(client, session)
    assert client.get("/logout").status_code == 405
    assert _logged_in(client)


def test_logout_without_a_csrf_token_is_refused(client, session):
    login_as(client, session)
    resp = client.post("/logout")
    assert resp.status_code == 400
    assert "CSRF token is missing" in resp.get_data(as_text=True)
    assert _logged_in(client)


def test_logout_ends_the_session(client, session):
    _, token = login_as(client, session)
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login"
    follow = client.get("/login")
    assert "You are logged out." in follow.get_data(as_text=True)
    assert not _logged_in(client)


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_a_deactivated_user_cannot_log_in(client, session, role):
    user = make_user(session, role=role)
    user.is_active = False
    session.commit()
    resp = _post_login(client, user.email, PASSWORD)
    assert resp.status_code == 401
    assert _error(resp) == WRONG
    assert not _logged_in(client)


def test_deactivating_a_user_ends_their_open_session(client, session):
    user, _ = login_as(client, session)
    assert _logged_in(client)
    session.get(User, user.id).is_active = False
    session.commit()
    resp = client.get("/board")
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/login"


def test_a_password_reset_ends_the_sessions_and_remember_me_logins_begun_before_it(client, session):
    user, _ = login_as(client, session, team="warehouse")
    assert client.get("/board").status_code == 200
    set_password(session, user.email, "a brand new password")
    session.commit()
    resp = client.get("/board")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


def test_remember_me_cookies_are_secure_and_http_only_behind_https(settings, db, workflow, session):
    user = make_user(session, team="warehouse")
    session.commit()
    rt = Runtime(replace(settings, base_url="https://returns.shop.example"), workflow, db, make_session_factory(db))
    client = create_app(runtime=rt, TESTING=True).test_client()
    token = csrf_token(client)
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "1", "csrf_token": token})
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert cookies
    assert "Secure" in cookies[0]
    assert "HttpOnly" in cookies[0]
