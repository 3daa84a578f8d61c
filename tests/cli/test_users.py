"""`returns-hub user ...`: linking a user to Slack on the command line."""

from __future__ import annotations

from click.testing import CliRunner

from hub.cli import main
from tests.factories import make_user


def test_user_set_slack_on_the_command_line(settings, db, session):
    make_user(session, email="cleo@shop.example")
    session.commit()
    env = {"HUB_DATABASE_URL": settings.database_url, "HUB_INSTANCE_DIR": str(settings.instance_dir)}
    runner = CliRunner()
    ok = runner.invoke(main, ["user", "set-slack", "cleo@shop.example", "U0CLEO1"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "linked to Slack user U0CLEO1" in ok.output
    missing = runner.invoke(main, ["user", "set-slack", "cleo@shop.example"], env=env)
    assert missing.exit_code == 1
    assert "--clear" in missing.output
    cleared = runner.invoke(main, ["user", "set-slack", "cleo@shop.example", "--clear"], env=env)
    assert "not linked to Slack" in cleared.output
    unknown = runner.invoke(main, ["user", "set-slack", "nobody@shop.example", "U0X1"], env=env)
    assert unknown.exit_code == 1
    assert "no user with e-mail nobody@shop.example" in unknown.output
