"""Error pages: a domain error becomes a 4xx with its message; CSRF and auth failures say what happened."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from hub.core.errors import DomainError, VersionConflict
from hub.returns.timeline import worded_conflict
from hub.web.csrf import CSRFError
from hub.web.template_helpers import display_zone


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> tuple[str, int]:
        if isinstance(exc, VersionConflict):  # nothing shows the change here: the reader is asked to reload
            return _render(exc.status, worded_conflict(exc, display_zone(), shown_in=None))
        return _render(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        return _render(400, f"The form was refused for your safety ({exc.description}). Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int]:
        return _render(exc.code or 500, exc.description or exc.name)


def _render(status: int, message: str) -> tuple[str, int]:
    if request.headers.get("HX-Request"):
        return render_template("_toast.html", message=message, level="error", oob=True), status
    return render_template("error.html", status=status, message=message), status
