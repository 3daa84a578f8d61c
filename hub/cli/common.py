"""What every `returns-hub` command shares: the lazily built runtime, settings and `fail`."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from hub.core.config import Settings, SettingsError
from hub.core.runtime import Runtime, StartupError
from hub.returns.queries import stored_stages_problems
from hub.workflow import ConfigError, load_workflow


class Context:
    """Builds the runtime lazily, so `--help` and `check-config` need no database."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            try:
                settings = load_settings()
                self._runtime = Runtime.from_settings(settings, load_workflow(settings.config_path))
            except ConfigError as exc:
                fail(exc.describe())
        return self._runtime

    def close(self) -> None:
        """Release the database connections when the command ends."""
        if self._runtime is not None:
            self._runtime.engine.dispose()

    def ready_runtime(self) -> Runtime:
        """The runtime, after checking the schema and the stages in the database."""
        rt = self.runtime
        try:
            rt.check_ready(stored_stages_problems)
        except StartupError as exc:
            fail(str(exc))
        return rt


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def load_settings() -> Settings:
    """The environment's settings, or exit naming the variable that is wrong."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        fail(str(exc))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error to stderr and exit non-zero."""
    click.secho(message, fg="red", err=True)
    sys.exit(code)
