"""Flask-WTF's CSRF protection, with types (Flask-WTF ships no type hints).

At run time these are Flask-WTF's own classes; the declarations below are read by the type checker only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from flask import Blueprint, Flask
    from werkzeug.exceptions import BadRequest

    _Exempt = TypeVar("_Exempt", bound="Callable[..., Any] | Blueprint | str")

    class CSRFError(BadRequest):
        """A form or request came without a valid CSRF token (a 400)."""

    class CSRFProtect:
        """Requires a CSRF token on every POST, PUT, PATCH and DELETE but the exempted views."""

        def __init__(self, app: Flask | None = None) -> None: ...

        def init_app(self, app: Flask) -> None: ...

        def exempt(self, view: _Exempt) -> _Exempt: ...

else:
    from flask_wtf.csrf import CSRFError, CSRFProtect

__all__ = ["CSRFError", "CSRFProtect"]
