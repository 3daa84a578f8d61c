"""Fixtures of the web tests (the app, `client` and the shared template cache are the suite's: tests/conftest.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.core.runtime import Runtime


@pytest.fixture
def frozen_clock(runtime: Runtime, now: datetime) -> None:
    """The app's now() stands still at the suite's moment (a module asks for it with usefixtures)."""
    runtime.clock = lambda: now
