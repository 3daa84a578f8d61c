"""Fixtures of the notification tests: the SMTP server, the controlled clock, and runtimes that use them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pytest

from hub.core.config import Settings
from hub.core.runtime import Runtime
from tests.notifications.support import BASE_URL, MAIL_FROM, Clock, SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A running SMTP server that records every message; `smtp.stop()` / `smtp.start()` take it away and back."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock(now: datetime) -> Clock:
    """The controlled clock, starting at the suite's fixed moment."""
    return Clock(now)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with a public URL and a sender of our own (and no SMTP: see mail_runtime)."""
    return replace(settings, base_url=BASE_URL, mail_from=MAIL_FROM, smtp_url=None,
                   slack_bot_token=None, slack_signing_secret=None)


@pytest.fixture
def runtime(runtime: Runtime, clock: Clock) -> Runtime:
    """The suite's runtime on the controlled clock (the web app's now() too)."""
    runtime.clock = clock
    return runtime


@pytest.fixture
def mail_runtime(runtime: Runtime, smtp: SmtpServer) -> Runtime:
    """The runtime, sending e-mail through the test SMTP server."""
    return replace(runtime, settings=replace(runtime.settings, smtp_url=smtp.url))
