"""Request-scoped access to the runtime, the database session and the acting user."""

from __future__ import annotations

from datetime import datetime
from typing import cast, overload

from flask import current_app, g
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.core.db import MAX_INTEGER, begin_write
from hub.core.runtime import Runtime
from hub.returns.models import Channel
from hub.returns.permissions import Actor
from hub.web.login import current_user
from hub.workflow import Workflow


def runtime() -> Runtime:
    """The runtime the app was built with."""
    rt: Runtime = current_app.extensions["hub.core.runtime"]
    return rt


def workflow() -> Workflow:
    """The workflow configuration."""
    return runtime().workflow


def db() -> Session:
    """This request's database session (closed at the end of the request).

    It reads until `writing()`: on SQLite a request takes the write lock only around its write, after
    reading and validating, and never while it renders its answer.
    """
    if "db" not in g:
        g.db = runtime().read_session_factory()
    session: Session = g.db
    return session


def writing() -> Session:
    """This request's session, its transaction now writing (see hub.core.db.begin_write): call it after the
    form is read and checked, right before the service call that changes something."""
    session = db()
    begin_write(session)
    return session


def now() -> datetime:
    """The current time (the runtime's clock)."""
    return runtime().now()


def user() -> User:
    """The logged-in user, attached to this request's session."""
    # every page but the public ones requires a login (auth._require_login), so this is no anonymous user
    return cast(User, current_user._get_current_object())


def actor() -> Actor:
    """The logged-in user acting through the web."""
    return Actor.person(user(), Channel.WEB)


@overload
def whole_number(raw: str | None, name: str, *, default: int, maximum: int = MAX_INTEGER) -> int: ...


@overload
def whole_number(raw: str | None, name: str, *, default: None = None, maximum: int = MAX_INTEGER) -> int | None: ...


def whole_number(raw: str | None, name: str, *, default: int | None = None, maximum: int = MAX_INTEGER) -> int | None:
    """A whole number from 0 to `maximum` (an INTEGER column's largest) from a form, query or path field;
    anything else is a 400 that names the field."""
    from flask import abort

    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():
        abort(400, f"{name} must be a whole number, got {raw[:40]!r}")
    # no int() of a thousand digits: past `maximum`'s own length it is too large anyway
    if len(raw.lstrip("0")) > len(str(maximum)) or int(raw) > maximum:
        abort(400, f"{name} must be a whole number from 0 to {maximum}, got {raw[:40]!r}")
    return int(raw)
