"""Fixtures of the alert tests: the runtime on the clock the test moves by hand (`clock`: tests/conftest.py)."""

from __future__ import annotations

import pytest

from hub.core.runtime import Runtime
from tests.factories import Clock


@pytest.fixture
def runtime(runtime: Runtime, clock: Clock) -> Runtime:
    """The suite's runtime on the controlled clock (the jobs' and the web app's now())."""
    runtime.clock = clock
    return runtime
