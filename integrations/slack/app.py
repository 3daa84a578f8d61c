"""The Bolt app factory and its Flask route: POST /slack/events for slash commands, interactivity and events."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from hub.core.runtime import Runtime
from integrations.slack import listeners
from integrations.slack.context import SlackContext, api_url

log = logging.getLogger(__name__)


class _ClientTokenNotice(logging.Filter):
    """Bolt also reads SLACK_BOT_TOKEN from the environment and warns that `client` wins: that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_ClientTokenNotice())


def create_bolt_app(ctx: SlackContext) -> App:
    """The Bolt app: request verification on, the Web API at SLACK_API_URL, listeners on ctx's threads."""
    settings = ctx.settings
    token = settings.slack_bot_token

    def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        # a single workspace with a fixed bot token: no auth.test round trip before the acknowledgement
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token=token)

    app = App(
        name="returns-hub",
        signing_secret=settings.slack_signing_secret,
        client=WebClient(base_url=api_url(settings), timeout=10),
        authorize=authorize,
        request_verification_enabled=True,
        process_before_response=False,  # ack() answers Slack at once; the listener goes on on its thread
        listener_executor=ctx.executor,
    )
    listeners.register(app, ctx)
    return app


def init_app(flask_app: Flask, runtime: Runtime) -> Callable[[], Response]:
    """Mount the Bolt app at POST /slack/events; returns the view, for the caller to exempt from CSRF."""
    ctx = SlackContext(runtime)
    bolt = create_bolt_app(ctx)
    handler = SlackRequestHandler(bolt)
    verifier = SignatureVerifier(runtime.settings.slack_signing_secret or "")

    def slack_events() -> Response:
        """Slash commands, button clicks, modal submissions and events, verified as coming from Slack."""
        body = request.get_data(cache=True, as_text=True)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "").strip()
        # Bolt verifies too, but only after parsing the body: refusing unsigned requests first means a
        # malformed body or timestamp from anyone else gets a 401, not a parser error
        if not timestamp.isdigit() or not verifier.is_valid(body, timestamp, request.headers.get("X-Slack-Signature")):
            log.info("refused a request to /slack/events: bad signature or timestamp")
            return Response("invalid request: bad Slack signature or timestamp", 401, mimetype="text/plain")
        try:
            return handler.handle(request)
        except ValueError:
            return Response("invalid request: the body is not what Slack sends", 400, mimetype="text/plain")

    flask_app.add_url_rule("/slack/events", "slack.events", slack_events, methods=["POST"])
    flask_app.extensions["hub.slack"] = ctx
    return slack_events
