"""Logins kept server-side: logging out ends copies of the cookies too, "log out everywhere", a new password
ends every login, both kinds of login expire, last use is written at most every 5 minutes, and /account lists
where one is logged in."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from hub.accounts.logins import IDLE_FOR, REMEMBERED_FOR, TOUCH_EVERY
from hub.accounts.models import LoginSession, User
from hub.accounts.services import set_password
from hub.core.runtime import Runtime
from tests.factories import PASSWORD, Clock, make_user
from tests.web.support import count, csrf_token, hx, login_as, page

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)
SESSION, REMEMBER = "session", "remember_token"


@pytest.fixture
def clock(runtime: Runtime, now: datetime) -> Clock:
    """The app's clock, moved by hand (Thu 5 Mar 2026 09:00 UTC to begin with)."""
    moved = Clock(now)
    runtime.clock = moved
    return moved


def _log_in(client, user: User, *, remember: bool = False, agent: str = FIREFOX) -> str:
    """Log the client in as `user` from a browser saying `agent`; returns the CSRF token."""
    token = csrf_token(client)
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token, **({"remember": "1"} if remember else {})}
    resp = client.post("/login", data=form, headers={"User-Agent": agent})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return csrf_token(client, "/account")  # a login starts a new session, with a new token


def _copy(source, target, *names: str) -> None:
    """Copy these cookies of one client into another, as someone who got hold of them would."""
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        target.set_cookie(name, cookie.value)


def _logged_in(client) -> bool:
    resp = client.get("/board")
    if resp.status_code == 200:
        return True
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/login"
    return False


def _logins(session, user_id: int) -> list[LoginSession]:
    session.commit()
    rows = list(
        session.scalars(
            select(LoginSession)
            .where(LoginSession.user_id == user_id)
            .order_by(LoginSession.id)
            .execution_options(populate_existing=True)
        )
    )
    session.commit()
    return rows


# --- logging out ends the login, not only this browser's cookie ---------------------------------------------


def test_a_session_cookie_copied_before_logout_stops_working_at_logout(app, client, session):
    user = make_user(session)
    session.commit()
    token = _log_in(client, user)
    thief = app.test_client()
    _copy(client, thief, SESSION)
    assert _logged_in(thief)

    assert client.post("/logout", data={"csrf_token": token}).status_code == 302

    assert not _logged_in(thief)
    assert not _logged_in(client)
    assert _logins(session, user.id) == []


def test_a_remember_me_cookie_copied_before_logout_stops_working_at_logout(app, client, session):
    user = make_user(session)
    session.commit()
    token = _log_in(client, user, remember=True)
    thief = app.test_client()
    _copy(client, thief, REMEMBER)  # no session cookie: the browser was closed, or it was never copied
    assert thief.get_cookie(SESSION) is None
    assert _logged_in(thief)

    assert client.post("/logout", data={"csrf_token": token}).status_code == 302

    thief.delete_cookie(SESSION)  # what the remember-me cookie alone opens
    assert not _logged_in(thief)
    assert _logins(session, user.id) == []


def test_logging_out_ends_only_this_browsers_login(app, client, session):
    user = make_user(session)
    session.commit()
    token = _log_in(client, user)
    other = app.test_client()
    _log_in(other, user)
    assert len(_logins(session, user.id)) == 2

    client.post("/logout", data={"csrf_token": token})

    assert not _logged_in(client)
    assert _logged_in(other)
    assert len(_logins(session, user.id)) == 1


def test_the_cookies_carry_a_random_key_and_the_database_only_its_hash(client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user, remember=True)
    [login] = _logins(session, user.id)
    remember = client.get_cookie(REMEMBER).value
    key = remember.split("|")[0].partition(":")[2]  # Flask-Login signs "<id>:<key>" as "<id>:<key>|<digest>"
    assert len(key) >= 40
    assert remember.startswith(f"{user.id}:")
    assert key not in login.key_hash
    assert login.remember is True
    assert login.user_agent == FIREFOX


# --- log out everywhere ------------------------------------------------------------------------------------


def test_log_out_everywhere_from_one_browser_ends_the_others(app, client, session):
    user = make_user(session)
    session.commit()
    token = _log_in(client, user)
    laptop, phone = app.test_client(), app.test_client()
    _log_in(laptop, user, remember=True)
    _log_in(phone, user, agent=SAFARI_PHONE)
    remembered = app.test_client()
    _copy(laptop, remembered, REMEMBER)
    assert all(_logged_in(c) for c in (client, laptop, phone, remembered))

    resp = client.post("/account/logout-everywhere", data={"csrf_token": token})

    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login"
    assert page(client.get("/login")).find(cls="toast").text == (
        "You are logged out everywhere: every browser and device has to log in again."
    )
    assert not any(_logged_in(c) for c in (client, laptop, phone, remembered))
    assert _logins(session, user.id) == []


