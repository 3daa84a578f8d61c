"""Storage: migrations match the models, SQLite pragmas, the schema check, start-up checks, UTC times.

(`returns-hub init-db` and the commands' start-up checks: tests/cli/test_setup.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, exc, func, inspect, select, text

import hub.models  # noqa: F401 - every table on Base.metadata
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
from hub.returns.search import SQLITE_INDEX
from hub.workflow import parse_workflow
from tests.factories import make_return, workflow_toml

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def fresh(sqlite_url):
    """An engine on the fresh SQLite file, disposed afterwards."""
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


# indexes with a descending column: SQLite reflects them without the direction, so autogenerate
# sees them as different there; test_descending_index_columns_keep_their_direction checks them instead
DESCENDING_INDEXES = {"ix_returns_open_stage_priority": "priority"}


# search (migration 0005): PostgreSQL has a trigram index, SQLite an FTS5 table (and its shadow tables) that no
# model declares; test_search_has_its_index_on_each_database checks them instead
PG_ONLY_INDEXES = {"ix_returns_search_trgm"}


def _sqlite_search_table(name: str) -> bool:
    return name == SQLITE_INDEX or name.startswith(f"{SQLITE_INDEX}_")


def schema_diff(engine: Engine) -> list:
    """What autogenerate would change to make the database match the models (nothing, if they agree)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(ctx, Base.metadata)
    if engine.dialect.name == "sqlite":
        diff = [d for d in diff if not (d[0] in ("add_index", "remove_index") and d[1].name in DESCENDING_INDEXES)]
        diff = [d for d in diff if not (d[0] == "add_index" and d[1].name in PG_ONLY_INDEXES)]
        diff = [d for d in diff if not (d[0] == "remove_table" and _sqlite_search_table(d[1].name))]
    return diff


def test_search_has_its_index_on_each_database(engine):
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (SQLITE_INDEX,)).scalar()
            assert "fts5" in sql
            assert "trigram" in sql
            triggers = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
            assert {f"{SQLITE_INDEX}_{t}" for t in ("insert", "delete", "update")} <= set(triggers)
        else:
            ddl = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_returns_search_trgm'"
            ).scalar()
            assert "gin (search_text gin_trgm_ops)" in ddl


def test_descending_index_columns_keep_their_direction(engine):
    with engine.connect() as conn:
        for name, column in DESCENDING_INDEXES.items():
            if engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql(f"PRAGMA index_xinfo({name})").all()
                assert [r.name for r in rows if r.desc] == [column]
            else:
                ddl = conn.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (name,)).scalar()
                assert f"{column} DESC" in ddl


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
    tables = {t for t in inspect(fresh).get_table_names() if not _sqlite_search_table(t)}
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


def _downgraded_to_base(engine: Engine) -> None:
    from alembic import command

    from hub.core.db import _alembic_config

    upgrade(engine)
    command.downgrade(_alembic_config(engine), "base")


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda engine: None, r"The database is empty: run `returns-hub init-db`"),
        (Base.metadata.create_all, r"has tables but no migration record: run `returns-hub init-db`"),
        (_downgraded_to_base, r"run `returns-hub init-db`"),
    ],
    ids=["empty", "tables-without-a-migration-record", "downgraded-to-base"],
)
def test_check_schema_on_a_database_without_a_migration_says_to_run_init_db(fresh, prepare, message):
    prepare(fresh)
    assert current_revision(fresh) is None
    with pytest.raises(SchemaError, match=message):
        check_schema(fresh)


def test_check_schema_on_a_database_behind_the_code_says_to_run_init_db(fresh):
    upgrade(fresh, "0005")
    with pytest.raises(SchemaError) as info:
        check_schema(fresh)
    message = str(info.value)
    assert f"at revision 0005, this version needs {head_revision()}" in message
    assert "run `returns-hub init-db` to upgrade it" in message


def test_check_schema_on_a_database_a_newer_version_upgraded_says_to_install_that_version(fresh):
    """An old app server restarted after another host's init-db: running init-db here would not help."""
    upgrade(fresh)
    with fresh.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_newer'"))
    with pytest.raises(SchemaError) as info:
        check_schema(fresh)
    message = str(info.value)
    assert f"at revision 0099_newer, newer than this version of Returns Hub knows (it needs {head_revision()})" in (
        message
    )
    assert "install the version it runs here too" in message
    assert "init-db" not in message


# --- Runtime.check_ready ------------------------------------------------------------------------------

# the default workflow without its "In transit" stage: approved returns go straight to received
WITHOUT_IN_TRANSIT = workflow_toml(stages={"in_transit": None, "approved": {"next": ["received", "rejected"]}})


def test_check_ready_refuses_returns_in_a_stage_the_config_lacks(runtime, session, workflow, now):
    for _ in range(3):
        make_return(session, workflow, stage="in_transit", now=now)
    make_return(session, workflow, stage="received", now=now)
    session.commit()
    runtime.check_ready(stored_stages_problems)  # the default workflow has every stage

    custom = parse_workflow(WITHOUT_IN_TRANSIT, source="no-transit.toml")
    rt = Runtime(runtime.settings, custom, runtime.engine, runtime.session_factory)
    with pytest.raises(StartupError) as info:
        rt.check_ready(stored_stages_problems)
    message = str(info.value)
    assert "the database has 3 return(s) in stage 'in_transit', which no-transit.toml does not define" in message
    assert "add the stage(s) back to the config, or move those returns first" in message
    assert "'received'" not in message


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
