"""The Bolt app factory and its Flask route: POST /slack/events for slash commands, interactivity and events."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from flask import Flask, Response, request
from slack_bolt import App
from slack_bolt.adapter.flask.handler import to_bolt_request, to_flask_response
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from hub.core.runtime import Runtime
from integrations.slack import intake, listeners
from integrations.slack.context import SLACK_CALL_ERRORS, SlackContext, api_url

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
            data = intake.parse_body(body, request.mimetype)
            refusal = intake.check(data)
        except intake.Malformed as exc:
            return _malformed(str(exc))
        if refusal is not None:
            return _refuse(ctx, refusal)
        try:
            bolt_request = to_bolt_request(request)
            bolt_request.body = data  # our parse: Bolt's mistakes a command mentioning "payload" for an interaction
            bolt_request.context = build_context(BoltContext({}), data)
            return to_flask_response(bolt.dispatch(bolt_request))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a shape the check above let through
            return _malformed(f"Bolt could not read it ({type(exc).__name__}: {exc})")

    flask_app.add_url_rule("/slack/events", "slack.events", slack_events, methods=["POST"])
    flask_app.extensions["hub.slack"] = ctx
    return slack_events


def _malformed(why: str) -> Response:
    """A signed request whose body is not what Slack sends: a 400 and one log line, no traceback."""
    log.warning("refused a signed request to /slack/events: %s", why[:300])
    return Response(f"invalid request: the body is not what Slack sends: {why[:300]}", 400, mimetype="text/plain")


def _refuse(ctx: SlackContext, refusal: intake.Refusal) -> Response:
    """Typed text with a control character: the answer in words where it was typed; nothing goes to Bolt."""
    log.info("refused a %s from Slack: a control character in the typed text", refusal.kind)
    if refusal.kind == "command":  # the slash command's immediate answer, shown to the person only
        return _json({"response_type": "ephemeral", "text": refusal.text})
    if refusal.kind == "view":  # next to each field that holds one, in the open modal
        return _json({"response_action": "errors", "errors": refusal.fields})
    if refusal.response_url:  # a button: its clicker is told through the message's response_url, after the ack
        ctx.executor.submit(_tell, refusal.response_url, refusal.text)
    return Response("", 200)


def _tell(response_url: str, text: str) -> None:
    try:
        WebhookClient(response_url, timeout=10).send(text=text, response_type="ephemeral", replace_original=False)
    except SLACK_CALL_ERRORS as exc:
        log.warning("could not tell a clicker that their button was refused: %s", exc)


def _json(body: dict[str, object]) -> Response:
    return Response(json.dumps(body), 200, mimetype="application/json")
