"""`returns-hub user ...`: linking a user to Slack on the command line."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from hub.accounts.models import LoginSession, User
from hub.cli import main
from tests.factories import PASSWORD, make_user
from tests.web.support import csrf_token, login_as


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


def test_user_set_zone_on_the_command_line(settings, db, session):
    make_user(session, email="cleo@shop.example", team="logistics")
    session.commit()
    env = {"HUB_DATABASE_URL": settings.database_url, "HUB_INSTANCE_DIR": str(settings.instance_dir)}
    runner = CliRunner()

    def zone() -> str | None:
        session.expire_all()
        value = session.scalar(select(User.time_zone).where(User.email == "cleo@shop.example"))
        session.commit()
        return value

    ok = runner.invoke(main, ["user", "set-zone", "cleo@shop.example", "America/New_York"], env=env)
    assert ok.exit_code == 0, ok.output
    assert ok.output == "cleo@shop.example reads times in America/New_York\n"
    assert zone() == "America/New_York"

    bad = runner.invoke(main, ["user", "set-zone", "cleo@shop.example", "Mars/Olympus_Mons"], env=env)
    assert bad.exit_code == 1
    assert "time zone: expected a time zone name like Europe/Amsterdam, got 'Mars/Olympus_Mons'" in bad.output
    assert zone() == "America/New_York"  # unchanged

    neither = runner.invoke(main, ["user", "set-zone", "cleo@shop.example"], env=env)
    assert neither.exit_code == 1
    assert "--team-default" in neither.output

    back = runner.invoke(main, ["user", "set-zone", "cleo@shop.example", "--team-default"], env=env)
    assert back.exit_code == 0, back.output
    assert back.output == "cleo@shop.example reads times in Europe/Amsterdam (the team's)\n"
    assert zone() is None


def test_user_logout_ends_every_login_of_that_user(cli, app, client, session):
    user, _ = login_as(client, session, email="cleo@shop.example")
    laptop = app.test_client()
    token = csrf_token(laptop)
    form = {"email": user.email, "password": PASSWORD, "remember": "1", "csrf_token": token}
    assert laptop.post("/login", data=form).status_code == 302
    other, _ = login_as(app.test_client(), session, email="dan@shop.example")
    assert client.get("/board").status_code == 200

    result = cli("user", "logout", "Cleo@shop.example")

    assert result.exit_code == 0, result.output
    assert result.output == "Logged out cleo@shop.example everywhere: ended 2 logins.\n"
    for browser in (client, laptop):
        resp = browser.get("/board")
        assert resp.status_code == 302
        assert resp.headers["Location"].startswith("/login")
    session.commit()
    assert session.scalars(select(LoginSession.user_id)).all() == [other.id]
    session.commit()  # SQLite: the test's read must not hold the write lock while the CLI runs
    assert cli("user", "logout", "cleo@shop.example").output == (
        "Logged out cleo@shop.example everywhere: ended 0 logins.\n"
    )


def test_user_logout_of_an_unknown_email_says_so_and_exits_1_like_the_other_user_commands(cli):
    result = cli("user", "logout", "nobody@shop.example")
    assert result.exit_code == 1
    assert "no user with e-mail nobody@shop.example" in result.output


def test_user_set_password_ends_every_login_of_that_user(cli, client, session):
    login_as(client, session, email="cleo@shop.example")
    result = cli("user", "set-password", "cleo@shop.example", "--password", "a brand new password")
    assert result.exit_code == 0, result.output
    assert "they are logged out everywhere" in result.output
    assert client.get("/board").status_code == 302