def test_log_out_everywhere_leaves_other_peoples_logins_alone(app, client, session):
    me, other = make_user(session), make_user(session)
    session.commit()
    token = _log_in(client, me)
    theirs = app.test_client()
    _log_in(theirs, other)

    client.post("/account/logout-everywhere", data={"csrf_token": token})

    assert _logged_in(theirs)
    assert len(_logins(session, other.id)) == 1


def test_log_out_everywhere_from_htmx_goes_to_the_login_page(client, session):
    _, token = login_as(client, session)
    resp = client.post("/account/logout-everywhere", headers=hx(token))
    assert resp.status_code == 204
    assert resp.headers["HX-Redirect"] == "/login"
    assert not _logged_in(client)


@pytest.mark.parametrize("headers", [None, {"X-CSRFToken": "not-the-token"}], ids=["missing", "wrong"])
def test_log_out_everywhere_needs_the_csrf_token(app, client, session, headers):
    user = make_user(session)
    session.commit()
    _log_in(client, user)
    other = app.test_client()
    _log_in(other, user)

    resp = client.post("/account/logout-everywhere", headers=headers)

    assert resp.status_code == 400
    assert "CSRF token" in resp.get_data(as_text=True)
    assert _logged_in(client)
    assert _logged_in(other)
    assert len(_logins(session, user.id)) == 2


def test_log_out_everywhere_needs_a_post(client, session):
    login_as(client, session)
    assert client.get("/account/logout-everywhere").status_code == 405


# --- a new password ends every login ----------------------------------------------------------------------


def test_a_new_password_ends_every_login_remembered_or_not(app, client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user)
    laptop = app.test_client()
    _log_in(laptop, user, remember=True)
    remembered = app.test_client()
    _copy(laptop, remembered, REMEMBER)
    assert _logged_in(remembered)

    set_password(session, user.email, "a brand new password")
    session.commit()

    assert not any(_logged_in(c) for c in (client, laptop, remembered))
    assert _logins(session, user.id) == []
    fresh = app.test_client()
    token = csrf_token(fresh)
    form = {"email": user.email, "password": "a brand new password", "csrf_token": token}
    assert fresh.post("/login", data=form).status_code == 302
    assert _logged_in(fresh)


def test_deactivating_a_user_ends_a_remember_me_login_too(app, client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user, remember=True)
    remembered = app.test_client()
    _copy(client, remembered, REMEMBER)
    session.get(User, user.id).is_active = False
    session.commit()
    assert not _logged_in(client)
    assert not _logged_in(remembered)


# --- expiry -------------------------------------------------------------------------------------------------


def test_a_login_without_remember_me_ends_after_12_hours_without_use(client, session, clock):
    user = make_user(session)
    session.commit()
    _log_in(client, user)
    clock.advance(IDLE_FOR - timedelta(minutes=1))
    assert _logged_in(client)  # used: 12 hours from now again
    clock.advance(IDLE_FOR - timedelta(minutes=1))
    assert _logged_in(client)
    clock.advance(IDLE_FOR)
    assert not _logged_in(client)


def test_a_remember_me_login_lasts_30_days_from_its_last_use(app, client, session, clock):
    user = make_user(session)
    session.commit()
    _log_in(client, user, remember=True)
    browser = app.test_client()
    _copy(client, browser, REMEMBER)  # a browser restarted every day: only the remember-me cookie is left

    clock.advance(days=29)
    browser.delete_cookie(SESSION)
    resp = browser.get("/board")
    assert resp.status_code == 200
    # used: the cookie is set again, to last 30 days from now
    assert any(c.startswith(f"{REMEMBER}=") for c in resp.headers.getlist("Set-Cookie"))

    clock.advance(REMEMBERED_FOR - timedelta(minutes=1))
    browser.delete_cookie(SESSION)
    assert _logged_in(browser)

    clock.advance(REMEMBERED_FOR)
    browser.delete_cookie(SESSION)
    assert not _logged_in(browser)
    assert not _logged_in(client)


