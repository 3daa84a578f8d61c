"""Request-scoped access to the runtime, the database session and the acting user."""

from __future__ import annotations

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
