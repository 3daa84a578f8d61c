"""Logging in and out, with sessions (Flask-Login) and a brake on password guessing."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, g, jsonify, redirect, render_template, request, url_for
from flask import session as cookie_session
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from hub.accounts.login_limits import claim_attempt, forget_failures
from hub.accounts.logins import end_login, find_login, needs_touch, start_login, touch_login
from hub.accounts.models import User
from hub.accounts.services import authenticate, normalize_email
from hub.core.db import write_unless_busy
from hub.web.context import db, now, writing
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


# /metrics needs no login: its bearer token (HUB_METRICS_TOKEN) is checked by the view itself
PUBLIC_ENDPOINTS = {
    "auth.login",
    "static",
    "health.healthz",
    "views.theme_css",
    "status.status",
    "slack.events",
    "metrics.metrics",
}


def _htmx_next() -> str:
    """Where to return after logging in from an htmx request: the page shown, not the fragment asked for."""
    shown = urlsplit(request.headers.get("HX-Current-URL", ""))
    if shown.path and shown.netloc == request.host:
        return shown.path + (f"?{shown.query}" if shown.query else "")
    return request.full_path.rstrip("?") if request.method == "GET" else url_for("board.board")


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user of the login a session or remember-me cookie names ("<user id>:<key>"), if it goes on."""
    user_id, _, key = session_id.partition(":")
    if not user_id.isdigit() or len(user_id) > 15 or not key:
        return None
    at = now()
    found = find_login(db(), int(user_id), key, now=at)
    if found is None:
        return None  # logged out, expired, ended by a new password or "log out everywhere", or deactivated
    user, login = found
    if needs_touch(login, at):
        # a short transaction of its own on the request's session (one pooled connection per request), skipped
        # while another holds SQLite's write lock: the next request notes the use then; `login` shows the new time
        write_unless_busy(db(), lambda writing: touch_login(writing, login, now=at))
        g.login = login  # held: while it lives, this request's session hands out this object, not an older read
        if login.remember:  # its cookie lasts 30 days from now again (Flask-Login sets it after the request)
            cookie_session["_remember"] = "set"
    user.attach_login(key)
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
        elif not claim_attempt(writing(), email, _client_ip(), now=now()):
            session.commit()
            error = "Too many failed attempts. Wait 15 minutes, or ask an admin to reset your password."
            status = 429
        else:
            session.commit()  # counted as failed, and the lock let go, before the password is checked
            user = authenticate(session, email, password)  # hashing reads only: no lock held meanwhile
            if user is None:
                error, status = "Wrong e-mail address or password.", 401
            elif _start(session, user, user.password_hash):
                return redirect(_safe_next(request.args.get("next")))
            else:
                error, status = "Wrong e-mail address or password.", 401
    return render_template("auth/login.html", error=error, email=email), status


def _start(session: Session, user: User, verified_hash: str) -> bool:
    """Record the login and set its cookies; False when the password changed (or the user was deactivated)
    while this request checked the old one and waited for the write lock."""
    forget_failures(writing(), user.email)
    # the user's row again, locked on PostgreSQL: a new password now waits for this login, then ends it too
    session.refresh(user, with_for_update=session.get_bind().dialect.name == "postgresql")
    if user.password_hash != verified_hash or not user.is_active:
        session.rollback()
        return False
    remember = bool(request.form.get("remember"))
    key = start_login(session, user, remember=remember, user_agent=request.user_agent.string, now=now())
    session.commit()
    user.attach_login(key)
    cookie_session.clear()  # a new session (and CSRF token) for the logged-in user: nothing planted before carries over
    login_user(user, remember=remember)
    return True


@bp.post("/logout")
@login_required
def logout() -> Response:
    """End this login: its row goes first, so a copy of its session or remember-me cookie stops working too."""
    key: str | None = current_user.login_key
    if key is not None:
        end_login(writing(), key)
        db().commit()
    logout_user()
    cookie_session.clear()  # nothing of the logged-in session (its CSRF token) outlives it
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
