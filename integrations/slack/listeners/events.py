"""Events: App Home, published fresh each time a user opens it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from integrations.slack import blocks, lookups
from integrations.slack.context import SLACK_CALL_ERRORS, SlackContext
from integrations.slack.operations import remember
from integrations.slack.people import load_user, who_is

log = logging.getLogger(__name__)


def register(app: App, ctx: SlackContext) -> None:
    """The events the app subscribes to (see the manifest): app_home_opened."""

    @app.event("app_home_opened")
    def app_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        # Bolt acknowledged the event already; Slack retries it (same event_id) when that took over 3 s
        if event.get("tab", "home") != "home":
            return
        if not remember(ctx, f"event:{body.get('event_id') or event.get('event_ts')}"):
            return
        publish_home(ctx, client, event["user"])


def home_for(ctx: SlackContext, slack_user_id: str, client: WebClient) -> dict[str, Any]:
    """The Home tab of one Slack user: assigned to them, their teams' overdue returns, the queue sizes."""
    person = who_is(ctx.runtime, client, slack_user_id)
    if not person.is_mapped:
        return blocks.unmapped_home_view(person.refusal)
    now, wf = ctx.runtime.now(), ctx.workflow
    with ctx.runtime.read_session_factory() as s:
        user = load_user(s, person.user_id or 0)
        if user is None:
            return blocks.unmapped_home_view("Your Returns Hub account is deactivated.")
        teams = sorted(k for k in user.team_keys if k in wf.teams) or (list(wf.teams) if user.is_lead_or_admin else [])
        assigned = lookups.assigned_to(s, wf, user.id, now)
        overdue = lookups.team_returns(s, wf, teams, now, overdue_only=True)
        queues = lookups.queue_sizes(s, wf, teams, now)
    return blocks.home_view(user.name, assigned, overdue, queues, base_url=ctx.base_url, now=now, command=ctx.command)


def publish_home(ctx: SlackContext, client: WebClient, slack_user_id: str) -> None:
    """views.publish the user's Home tab."""
    try:
        client.views_publish(user_id=slack_user_id, view=home_for(ctx, slack_user_id, client))
    except SLACK_CALL_ERRORS as exc:
        log.warning("views.publish for %s failed: %s", slack_user_id, exc)
