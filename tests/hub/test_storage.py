"""Storage: migrations match the models, SQLite pragmas, the schema check, init-db, start-up checks, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, exc, func, inspect, select, text

import hub.models  # noqa: F401 - every table on Base.metadata
from hub.accounts.models import Team
from hub.cli import main
from hub.core.db import (
    Base,
    SchemaError,
    check_schema,
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    upgrade,
)
from hub.core.runtime import Runtime, StartupError
from hub.returns.models import Return, ReturnItem
from hub.returns.queries import stored_stages_problems
from hub.workflow import parse_workflow
from tests.factories import make_return

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A fresh SQLite file nobody has touched."""
    return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"


@pytest.fixture
def fresh(sqlite_url):
    """An engine on the fresh SQLite file, disposed afterwards."""
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def schema_diff(engine: Engine) -> list:
    """What autogenerate would change to make the database match the models (nothing, if they agree)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(ctx, Base.metadata)


# --- migrations and models -----------------------------------------------------------------------


def test_migrations_build_exactly_the_models_schema_on_sqlite(fresh):
    upgrade(fresh)
    assert schema_diff(fresh) == []


def test_migrations_build_exactly_the_models_schema_on_the_test_database(engine):
    # on PostgreSQL when HUB_TEST_DATABASE_URL points there, else SQLite
    assert current_revision(engine) == head_revision()
    assert schema_diff(engine) == []


def test_every_model_table_is_migrated(fresh):
    upgrade(fresh)
    tables = set(inspect(fresh).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_the_partial_board_indexes_exist(engine):
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("returns")}
    assert {"ix_returns_open_stage_entered", "ix_returns_open_due"} <= indexes


def test_head_revision_is_the_newest_of_one_linear_chain_of_migrations():
    from alembic.script import ScriptDirectory

    from hub.core.db import MIGRATIONS_DIR

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    chain = [rev.revision for rev in script.walk_revisions()]  # newest first
    assert script.get_heads() == [head_revision()]
    assert chain[0] == head_revision()
    assert chain == sorted(chain, reverse=True)


# --- SQLite settings -------------------------------------------------------------------------------


def test_sqlite_uses_wal_foreign_keys_and_a_busy_timeout(fresh):
    with fresh.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_sqlite_enforces_foreign_keys_and_cascades(fresh, workflow, now):
    upgrade(fresh)
    factory = make_session_factory(fresh)
    with factory.begin() as s:
        r = make_return(s, workflow, now=now)
        rid = r.id
    with pytest.raises(exc.IntegrityError), fresh.begin() as conn:
        conn.execute(text("INSERT INTO memberships (user_id, team_key) VALUES (999, 'nope')"))
    with fresh.begin() as conn:
        conn.execute(text("DELETE FROM returns WHERE id = :id"), {"id": rid})
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(ReturnItem)) == 0


def test_sqlite_creates_the_folder_of_its_file(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'hub.sqlite3'}")
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    engine.dispose()
    assert (tmp_path / "a" / "b" / "hub.sqlite3").exists()


# --- the schema check ---------------------------------------------------------------------------------


def test_check_schema_passes_on_a_migrated_database(engine):
    check_schema(engine)


def test_check_schema_on_an_empty_database_says_to_run_init_db(fresh):
    assert current_revision(fresh) is None
    with pytest.raises(SchemaError, match=r"The database is empty: run `returns-hub init-db`"):
        check_schema(fresh)


def test_check_schema_on_tables_without_a_migration_record_says_to_run_init_db(fresh):
    Base.metadata.create_all(fresh)
    with pytest.raises(SchemaError, match=r"has tables but no migration record: run `returns-hub init-db`"):
        check_schema(fresh)


def test_check_schema_after_a_downgrade_to_base_says_to_run_init_db(fresh):
    upgrade(fresh)
    from alembic import command

    from hub.core.db import _alembic_config

    command.downgrade(_alembic_config(fresh), "base")
    assert current_revision(fresh) is None
    with pytest.raises(SchemaError, match=r"run `returns-hub init-db`"):
        check_schema(fresh)


def test_check_schema_on_a_database_behind_the_code_says_to_run_init_db(fresh):
    upgrade(fresh)
    with fresh.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    with pytest.raises(SchemaError) as info:
        check_schema(fresh)
    message = str(info.value)
    assert f"at revision 0000_older, this version needs {head_revision()}" in message
    assert "run `returns-hub init-db` to upgrade it" in message


# --- returns-hub init-db ----------------------------------------------------------------------------


def test_init_db_creates_the_schema_and_the_teams_and_is_idempotent(sqlite_url, workflow):
    runner = CliRunner()
    env = {"HUB_DATABASE_URL": sqlite_url, "HUB_CONFIG": None}
    for _ in range(2):
        result = runner.invoke(main, ["init-db"], env=env)
        assert result.exit_code == 0, result.output
        assert f"Database ready: {sqlite_url}" in result.stdout
    engine = make_engine(sqlite_url)
    try:
        check_schema(engine)
        with make_session_factory(engine)() as s:
            teams = {t.key: (t.name, t.color) for t in s.scalars(select(Team))}
        assert teams == {k: (t.name, t.color) for k, t in workflow.teams.items()}
    finally:
        engine.dispose()
    result = runner.invoke(main, ["user", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert "No users yet" in result.stdout


def test_init_db_syncs_teams_from_hub_config(sqlite_url, tmp_path):
    config = tmp_path / "workflow.toml"
    config.write_text(DEFAULT_WITHOUT_IN_TRANSIT.replace('name = "Warehouse"', 'name = "Magazijn"'), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["init-db"], env={"HUB_DATABASE_URL": sqlite_url, "HUB_CONFIG": None}).exit_code == 0
    result = runner.invoke(main, ["init-db"], env={"HUB_DATABASE_URL": sqlite_url, "HUB_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    engine = make_engine(sqlite_url)
    try:
        with make_session_factory(engine)() as s:
            assert s.get(Team, "warehouse").name == "Magazijn"
            assert s.scalar(select(func.count()).select_from(Team)) == 3
    finally:
        engine.dispose()


def test_commands_that_need_the_schema_refuse_an_empty_database(sqlite_url):
    result = CliRunner().invoke(main, ["user", "list"], env={"HUB_DATABASE_URL": sqlite_url, "HUB_CONFIG": None})
    assert result.exit_code == 1
    assert "The database is empty: run `returns-hub init-db`" in result.stderr


# --- Runtime.check_ready ------------------------------------------------------------------------------

# the default workflow without its "In transit" stage: approved returns go straight to received
DEFAULT_WITHOUT_IN_TRANSIT = """
promise_days = 14