def test_a_login_without_remember_me_sets_no_remember_me_cookie_when_used_later(client, session, clock):
    user = make_user(session)
    session.commit()
    _log_in(client, user)
    clock.advance(hours=1)
    resp = client.get("/board")
    assert resp.status_code == 200
    assert not any(c.startswith(f"{REMEMBER}=") for c in resp.headers.getlist("Set-Cookie"))
    assert client.get_cookie(REMEMBER) is None


def test_the_last_use_is_written_at_most_every_5_minutes(client, session, clock, now):
    user = make_user(session)
    session.commit()
    _log_in(client, user)
    [login] = _logins(session, user.id)
    assert login.last_seen_at == now

    clock.advance(TOUCH_EVERY - timedelta(seconds=1))
    assert _logged_in(client)
    assert _logins(session, user.id)[0].last_seen_at == now  # not written: too soon

    used = clock.advance(seconds=1)
    assert _logged_in(client)
    assert _logins(session, user.id)[0].last_seen_at == used

    clock.advance(minutes=2)
    assert _logged_in(client)
    assert client.get("/account").status_code == 200
    assert _logins(session, user.id)[0].last_seen_at == used


def test_a_page_does_not_wait_for_the_write_lock_to_note_a_use(sqlite_client, sqlite_session_factory, clock, now):
    # SQLite's write lock, on an SQLite database on both passes: PostgreSQL locks rows, and nothing else holds
    # this login's row
    client = sqlite_client
    with sqlite_session_factory() as session:
        user = make_user(session)
        session.commit()
        _log_in(client, user)
        used = clock.advance(TOUCH_EVERY)
        with sqlite_session_factory() as writer:  # another request in the middle of a write
            writer.connection()  # BEGIN IMMEDIATE: the write lock
            started = time.monotonic()
            assert client.get("/account").status_code == 200
            assert time.monotonic() - started < 5  # the busy timeout is 15 s
            writer.rollback()
        assert _logins(session, user.id)[0].last_seen_at == now  # not noted this time
        assert _logged_in(client)  # the next request notes it
        assert _logins(session, user.id)[0].last_seen_at == used


# --- the list on /account -----------------------------------------------------------------------------------


def test_the_settings_page_lists_where_one_is_logged_in_in_ones_own_zone(app, client, session, clock):
    user = make_user(session, time_zone="America/New_York")
    session.commit()
    _log_in(client, user)
    clock.advance(hours=2)
    phone = app.test_client()
    _log_in(phone, user, agent=SAFARI_PHONE, remember=True)
    clock.advance(hours=1)

    tree = page(client.get("/account"))

    assert tree.by_id("logins-title").text == "Where you're logged in"
    items = [li.text for li in tree.by_id("logins").find("ul").find_all("li")]
    assert items == [  # the most recently used first: this one, used just now
        "Firefox on Linux (this browser) Logged in Thu 5 Mar 04:00 · last used Thu 5 Mar 07:00",
        "Safari on iOS · kept logged in Logged in Thu 5 Mar 06:00 · last used Thu 5 Mar 06:00",
    ]
    assert "Times in EST." in tree.by_id("logins-hint").text
    form = tree.by_id("logins").find("form")
    assert form.attrs["action"] == "/account/logout-everywhere"
    assert form.find("button").text == "Log out everywhere"
    phone_items = [li.text for li in page(phone.get("/account")).by_id("logins").find_all("li")]
    assert phone_items[0].startswith("Safari on iOS (this browser)")


def test_the_settings_page_escapes_a_hostile_user_agent(client, session):
    user = make_user(session)
    session.commit()
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    _log_in(client, user, agent=hostile)

    resp = client.get("/account")

    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert page(resp).by_id("logins").find("li").find("strong").text == hostile


def test_a_user_agent_with_control_characters_or_of_any_length_is_stored_cleaned(client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user, agent="Odd\x01Browser\x7f/1.0 " + "x" * 500)
    [login] = _logins(session, user.id)
    assert login.user_agent is not None
    assert login.user_agent.startswith("OddBrowser/1.0 xxx")
    assert len(login.user_agent) == 200
    shown = page(client.get("/account")).by_id("logins").find("strong").text
    assert shown == "OddBrowser/1.0 " + "x" * 44 + "…"


def test_an_old_session_cookie_from_before_logins_were_stored_is_logged_out(app, client, session):
    user = make_user(session)
    session.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = f"{user.id}:0123456789abcdef"  # the password fingerprint the cookies carried before
        cookie["_fresh"] = True
    assert not _logged_in(client)
    assert count(session, LoginSession) == 0
