"""Alembic environment: migrations run on the engine the caller passes in."""

from __future__ import annotations

from alembic import context

import hub.models  # noqa: F401 - registers every table on Base.metadata
from hub.core.db import Base, make_engine
from hub.returns.search import SQLITE_INDEX

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate leaves alone SQLite's FTS5 search tables (migration 0005), which no model declares."""
    return not (type_ == "table" and reflected and (name == SQLITE_INDEX or name.startswith(f"{SQLITE_INDEX}_")))


def run_migrations_online() -> None:
    """Run the migrations on the caller's engine (or one for sqlalchemy.url)."""
    engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `returns-hub init-db`")
run_migrations_online()
