"""`returns-hub dispatch` (the outbox once, through SMTP) and `returns-hub worker` (the scheduled jobs)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hub.cli import main
from hub.core.db import utcnow
from tests.email.support import BASE_URL, MAIL_FROM, approve, outbox


def _cli_env(database_url: str, tmp_path: Path, smtp_url: str | None) -> dict[str, str | None]:
    return {
        "HUB_DATABASE_URL": database_url,
        "HUB_SMTP_URL": smtp_url,
        "HUB_MAIL_FROM": MAIL_FROM,
        "HUB_BASE_URL": BASE_URL,
        "HUB_INSTANCE_DIR": str(tmp_path / "cli-instance"),
        "HUB_CONFIG": None,
        "HUB_SECRET_KEY": None,
        "HUB_OUTBOX_MAX_ATTEMPTS": None,
        "SLACK_BOT_TOKEN": None,
        "SLACK_SIGNING_SECRET": None,
    }


def test_the_dispatch_command_delivers_through_smtp(session, session_factory, workflow, database_url, smtp, tmp_path):
    # the command runs on the real clock: make the rows due now
    clock = utcnow
    r = approve(session, session_factory, workflow, clock, customer_email="cli@example.nl", customer_locale="nl")
    runner = CliRunner()

    result = runner.invoke(main, ["dispatch"], env=_cli_env(database_url, tmp_path, smtp.url))

    assert result.exit_code == 0, result.output
    assert "Outbox: sent 2, retrying 0, dead 0, skipped 1." in result.output
    assert sorted(m.rcpt_tos[0] for m in smtp.received) == ["cli@example.nl", "logistics@shop.example"]
    assert smtp.to("cli@example.nl")[0].message["Subject"] == f"Uw retour {r.rma} is goedgekeurd"
    assert f"{BASE_URL}/status/{r.status_token}" in smtp.to("cli@example.nl")[0].part("plain")

    again = runner.invoke(main, ["dispatch"], env=_cli_env(database_url, tmp_path, smtp.url))
    assert again.exit_code == 0, again.output
    assert "Outbox: sent 0, retrying 0, dead 0, skipped 0." in again.output
    assert len(smtp.received) == 2


def test_the_dispatch_command_reports_an_unreachable_server_and_a_bad_url(
    session, session_factory, workflow, database_url, smtp, tmp_path
):
    approve(session, session_factory, workflow, utcnow)
    smtp.stop()
    runner = CliRunner()

    down = runner.invoke(main, ["dispatch"], env=_cli_env(database_url, tmp_path, smtp.url))
    assert down.exit_code == 0, down.output
    assert "Outbox: sent 0, retrying 2, dead 0, skipped 1." in down.output

    bad = runner.invoke(main, ["dispatch"], env=_cli_env(database_url, tmp_path, "http://mail.example"))
    assert bad.exit_code == 1
    assert "HUB_SMTP_URL must start with smtp://" in bad.output
    bad_sender = runner.invoke(
        main, ["dispatch"], env={**_cli_env(database_url, tmp_path, smtp.url), "HUB_MAIL_FROM": "Returns Hub"}
    )
    assert bad_sender.exit_code == 1
    assert "HUB_MAIL_FROM is not an e-mail address: 'Returns Hub'" in bad_sender.output
    assert all(n.attempts == 1 for n in outbox(session_factory, channel="email"))


def test_the_worker_command_has_help():
    result = CliRunner().invoke(main, ["worker", "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "worker" in result.output
    assert "scheduled jobs" in result.output

    listing = CliRunner().invoke(main, ["--help"])
    assert listing.exit_code == 0
    assert "worker" in listing.output
