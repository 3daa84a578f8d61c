"""Logins kept server-side (hub.accounts.logins): only a hash of the key is stored, a key opens only its own
user's login, both kinds of login expire, housekeeping deletes expired ones, and browsers are named briefly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.logins import (
    IDLE_FOR,
    REMEMBERED_FOR,
    TOUCH_EVERY,
    browser_of,
    end_all_logins,
    end_login,
    find_login,
    key_hash,
    list_logins,
    needs_touch,
    start_login,
    touch_login,
)
from hub.accounts.models import LoginSession
from hub.accounts.services import log_out_user, set_password
from hub.core.errors import NotFound
from jobs.housekeeping import run_housekeeping
from tests.factories import make_user


def test_a_login_stores_the_hash_of_its_key_never_the_key(session, now):
    user = make_user(session)
    key = start_login(session, user, remember=True, user_agent="Firefox/133.0", now=now)
    [row] = session.scalars(select(LoginSession))
    assert len(key) >= 40
    assert row.key_hash == key_hash(key) != key
    assert (row.user_id, row.remember, row.created_at, row.last_seen_at) == (user.id, True, now, now)
    assert start_login(session, user, remember=False, user_agent=None, now=now) != key  # a new key each time


def test_a_key_opens_only_its_own_users_login(session, now):
    ann, bob = make_user(session), make_user(session)
    key = start_login(session, ann, remember=False, user_agent=None, now=now)
    found = find_login(session, ann.id, key, now=now)
    assert found is not None
    assert found[0] is ann
    assert find_login(session, bob.id, key, now=now) is None
    assert find_login(session, ann.id, key + "x", now=now) is None
    assert find_login(session, ann.id, key_hash(key), now=now) is None  # the stored hash is no key


def test_a_deactivated_users_login_is_refused(session, now):
    user = make_user(session)
    key = start_login(session, user, remember=True, user_agent=None, now=now)
    user.is_active = False
    session.flush()
    assert find_login(session, user.id, key, now=now) is None


@pytest.mark.parametrize(("remember", "lasts"), [(False, IDLE_FOR), (True, REMEMBERED_FOR)], ids=["plain", "remember"])
def test_a_login_expires_after_its_time_without_use(session, now, remember, lasts):
    user = make_user(session)
    key = start_login(session, user, remember=remember, user_agent=None, now=now)
    assert find_login(session, user.id, key, now=now + lasts - timedelta(seconds=1)) is not None
    assert find_login(session, user.id, key, now=now + lasts) is None


def test_a_use_is_written_at_most_every_5_minutes_and_moves_the_expiry(session, now):
    user = make_user(session)
    key = start_login(session, user, remember=False, user_agent=None, now=now)
    [login] = session.scalars(select(LoginSession))
    soon = now + TOUCH_EVERY - timedelta(seconds=1)
    assert not needs_touch(login, soon)
    assert not touch_login(session, login, now=soon)  # refused by the database too, not only by needs_touch
    session.expire_all()
    assert login.last_seen_at == now
    later = now + TOUCH_EVERY
    assert needs_touch(login, later)
    assert touch_login(session, login, now=later)
    session.expire_all()
    assert login.last_seen_at == later
    assert find_login(session, user.id, key, now=later + IDLE_FOR - timedelta(seconds=1)) is not None


def test_ending_logins(session, now):
    ann, bob = make_user(session), make_user(session)
    one = start_login(session, ann, remember=False, user_agent=None, now=now)
    start_login(session, ann, remember=True, user_agent=None, now=now)
    start_login(session, bob, remember=True, user_agent=None, now=now)
    assert end_login(session, one)
    assert not end_login(session, one)  # already ended
    assert end_all_logins(session, ann.id) == 1
    assert [r.user_id for r in session.scalars(select(LoginSession))] == [bob.id]


def test_a_new_password_and_logging_a_user_out_end_all_their_logins(session, now):
    ann, bob = make_user(session), make_user(session)
    for _ in range(2):
        start_login(session, ann, remember=True, user_agent=None, now=now)
    start_login(session, bob, remember=True, user_agent=None, now=now)
    set_password(session, ann.email, "a brand new password")
    assert [r.user_id for r in session.scalars(select(LoginSession))] == [bob.id]
    assert log_out_user(session, bob.email.upper()) == (bob, 1)
    assert session.scalars(select(LoginSession)).all() == []
    with pytest.raises(NotFound, match="no user with e-mail nobody@shop.example"):
        log_out_user(session, "nobody@shop.example")


def test_the_list_leaves_out_expired_logins_and_marks_the_current_one(session, now):
    user = make_user(session)
    start_login(session, user, remember=False, user_agent="Firefox/1 (X11; Linux)", now=now - IDLE_FOR)  # expired
    mine = start_login(session, user, remember=False, user_agent=None, now=now - timedelta(hours=1))
    start_login(session, user, remember=True, user_agent="Chrome/120 (Windows NT 10.0)", now=now)
    logins = list_logins(session, user.id, current_key=mine, now=now)
    assert [(x.browser, x.is_current, x.remember) for x in logins] == [
        ("Chrome on Windows", False, True),
        ("An unknown browser", True, False),
    ]


def test_housekeeping_deletes_expired_logins_only(runtime, session, now):
    user = make_user(session)
    for remember, idle in [
        (False, IDLE_FOR),  # expired
        (False, IDLE_FOR - timedelta(minutes=1)),
        (True, REMEMBERED_FOR),  # expired
        (True, IDLE_FOR * 2),  # a remembered login lasts longer
    ]:
        start_login(session, user, remember=remember, user_agent=None, now=now - idle)
    session.commit()
    runtime.clock = lambda: now

    done = run_housekeeping(runtime)

    assert done["expired logins"] == 2
    session.expire_all()
    left = sorted((r.remember, now - r.last_seen_at) for r in session.scalars(select(LoginSession)))
    assert left == [(False, IDLE_FOR - timedelta(minutes=1)), (True, IDLE_FOR * 2)]


FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("agent", "shown"),
    [
        (FIREFOX_LINUX, "Firefox on Linux"),
        (CHROME_MAC, "Chrome on macOS"),
        (EDGE_WINDOWS, "Edge on Windows"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (CHROME_ANDROID, "Chrome on Android"),
        (HEADLESS_CHROME, "Chrome on Linux"),
        ("Mozilla/5.0 (X11; Linux x86_64)", "A browser on Linux"),
        ("curl/8.5.0", "curl/8.5.0"),
        ("x" * 100, "x" * 59 + "…"),
        (None, "An unknown browser"),
        ("", "An unknown browser"),
    ],
)
def test_a_browser_is_named_in_a_few_words(agent, shown):
    assert browser_of(agent) == shown
