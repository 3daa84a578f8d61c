"""Flask-Login's names used by the web layer, with types (Flask-Login ships no type hints).

At run time these are Flask-Login's own objects; the declarations below are read by the type checker only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import timedelta
    from typing import Any, Protocol, TypeVar

    from flask import Flask
    from werkzeug.wrappers import Response

    from hub.accounts.models import User

    _View = TypeVar("_View", bound=Callable[..., Any])
    _Loader = TypeVar("_Loader", bound=Callable[[str], "User | None"])

    class AnonymousUserMixin:
        """The user of a request without a login."""

        is_authenticated: bool
        is_active: bool
        is_anonymous: bool

        def get_id(self) -> None: ...

    class LoginManager:
        """Flask-Login's extension: sessions, remember-me cookies and the answer to a request without a login."""

        login_view: str | None
        login_message: str
        login_message_category: str
        session_protection: str | None

        def init_app(self, app: Flask, add_context_processor: bool = True) -> None: ...

        def unauthorized(self) -> Response: ...

        def user_loader(self, callback: _Loader) -> _Loader: ...

    class _CurrentUser(Protocol):
        """`current_user`: a proxy (werkzeug's LocalProxy) to the request's user, logged in or anonymous."""

        @property
        def is_authenticated(self) -> bool: ...

        def _get_current_object(self) -> User | AnonymousUserMixin: ...

        def __getattr__(self, name: str) -> Any: ...

    current_user: _CurrentUser

    def login_required(func: _View) -> _View: ...

    def login_user(
        user: User, remember: bool = False, duration: timedelta | None = None, force: bool = False, fresh: bool = True
    ) -> bool: ...

    def logout_user() -> bool: ...

else:
    from flask_login import AnonymousUserMixin, LoginManager, current_user, login_required, login_user, logout_user

__all__ = ["AnonymousUserMixin", "LoginManager", "current_user", "login_required", "login_user", "logout_user"]
