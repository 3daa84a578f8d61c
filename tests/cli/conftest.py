"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hub.cli import Context, main


@pytest.fixture
def cli(db, database_url, tmp_path):
    """Run `returns-hub ARGS` against the test database; returns the click Result."""
    runner = CliRunner()
    env = {"HUB_DATABASE_URL": database_url, "HUB_CONFIG": "", "HUB_INSTANCE_DIR": str(tmp_path / "instance")}

    contexts: list[Context] = []

    def invoke(*args: str):
        contexts.append(Context())
        return runner.invoke(main, list(args), env=env, catch_exceptions=False, obj=contexts[-1])

    yield invoke
    # the CLI leaves its engine to the process exit; here that would leak a connection per run
    for context in contexts:
        if context._runtime is not None:
            context._runtime.engine.dispose()
