"""`returns-hub init-db` and `check-config`, and the start-up checks every command that needs the database makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hub.accounts.models import Team
from hub.cli import main
from hub.core.db import check_schema, make_engine, make_session_factory
from tests.factories import make_return, workflow_toml
from tests.workflow.support import APPROVED, CS, NEW, config

# the default workflow without its "In transit" stage: approved returns go straight to received
WITHOUT_IN_TRANSIT = {"in_transit": None, "approved": {"next": ["received", "rejected"]}}


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
    config.write_text(
        workflow_toml(teams={"warehouse": {"name": "Magazijn"}}, stages=WITHOUT_IN_TRANSIT), encoding="utf-8"
    )
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


def test_a_command_refuses_to_start_with_a_config_that_lacks_a_used_stage(
    session,
    workflow,
    now,
    database_url,
    tmp_path,
):
    make_return(session, workflow, stage="in_transit", now=now)
    session.commit()
    config = tmp_path / "no-transit.toml"
    config.write_text(workflow_toml(stages=WITHOUT_IN_TRANSIT), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["user", "list"], env={"HUB_DATABASE_URL": database_url, "HUB_CONFIG": str(config)}
    )
    assert result.exit_code == 1
    assert f"1 return(s) in stage 'in_transit', which {config} does not define" in result.stderr


# --- returns-hub check-config ---------------------------------------------------------------------


@pytest.fixture
def broken(tmp_path) -> Path:
    """A workflow file with three errors."""
    path = tmp_path / "broken.toml"
    path.write_text(
        config(
            a=('team = "customer_service"', 'team = "support"'),
            b=('timezone = "Europe/Amsterdam"', 'timezone = "Europe/Amsterdan"'),
            c=('sla = "5 calendar days"', 'sla = "five days"'),
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def good(tmp_path) -> Path:
    """A valid workflow file."""
    path = tmp_path / "good.toml"
    path.write_text(config(), encoding="utf-8")
    return path


def test_check_config_prints_every_error_with_the_file_name_and_exits_1(broken):
    result = CliRunner().invoke(main, ["check-config", str(broken)], env={"HUB_CONFIG": None})
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines == [
        f"{broken}: {CS}.timezone: unknown time zone 'Europe/Amsterdan' (use an IANA name like \"Europe/Amsterdam\")",
        f"{broken}: {NEW}.team: unknown team 'support'; teams are: customer_service, logistics",
        f'{broken}: {APPROVED}.sla: expected e.g. "1 business day", "5 calendar days" or "4 business hours", '
        "got 'five days'",
        f"3 errors in {broken}",
    ]
    assert result.stdout == ""


def test_check_config_says_ok_for_a_good_file(good):
    result = CliRunner().invoke(main, ["check-config", str(good)], env={"HUB_CONFIG": None})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{good}: OK")
    assert "2 teams, 4 stages (2 open), 2 return reasons, promise 14 days" in result.stdout


def test_check_config_uses_hub_config_when_no_file_is_given(broken, good):
    runner = CliRunner()
    result = runner.invoke(main, ["check-config"], env={"HUB_CONFIG": str(broken)})
    assert result.exit_code == 1
    assert f"3 errors in {broken}" in result.stderr
    result = runner.invoke(main, ["check-config"], env={"HUB_CONFIG": str(good)})
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{good}: OK")
    # a file on the command line wins over HUB_CONFIG
    result = runner.invoke(main, ["check-config", str(good)], env={"HUB_CONFIG": str(broken)})
    assert result.exit_code == 0


def test_check_config_checks_the_built_in_default_without_hub_config():
    result = CliRunner().invoke(main, ["check-config"], env={"HUB_CONFIG": None})
    assert result.exit_code == 0
    assert result.stdout.startswith("<built-in default>: OK — 3 teams, 7 stages (5 open)")
    # valid, but customers would be told that the return address follows separately
    assert result.stderr == (
        "<built-in default>: warning: shop.return_address is not set: the approval e-mail and the status page tell "
        "customers that the address to send their parcel to follows separately, so someone must e-mail it to each "
        "of them\n"
    )


def test_check_config_reports_a_missing_file(tmp_path):
    missing = tmp_path / "missing.toml"
    result = CliRunner().invoke(main, ["check-config", str(missing)], env={"HUB_CONFIG": None})
    assert result.exit_code == 1
    assert f"{missing}: cannot read the file" in result.stderr
