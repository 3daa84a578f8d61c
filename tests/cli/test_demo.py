"""`returns-hub seed-demo`: seeds, commits and prints the logins, on an initialised database only."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from hub.cli import main
from hub.demo.seed import DEMO_PASSWORD, demo_logins
from hub.returns.models import Return


def test_seed_demo_command_seeds_commits_and_prints_the_logins(db, database_url, session_factory, workflow):
    runner = CliRunner()
    env = {"HUB_DATABASE_URL": database_url, "HUB_CONFIG": None}
    result = runner.invoke(main, ["seed-demo", "--returns-per-stage", "3", "--seed", "5"], env=env)
    assert result.exit_code == 0, result.output
    assert f"Seeded {3 * len(workflow.stages)} returns" in result.stdout
    for stage in workflow.stages.values():
        assert stage.name in result.stdout
    for login in demo_logins(workflow):
        assert login.email in result.stdout
    assert DEMO_PASSWORD in result.stdout
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Return)) == 3 * len(workflow.stages)

    again = runner.invoke(main, ["seed-demo"], env=env)
    assert again.exit_code == 1
    assert "already holds" in again.stderr


def test_seed_demo_command_needs_an_initialised_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = CliRunner().invoke(main, ["seed-demo"], env={"HUB_DATABASE_URL": url, "HUB_CONFIG": None})
    assert result.exit_code == 1
    assert "returns-hub init-db" in result.stderr
