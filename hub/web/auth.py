"""Logging in and out, with sessions (Flask-Login) and a brake on password guessing."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from hub.accounts.login_limits import claim_attempt, forget_failures
from hub.accounts.models import User
from hub.accounts.services import authenticate, normalize_email
from hub.web.context import db, now
from hub.web.login import LoginManager, current_user, login_required, login_user, logout_user

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


def init_app(app: Flask) -> None:
    """Require a login everywhere but the public endpoints."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @app.before_request
    def _require_login() -> Response | tuple[Response, int] | None:
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            if request.headers.get("HX-Request"):
                resp = Response("Your session has ended; log in again.", status=401)
                resp.headers["HX-Redirect"] = url_for("auth.login", next=_htmx_next())
                return resp
            if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
                # the board's live feed (fetch, not htmx) reloads the page on a 401; a redirect would hide it
                return jsonify(error="Your session has ended; log in again."), 401
            return login_manager.unauthorized()
        return None


PUBLIC_ENDPOINTS = {"auth.login", "static", "health.healthz", "views.theme_css", "status.status", "slack.events"}


def _htmx_next() -> str:
    """Where to return after logging in from an htmx request: the page shown, not the fragment asked for."""
    shown = urlsplit(request.headers.get("HX-Current-URL", ""))
    if shown.path and shown.netloc == request.host:
        return shown.path + (f"?{shown.query}" if shown.query else "")
    return request.full_path.rstrip("?") if request.method == "GET" else url_for("board.board")


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, fingerprint = session_id.partition(":")
    if not user_id.isdigit() or len(user_id) > 15:
        return None
    user = db().scalar(select(User).where(User.id == int(user_id)).options(selectinload(User.teams)))
    if user is None or not user.is_active or not secrets.compare_digest(fingerprint, user.session_fingerprint):
        return None  # gone, deactivated, or the password changed since this session began
    return user


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("board.board")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("board.board")
    return target


def _client_ip() -> str:
    return (request.remote_addr or "unknown")[:45]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """The login form."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    error = None
    email = ""
    status = 200
    if request.method == "POST":
        email = normalize_email(request.form.get("email", ""))[:254]
        password = request.form.get("password", "")
        session = db()
        if not email or not password:
            error, status = "Enter your e-mail address and password.", 400
        elif not claim_attempt(session, email, _client_ip(), now=now()):
            session.commit()
            error = "Too many failed attempts. Wait 15 minutes, or ask an admin to reset your password."
            status = 429
        else:
            session.commit()  # counted as failed, and the lock let go, before the password is checked
            user = authenticate(session, email, password)
            if user is None:
                error, status = "Wrong e-mail address or password.", 401
            else:
                forget_failures(session, email)
                session.commit()
                login_user(user, remember=bool(request.form.get("remember")))
                return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error, email=email), status


@bp.post("/logout")
@login_required
def logout() -> Response:
    """End the session."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
