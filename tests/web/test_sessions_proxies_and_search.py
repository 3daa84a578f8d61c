"""Sessions end with a password reset; the login limit counts real clients behind a proxy; search folds Unicode."""

from __future__ import annotations

from dataclasses import replace

from hub.accounts.services import set_password
from hub.app import create_app
from hub.core.runtime import Runtime
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_return
from tests.web.helpers import login_as


def test_a_password_reset_ends_the_sessions_and_remember_me_logins_begun_before_it(client, session):
    user, _ = login_as(client, session, team="warehouse")
    assert client.get("/board").status_code == 200
    set_password(session, user.email, "a brand new password")
    session.commit()
    resp = client.get("/board")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


def test_remember_me_cookies_are_secure_and_http_only_behind_https(settings, db, workflow, session):
    from hub.core.db import make_session_factory
    from tests.factories import make_user

    user = make_user(session, team="warehouse")
    session.commit()
    rt = Runtime(replace(settings, base_url="https://returns.shop.example"), workflow, db, make_session_factory(db))
    client = create_app(runtime=rt, TESTING=True).test_client()
    token = csrf_token(client)
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "1",
                                       "csrf_token": token})
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert cookies
    assert "Secure" in cookies[0]
    assert "HttpOnly" in cookies[0]


def test_behind_a_trusted_proxy_the_login_limit_counts_each_client_not_the_proxy(settings, db, workflow):
    from hub.core.db import make_session_factory

    rt = Runtime(replace(settings, trusted_proxies=1), workflow, db, make_session_factory(db))
    client = create_app(runtime=rt, TESTING=True).test_client()
    token = csrf_token(client)
    for n in range(30):  # one attacker, thirty different e-mails, all through the proxy
        client.post("/login", data={"email": f"guess{n}@shop.example", "password": "nope", "csrf_token": token},
                    headers={"X-Forwarded-For": "203.0.113.9"})
    blocked = client.post("/login", data={"email": "guess99@shop.example", "password": "x", "csrf_token": token},
                          headers={"X-Forwarded-For": "203.0.113.9"})
    assert blocked.status_code == 429
    other = client.post("/login", data={"email": "someone@shop.example", "password": "x", "csrf_token": token},
                        headers={"X-Forwarded-For": "198.51.100.7"})
    assert other.status_code == 401  # a colleague behind the same proxy can still try


def test_a_very_long_email_at_login_is_a_plain_refusal(client):
    token = csrf_token(client)
    resp = client.post("/login", data={"email": "x" * 300 + "@shop.example", "password": "x", "csrf_token": token})
    assert resp.status_code == 401


def test_search_finds_names_whatever_the_case_of_their_accented_letters(client, session, workflow, now):
    make_return(session, workflow, now=now, customer_name="Özlem Çelik")
    make_return(session, workflow, now=now, customer_name="Jan Jansen")
    login_as(client, session, team="customer_service")
    for query in ("özlem", "ÖZLEM", "çelik"):
        html = client.get(f"/board?q={query}").get_data(as_text=True)
        assert "Özlem Çelik" in html, query
        assert "Jan Jansen" not in html
