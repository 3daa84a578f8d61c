"""@mentions in comments: a user's handle is the part of their e-mail address before the @."""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.accounts.models import User

MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._-]*)")


def mention_handle(user: User) -> str:
    """How to @mention a user: the part of their e-mail address before the @."""
    return user.email.split("@", 1)[0]


def mentioned_users(session: Session, body: str) -> list[User]:
    """The active users a text @mentions by their handle (case-insensitive), in order of first mention."""
    handles = [h.rstrip(".").lower() for h in MENTION_RE.findall(body)]
    if not handles:
        return []
    patterns = [f"{h}@%" for h in dict.fromkeys(handles)]
    users = session.scalars(select(User).where(User.is_active.is_(True), or_(*(User.email.like(p) for p in patterns))))
    by_handle = {mention_handle(u).lower(): u for u in users}
    return [by_handle[h] for h in dict.fromkeys(handles) if h in by_handle]
