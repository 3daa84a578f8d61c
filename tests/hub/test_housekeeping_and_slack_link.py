"""Housekeeping forgets old delivered notifications, processed requests and failed logins; users link to Slack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.accounts.models import LoginAttempt
from hub.accounts.services import set_slack_user_id
from hub.cli import main
from hub.core.errors import ValidationFailed
from hub.notifications.models import Notification, NotificationStatus, ProcessedRequest
from jobs.housekeeping import run_housekeeping
from tests.factories import make_user


def test_housekeeping_keeps_what_is_recent_or_failed(runtime, session, now):
    old, recent = now - timedelta(days=40), now - timedelta(days=2)
    for status in NotificationStatus:
        for at in (old, recent):
            session.add(Notification(channel="email", kind="handoff", recipient="x@shop.example", payload={},
                                     status=status, created_at=at, next_attempt_at=at))
    session.add_all([ProcessedRequest(key="event:old", received_at=old),
                     ProcessedRequest(key="event:new", received_at=recent),
                     LoginAttempt(email="a@b.cc", ip="1.2.3.4", at=now - timedelta(days=2)),
                     LoginAttempt(email="a@b.cc", ip="1.2.3.4", at=now - timedelta(minutes=5))])
    session.commit()
    runtime.clock = lambda: now

    done = run_housekeeping(runtime)

    assert done == {"notifications": 2, "processed requests": 1, "failed logins": 1}
    session.expire_all()
    left = {(n.status, n.created_at == old) for n in session.scalars(select(Notification))}
    assert (NotificationStatus.SENT, True) not in left
    assert (NotificationStatus.SKIPPED, True) not in left
    assert (NotificationStatus.DEAD, True) in left  # an admin still has to see it
    assert (NotificationStatus.PENDING, True) in left
    assert session.scalars(select(ProcessedRequest.key)).all() == ["event:new"]
    assert len(session.scalars(select(LoginAttempt)).all()) == 1


def test_a_user_is_linked_to_slack_and_unlinked(session):
    ann = make_user(session, email="ann@shop.example")
    bob = make_user(session, email="bob@shop.example")
    assert set_slack_user_id(session, "ann@shop.example", "U012AB3CD").slack_user_id == "U012AB3CD"
    with pytest.raises(ValidationFailed, match="already belongs to ann@shop.example"):
        set_slack_user_id(session, bob.email, "U012AB3CD")
    with pytest.raises(ValidationFailed, match="looks like U012AB3CD"):
        set_slack_user_id(session, bob.email, "#general")
    assert set_slack_user_id(session, ann.email, None).slack_user_id is None


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