[teams.customer_service]
name = "Customer service"
color = "#2563eb"
timezone = "Europe/Amsterdam"

[teams.logistics]
name = "Logistics"
color = "#d97706"
timezone = "Europe/Amsterdam"

[teams.warehouse]
name = "Warehouse"
color = "#059669"
timezone = "Europe/Amsterdam"

[[stages]]
key = "new"
name = "New request"
team = "customer_service"
sla = "1 business day"
next = ["approved", "rejected"]

[[stages]]
key = "approved"
name = "Approved — label / pickup"
team = "logistics"
sla = "1 business day"
next = ["received", "rejected"]

[[stages]]
key = "received"
name = "Received — to inspect"
team = "warehouse"
sla = "1 business day"
next = ["inspected"]

[[stages]]
key = "inspected"
name = "Inspected — to resolve"
team = "customer_service"
sla = "1 business day"
next = ["resolved", "rejected"]

[[stages]]
key = "resolved"
name = "Resolved"
closed = true
requires_resolution = true
next = ["inspected"]

[[stages]]
key = "rejected"
name = "Rejected"
closed = true
requires_note = true
next = ["new"]

[[reasons]]
code = "too_small"
label = "Too small"
"""


def test_check_ready_refuses_returns_in_a_stage_the_config_lacks(runtime, session, workflow, now):
    for _ in range(3):
        make_return(session, workflow, stage="in_transit", now=now)
    make_return(session, workflow, stage="received", now=now)
    session.commit()
    runtime.check_ready(stored_stages_problems)  # the default workflow has every stage

    custom = parse_workflow(DEFAULT_WITHOUT_IN_TRANSIT, source="no-transit.toml")
    rt = Runtime(runtime.settings, custom, runtime.engine, runtime.session_factory)
    with pytest.raises(StartupError) as info:
        rt.check_ready(stored_stages_problems)
    message = str(info.value)
    assert "the database has 3 return(s) in stage 'in_transit', which no-transit.toml does not define" in message
    assert "add the stage(s) back to the config, or move those returns first" in message
    assert "'received'" not in message


def test_a_command_refuses_to_start_with_a_config_that_lacks_a_used_stage(
    session, workflow, now, database_url, tmp_path,
):
    make_return(session, workflow, stage="in_transit", now=now)
    session.commit()
    config = tmp_path / "no-transit.toml"
    config.write_text(DEFAULT_WITHOUT_IN_TRANSIT, encoding="utf-8")
    result = CliRunner().invoke(main, ["user", "list"],
                                env={"HUB_DATABASE_URL": database_url, "HUB_CONFIG": str(config)})
    assert result.exit_code == 1
    assert f"1 return(s) in stage 'in_transit', which {config} does not define" in result.stderr


def test_check_ready_refuses_an_old_schema(fresh, settings, workflow):
    rt = Runtime(settings, workflow, fresh, make_session_factory(fresh))
    with pytest.raises(StartupError, match="run `returns-hub init-db`"):
        rt.check_ready(stored_stages_problems)


# --- time zones ------------------------------------------------------------------------------------------


def test_timezone_aware_datetimes_round_trip_as_utc(session_factory, workflow):
    summer = datetime(2026, 7, 1, 14, 30, 15, 123456, tzinfo=AMSTERDAM)  # 12:30:15 UTC
    winter = datetime(2026, 1, 15, 9, 0, tzinfo=AMSTERDAM)  # 08:00 UTC
    with session_factory.begin() as s:
        r = make_return(s, workflow, now=summer)
        r.closed_at = winter
        rid = r.id
    with session_factory() as s:
        r = s.get(Return, rid)
        assert r.created_at == summer
        assert r.created_at.tzinfo is UTC
        assert r.created_at == datetime(2026, 7, 1, 12, 30, 15, 123456, tzinfo=UTC)
        assert r.closed_at == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
        assert r.closed_at.tzinfo is UTC
        assert r.promised_by == summer + timedelta(days=workflow.promise_days)
        assert r.events[0].created_at == summer
        # comparisons in SQL use the instant, whatever offset the parameter has
        cutoff = datetime(2026, 7, 1, 12, 30, 15, 123457, tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))
        assert s.scalar(select(Return.id).where(Return.created_at < cutoff)) == rid
        assert s.scalar(select(Return.id).where(Return.created_at > summer)) is None


def test_sqlite_stores_utc_wall_time(fresh, workflow):
    upgrade(fresh)
    with make_session_factory(fresh).begin() as s:
        make_return(s, workflow, now=datetime(2026, 7, 1, 14, 30, tzinfo=AMSTERDAM))
    with fresh.connect() as conn:
        assert conn.exec_driver_sql("SELECT created_at FROM returns").scalar().startswith("2026-07-01 12:30:00")


def test_a_naive_datetime_is_refused(session, workflow, now):
    r = make_return(session, workflow, now=now)
    r.closed_at = datetime(2026, 3, 5, 10, 0)
    with pytest.raises(exc.StatementError, match="naive datetime"):
        session.flush()
    session.rollback()
