"""What every entry point needs: settings, the workflow, the engine and sessions, checked at start-up."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import Settings
from hub.core.db import SchemaError, check_schema, make_engine, make_session_factory, unit_of_work, utcnow

if TYPE_CHECKING:  # the platform holds the workflow for everyone, but never needs its code
    from hub.workflow import Workflow

# a start-up check: what is wrong with the stored data for this workflow, one line per problem
ReadyCheck = Callable[[Session, "Workflow"], list[str]]


class StartupError(RuntimeError):
    """The app cannot start: the config is invalid or does not fit the database."""


@dataclass
class Runtime:
    """Settings, workflow and database handles shared by the web app, the CLI and the worker."""

    settings: Settings
    workflow: Workflow
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Callable[[], datetime] = utcnow
    read_session_factory: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.read_session_factory = make_session_factory(self.engine, read_only=True)

    @classmethod
    def from_settings(cls, settings: Settings, workflow: Workflow) -> Runtime:
        """Connect to the settings' database for this workflow."""
        engine = make_engine(settings.database_url)
        return cls(settings, workflow, engine, make_session_factory(engine))

    def now(self) -> datetime:
        """The current time (tests replace the clock)."""
        return self.clock()

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """A transaction that commits at the end of the block."""
        return unit_of_work(self.session_factory)

    def check_ready(self, *checks: ReadyCheck) -> None:
        """Raise StartupError unless the schema is current and every check finds the stored data fits."""
        try:
            check_schema(self.engine)
        except SchemaError as exc:
            raise StartupError(str(exc)) from None
        with self.session_factory() as session:
            problems = [line for check in checks for line in check(session, self.workflow)]
        if problems:
            raise StartupError("\n".join(problems))
