"""Bolt listeners, grouped by kind; each module registers its own."""

from __future__ import annotations

from slack_bolt import App

from integrations.slack.context import SlackContext
from integrations.slack.listeners import actions, commands, events, views


def register(app: App, ctx: SlackContext) -> None:
    """Register every listener on the Bolt app."""
    commands.register(app, ctx)
    actions.register(app, ctx)
    views.register(app, ctx)
    events.register(app, ctx)
