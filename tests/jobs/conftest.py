"""Fixtures of the job tests: the shop's public URL and sender (the outbox's e-mails name them), and the runtime on
the hand-moved clock (the SMTP server, `smtp`, and `mail_runtime` are the suite's: tests/conftest.py)."""

from __future__ import annotations

import pytest

from hub.core.config import Settings
from hub.core.runtime import Runtime
from tests.email.support import mail_settings
from tests.factories import Clock


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with a public URL and a sender of our own (and no SMTP: see mail_runtime)."""
    return mail_settings(settings)


@pytest.fixture
def runtime(runtime: Runtime, clock: Clock) -> Runtime:
    """The suite's runtime on the controlled clock (the web app's now() too)."""
    runtime.clock = clock
    return runtime
