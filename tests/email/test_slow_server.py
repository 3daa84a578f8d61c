"""A slow or odd SMTP server gets one copy: the end of DATA waits long (HUB_SMTP_DATA_TIMEOUT), no answer to it is
"delivery unknown" (tried again an hour later, with the same Message-ID), and a failed QUIT after the 250 is no
failure. Real aiosmtpd servers; the timeouts are made short through the settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from hub.core.config import Settings, SettingsError
from hub.notifications.models import NotificationStatus
from hub.notifications.queries import State, outbox_overview
from jobs.dispatch import UNKNOWN_WAIT, DispatchReport, run_dispatch
from tests.email.support import approve, outbox
from tests.factories import make_user
from tests.web.support import login


def _timeouts(runtime, *, commands: int, data_end: int):
    return replace(runtime, settings=replace(runtime.settings, smtp_timeout=commands, smtp_data_timeout=data_end))


def test_the_timeouts_are_read_from_the_environment():
    settings = Settings.from_env({"HUB_SMTP_TIMEOUT": "20", "HUB_SMTP_DATA_TIMEOUT": "900"})
    assert (settings.smtp_timeout, settings.smtp_data_timeout) == (20, 900)
    default = Settings.from_env({})
    assert (default.smtp_timeout, default.smtp_data_timeout) == (15, 600)
    with pytest.raises(SettingsError, match="HUB_SMTP_DATA_TIMEOUT must be a whole number of at least 1, got '0'"):
        Settings.from_env({"HUB_SMTP_DATA_TIMEOUT": "0"})


def test_a_server_slower_than_the_command_timeout_at_the_end_of_data_gets_one_copy(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    # it queues the message and answers after 2 s: longer than the commands' timeout, within the end of DATA's
    rt = _timeouts(mail_runtime, commands=1, data_end=10)
    smtp.handler.answer_delay = 2
    approve(session, session_factory, workflow, clock, customer_email="sanne@example.nl")

    report = run_dispatch(rt)

    assert (report.sent, report.retried, report.unknown) == (2, 0, 0)
    assert len(smtp.received) == 2
    assert set(smtp.count_by_message_id().values()) == {1}
    for n in outbox(session_factory, channel="email"):
        assert (n.status, n.attempts, n.last_error) == (NotificationStatus.SENT, 1, None)
    clock.advance(hours=2)
    assert run_dispatch(rt) == DispatchReport()
    assert len(smtp.received) == 2


def test_no_answer_to_the_end_of_data_is_delivery_unknown_and_waits_an_hour(
    session, session_factory, workflow, mail_runtime, smtp, clock, client
):
    rt = _timeouts(mail_runtime, commands=5, data_end=1)
    smtp.handler.answer_delay = 3  # it has the message, and answers after the hub stopped waiting
    approve(session, session_factory, workflow, clock, customer_email="sanne@example.nl")
    tried_at = clock()

    report = run_dispatch(rt)

    assert (report.sent, report.retried, report.dead, report.unknown) == (0, 0, 0, 2)
    assert len(smtp.received) == 2  # one copy each...
    rows = outbox(session_factory, channel="email")
    for n in rows:
        assert (n.status, n.attempts) == (NotificationStatus.PENDING, 1)
        assert n.last_error.startswith("delivery unknown: ")
        assert f"127.0.0.1:{smtp.port}" in n.last_error
        assert n.next_attempt_at == tried_at + UNKNOWN_WAIT
    # ...and no second one soon: not on the next dispatch, not in the backoff's 30 s, not in 59 minutes
    assert run_dispatch(rt) == DispatchReport()
    clock.advance(seconds=30)
    assert run_dispatch(rt) == DispatchReport()
    clock.advance(minutes=58)
    assert run_dispatch(rt) == DispatchReport()
    assert len(smtp.received) == 2

    # the admin page calls them unknown, says when they are tried again, and "retry all" leaves them alone
    overview = outbox_overview(session, clock())
    assert {p.state for p in overview.problems if p.notification.channel == "email"} == {State.UNKNOWN}
    assert (overview.count(State.UNKNOWN), overview.count(State.FAILED)) == (2, 0)
    assert overview.retryable == 1  # the Slack one, skipped here
    lead = make_user(session, team="logistics", role="lead", email="lead@shop.example")
    session.commit()
    login(client, lead.email)
    html = client.get("/admin/notifications").get_data(as_text=True)
    assert html.count(">unknown</span>") == 2
    assert "2 unknown" in html
    assert "delivery unknown: " in html
    assert "Retry all 1" in html
    assert html.count(f'datetime="{(tried_at + UNKNOWN_WAIT).isoformat()}"') == 2

    # an hour later it is tried again with the same Message-ID: at least once, never under another identity
    smtp.handler.answer_delay = 0
    clock.advance(minutes=2)
    report = run_dispatch(rt)
    assert (report.sent, report.unknown) == (2, 0)
    counts = smtp.count_by_message_id()
    assert {f"<{n.message_key}@mail.shop.example>" for n in rows} == set(counts)
    assert set(counts.values()) == {2}
    for n in outbox(session_factory, channel="email"):
        assert (n.status, n.attempts, n.last_error) == (NotificationStatus.SENT, 2, None)


def test_a_failed_quit_after_the_server_took_the_message_sends_no_second_copy(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    smtp.handler.quit_reply = "421 4.3.0 shutting down"
    approve(session, session_factory, workflow, clock, customer_email="sanne@example.nl")

    report = run_dispatch(mail_runtime)

    assert (report.sent, report.retried) == (2, 0)
    for n in outbox(session_factory, channel="email"):
        assert (n.status, n.last_error) == (NotificationStatus.SENT, None)
    clock.advance(timedelta(hours=2))
    assert run_dispatch(mail_runtime) == DispatchReport()
    assert len(smtp.received) == 2
    assert set(smtp.count_by_message_id().values()) == {1}
