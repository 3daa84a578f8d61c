"""The Slack app: the /returns command, buttons, modals and App Home (Bolt), and the outbox's Slack delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask, Response

    from hub.core.runtime import Runtime


def init_app(app: Flask, runtime: Runtime) -> Callable[[], Response]:
    """Mount the Slack app at POST /slack/events; returns its view (to exempt from CSRF)."""
    from integrations.slack.app import init_app as _init_app

    return _init_app(app, runtime)
