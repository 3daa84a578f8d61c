"""Logins kept server-side: one row per login on one browser, found by the hash of the key in its cookies.

A login's cookies (the session cookie and, with "keep me logged in", the remember-me cookie) carry
"<user id>:<key>", a random key whose SHA-256 is stored; the key itself is never stored. Logging out
deletes the row, so a copy of either cookie stops working at once; "log out everywhere", a new password
and `returns-hub user logout` delete all of a user's rows.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, and_, delete, or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from hub.accounts.models import LoginSession, User

REMEMBERED_FOR = timedelta(days=30)  # a "keep me logged in" login ends 30 days after it was last used
IDLE_FOR = timedelta(hours=12)  # any other login ends after 12 hours without use (its cookie with the browser)
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often per login
USER_AGENT_LENGTH = 200  # the column's length

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def key_hash(key: str) -> str:
    """The SHA-256 (hex) of a login's key: what the database keeps instead of the key."""
    return hashlib.sha256(key.encode()).hexdigest()


def start_login(session: Session, user: User, *, remember: bool, user_agent: str | None, now: datetime) -> str:
    """Record a new login of `user` on one browser; returns its key, for the cookies (never stored)."""
    key = secrets.token_urlsafe(32)
    agent = _CONTROL.sub("", user_agent or "").strip()[:USER_AGENT_LENGTH] or None
    session.add(
        LoginSession(
            user_id=user.id,
            key_hash=key_hash(key),
            remember=remember,
            user_agent=agent,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return key


def is_expired(login: LoginSession, now: datetime) -> bool:
    """Whether a login has gone unused too long: 30 days when remembered, else 12 hours."""
    return login.last_seen_at <= now - (REMEMBERED_FOR if login.remember else IDLE_FOR)


def find_login(session: Session, user_id: int, key: str, *, now: datetime) -> tuple[User, LoginSession] | None:
    """The active user and their login that a cookie's id and key name, or None: unknown key, someone
    else's, ended, expired, or the user deactivated."""
    row = session.execute(
        select(User, LoginSession)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.key_hash == key_hash(key), User.id == user_id)
        .options(selectinload(User.teams))
    ).first()
    if row is None:
        return None
    user, login = row._tuple()
    if not user.is_active or is_expired(login, now):
        return None
    return user, login


def needs_touch(login: LoginSession, now: datetime) -> bool:
    """Whether this use of a login should be written down (at most every TOUCH_EVERY)."""
    return login.last_seen_at <= now - TOUCH_EVERY


def touch_login(session: Session, login: LoginSession, *, now: datetime) -> bool:
    """Note in `session` (a short write of its own) that a login was just used; False when another request
    did so meanwhile (or it ended).

    `login` may belong to another session, one that only reads: it shows the new time too, without counting
    as a change of that session.
    """
    done = session.execute(
        update(LoginSession)
        .where(LoginSession.id == login.id, LoginSession.last_seen_at <= now - TOUCH_EVERY)
        .values(last_seen_at=now)
    )
    set_committed_value(login, "last_seen_at", now)
    return _rows(done) > 0


def end_login(session: Session, key: str) -> bool:
    """End the login with this key (logging out); False when it had already ended."""
    return _rows(session.execute(delete(LoginSession).where(LoginSession.key_hash == key_hash(key)))) > 0


def end_all_logins(session: Session, user_id: int) -> int:
    """End every login of a user, on every browser; how many there were."""
    return _rows(session.execute(delete(LoginSession).where(LoginSession.user_id == user_id)))


@dataclass(frozen=True)
class Login:
    """One of a user's logins, as their settings page lists it."""

    browser: str
    started_at: datetime
    last_used_at: datetime
    remember: bool
    is_current: bool


def list_logins(session: Session, user_id: int, *, current_key: str | None, now: datetime) -> list[Login]:
    """A user's logins that have not expired, the most recently used first; `current_key`'s is marked."""
    current = key_hash(current_key) if current_key else None
    rows = session.scalars(select(LoginSession).where(LoginSession.user_id == user_id))
    # sorted here: this request's own login may have just been touched (touch_login), after this read began
    ordered = sorted(rows, key=lambda r: (r.last_seen_at, r.id), reverse=True)
    return [
        Login(browser_of(r.user_agent), r.created_at, r.last_seen_at, r.remember, r.key_hash == current)
        for r in ordered
        if not is_expired(r, now)
    ]


def expired_logins(now: datetime) -> Delete:
    """A DELETE of every login expired at `now` (for housekeeping; a login is refused once expired anyway)."""
    return delete(LoginSession).where(
        or_(
            and_(LoginSession.remember.is_(True), LoginSession.last_seen_at <= now - REMEMBERED_FOR),
            and_(LoginSession.remember.is_(False), LoginSession.last_seen_at <= now - IDLE_FOR),
        )
    )


# --- the browser, from its User-Agent header ------------------------------------------------------------

# the first that matches names the browser: Edge and Opera also say "Chrome", Chrome also says "Safari"
_BROWSERS = (
    ("Edg", "Edge"),
    ("OPR", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Firefox", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chromium", "Chromium"),
    ("Chrome", "Chrome"),
    ("Version", "Safari"),  # Safari says "Version/17.1 … Safari/605"
)
# Android and ChromeOS also say "Linux"; iPhones also say "like Mac OS X"
_SYSTEMS = (
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
SHORT_AGENT = 60  # how much of an unrecognised User-Agent the list shows


def browser_of(user_agent: str | None) -> str:
    """A browser in a few words ("Firefox on Linux"), from its User-Agent; an unrecognised one shortened."""
    agent = user_agent or ""
    browser = next((name for token, name in _BROWSERS if f"{token}/" in agent), None)
    system = next((name for token, name in _SYSTEMS if token in agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    if not agent:
        return "An unknown browser"
    return agent if len(agent) <= SHORT_AGENT else agent[: SHORT_AGENT - 1].rstrip() + "…"


def _rows(result: Any) -> int:
    # a DELETE or UPDATE runs on a cursor: Session.execute is typed to return a plain Result, without rowcount
    return cast(CursorResult[Any], result).rowcount
