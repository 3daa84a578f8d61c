"""What every entry point needs: settings, the workflow, the engine and sessions, checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.config import Settings
from hub.db import SchemaError, check_schema, make_engine, make_session_factory, unit_of_work, utcnow
from hub.returns.queries import unknown_stages
from hub.workflow import Workflow, load_workflow


class StartupError(RuntimeError):
    """The app cannot start: the config is invalid or does not fit the database."""


@dataclass
class Runtime:
    """Settings, workflow and database handles shared by the web app, the CLI and the worker."""

    settings: Settings
    workflow: Workflow
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: object = field(default=utcnow)
    read_session_factory: sessionmaker[Session] | None = None

    def __post_init__(self) -> None:
        if self.read_session_factory is None:
            self.read_session_factory = make_session_factory(self.engine, read_only=True)

    @classmethod
    def from_settings(cls, settings: Settings, workflow: Workflow | None = None) -> Runtime:
        """Load the workflow (ConfigError if invalid) and connect to the database."""
        workflow = workflow or load_workflow(settings.config_path)
        engine = make_engine(settings.database_url)
        return cls(settings, workflow, engine, make_session_factory(engine))

    def now(self) -> datetime:
        """The current time (tests replace the clock)."""
        return self.clock()  # type: ignore[operator]

    def unit_of_work(self):  # noqa: ANN201 - a context manager yielding a Session
        """A transaction that commits at the end of the block."""
        return unit_of_work(self.session_factory)

    def check_ready(self) -> None:
        """Raise StartupError unless the schema is current and every stored stage is configured."""
        try:
            check_schema(self.engine)
        except SchemaError as exc:
            raise StartupError(str(exc)) from None
        with self.session_factory() as session:
            orphans = unknown_stages(session, self.workflow)
        if orphans:
            lines = [
                f"the database has {count} return(s) in stage {stage!r}, which {self.workflow.source} "
                f"does not define" for stage, count in orphans.items()
            ]
            lines.append("add the stage(s) back to the config, or move those returns first")
            raise StartupError("\n".join(lines))
