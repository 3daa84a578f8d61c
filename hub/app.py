"""The app factory: the one composition root of the web app."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from htmx_flask import Htmx
from werkzeug.middleware.proxy_fix import ProxyFix

from hub.core.config import Settings, templates_dir
from hub.core.runtime import Runtime
from hub.returns.queries import stored_stages_problems
from hub.web.csrf import CSRFProtect
from hub.workflow import load_workflow

log = logging.getLogger(__name__)
csrf = CSRFProtect()
htmx = Htmx()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, check: bool = True, **config: Any
) -> Flask:
    """Build the web app; refuses (StartupError, ConfigError) on a bad config or an old schema."""
    if runtime is None:
        settings = settings or Settings.from_env()
        runtime = Runtime.from_settings(settings, load_workflow(settings.config_path))
    if check:
        runtime.check_ready(stored_stages_problems)
    settings = runtime.settings
    app = Flask(
        "hub",
        template_folder=str(templates_dir()),
        static_folder=str(Path(__file__).with_name("static")),
        instance_path=str(settings.instance_dir),
    )
    secret = settings.secret_key
    if not secret:
        secret = secrets.token_urlsafe(32)
        log.warning("HUB_SECRET_KEY is not set: using a random key, so logins end when the app restarts")
    for warning in runtime.workflow.warnings:
        log.warning("%s: %s", runtime.workflow.source, warning)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        REMEMBER_COOKIE_SECURE=settings.base_url.startswith("https://"),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(days=30),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session; the board stays open all day
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
    )
    app.config.update(config)
    app.extensions["hub.core.runtime"] = runtime

    if settings.trusted_proxies:
        # behind a TLS proxy: the client's address (for the login limit) and scheme come from its headers
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
    from hub.web import compression, edge, metrics

    metrics.init_app(app)  # first: its timer covers the other hooks too
    compression.init_app(app)  # next: its hook runs after every later one's, on the final body
    edge.init_app(app)  # first: text no field can hold is refused before the CSRF check or the login read it
    csrf.init_app(app)
    htmx.init_app(app)

    from hub.web import account, admin, auth, board, errors, health, returns, status, template_helpers

    auth.init_app(app)
    status.init_app(app)
    errors.init_app(app)
    template_helpers.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(board.bp)
    app.register_blueprint(returns.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(account.bp)

    # Slack: slash commands, buttons and events on one public, CSRF-exempt URL (signed by Slack instead)
    if settings.slack_enabled:
        from integrations.slack import init_app as init_slack

        csrf.exempt(init_slack(app, runtime))
    else:
        app.add_url_rule("/slack/events", "slack.events", _slack_off, methods=["POST"])
        csrf.exempt(_slack_off)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static" and response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _slack_off() -> Response:
    """POST /slack/events when the Slack app is not configured."""
    return Response(
        "Slack is off on this hub: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on.\n",
        status=503,
        mimetype="text/plain",
    )
