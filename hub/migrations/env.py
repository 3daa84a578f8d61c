"""Alembic environment: migrations run on the engine the caller passes in."""

from __future__ import annotations

from alembic import context

import hub.models  # noqa: F401 - registers every table on Base.metadata
from hub.core.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run the migrations on the caller's engine (or one for sqlalchemy.url)."""
    engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `returns-hub init-db`")
run_migrations_online()
