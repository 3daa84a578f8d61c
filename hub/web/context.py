"""Request-scoped access to the runtime, the database session and the acting user."""

from __future__ import annotations

import re
from datetime import datetime

from flask import current_app, g, request
from flask_login import current_user
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.returns.models import Channel
from hub.returns.services import Actor
from hub.runtime import Runtime
from hub.workflow import Workflow


def runtime() -> Runtime:
    """The runtime the app was built with."""
    return current_app.extensions["hub.runtime"]


def workflow() -> Workflow:
    """The workflow configuration."""
    return runtime().workflow


def db() -> Session:
    """This request's database session (closed at the end of the request)."""
    if "db" not in g:
        rt = runtime()
        # a GET only reads: on SQLite it then never waits for (or blocks) a writer
        factory = rt.read_session_factory if request.method in ("GET", "HEAD") else rt.session_factory
        g.db = factory()
    return g.db


def now() -> datetime:
    """The current time (the runtime's clock)."""
    return runtime().now()


def user() -> User:
    """The logged-in user, attached to this request's session."""
    u = current_user._get_current_object()  # noqa: SLF001 - the proxy's target is the loaded User
    return u


def actor() -> Actor:
    """The logged-in user acting through the web."""
    return Actor.person(user(), Channel.WEB)


def whole_number(raw: str | None, name: str, *, default: int | None = None) -> int | None:
    """A non-negative whole number from a form or query field; anything else is a 400 that names the field."""
    from flask import abort

    if raw is None or raw == "":
        return default
    if not _NUMBER_RE.fullmatch(raw):
        abort(400, f"{name} must be a whole number, got {raw[:40]!r}")
    return int(raw)


_NUMBER_RE = re.compile(r"[0-9]{1,15}")
