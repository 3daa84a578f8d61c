"""Fixtures of the alert tests: the runtime on a clock the test moves by hand."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.core.runtime import Runtime
from tests.alerts.support import Clock


@pytest.fixture
def clock(now: datetime) -> Clock:
    """The controlled clock, starting at the suite's fixed moment (Thursday 5 March 2026, 09:00 UTC)."""
    return Clock(now)


@pytest.fixture
def runtime(runtime: Runtime, clock: Clock) -> Runtime:
    """The suite's runtime on the controlled clock (the jobs' and the web app's now())."""
    runtime.clock = clock
    return runtime
