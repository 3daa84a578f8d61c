"""The outbox's dispatcher: nothing committed is lost, nothing rolled back is sent, nothing is sent twice."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import jobs.dispatch
from hub.core.db import unit_of_work
from hub.core.errors import InvalidTransition, PermissionDenied
from hub.notifications.delivery import DeliveryError
from hub.notifications.models import Notification, NotificationStatus
from hub.returns.models import Channel, Return
from hub.returns.permissions import Actor
from hub.returns.services import move_return
from integrations.email import EmailDelivery
from jobs.dispatch import CLAIM_TTL, DispatchReport, backoff, channel_adapters, claim, dispatch, run_dispatch
from tests.email.support import by_recipient, outbox
from tests.factories import SYSTEM, make_return, make_user, move
from tests.web.support import login


def _return(session, workflow, clock, **overrides) -> Return:
    r = make_return(session, workflow, now=clock(), **overrides)
    session.commit()
    return r


def test_the_backoff_doubles_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_committed_change_survives_the_mail_server_being_away(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    r = _return(session, workflow, clock, customer_email="sanne@example.nl")
    smtp.stop()
    assert not smtp.running

    move(session_factory, workflow, r.rma, "approved", now=clock())

    with session_factory() as s:
        assert s.get(Return, r.id).stage == "approved"  # the change committed with the mail server down
    rows = outbox(session_factory, channel="email")
    assert len(rows) == 2
    assert all(n.status is NotificationStatus.PENDING for n in rows)

    # first attempt: refused connections, retried after backoff(1)
    first_try = clock()
    report = run_dispatch(mail_runtime)
    assert (report.sent, report.retried, report.dead, report.skipped) == (0, 2, 0, 1)
    for n in outbox(session_factory, channel="email"):
        assert (n.status, n.attempts) == (NotificationStatus.PENDING, 1)
        assert f"cannot reach the SMTP server 127.0.0.1:{smtp.port}" in n.last_error
        assert "Connection refused" in n.last_error
        assert n.next_attempt_at == first_try + backoff(1)
        assert (n.claimed_by, n.claimed_at, n.sent_at) == (None, None, None)

    # not due yet: nothing is tried
    clock.advance(seconds=29)
    assert run_dispatch(mail_runtime) == DispatchReport()
    assert {n.attempts for n in outbox(session_factory, channel="email")} == {1}

    # second attempt, still down: the wait doubles
    second_try = clock.advance(seconds=1)
    assert run_dispatch(mail_runtime).retried == 2
    for n in outbox(session_factory, channel="email"):
        assert n.attempts == 2
        assert n.next_attempt_at == second_try + backoff(2)

    # the server is back, but the messages wait for their next attempt
    smtp.start()
    clock.advance(seconds=59)
    assert run_dispatch(mail_runtime) == DispatchReport()
    assert smtp.received == []

    delivered_at = clock.advance(seconds=1)
    report = run_dispatch(mail_runtime)
    assert (report.sent, report.retried, report.dead) == (2, 0, 0)
    counts = smtp.count_by_message_id()
    assert sorted(counts.values()) == [1, 1]
    rows = by_recipient(outbox(session_factory, channel="email"))
    assert set(rows) == {"logistics@shop.example", "sanne@example.nl"}
    for n in rows.values():
        assert (n.status, n.attempts, n.sent_at, n.last_error) == (NotificationStatus.SENT, 3, delivered_at, None)
        assert counts[f"<{n.message_key}@mail.shop.example>"] == 1

    # nothing more, now or later
    assert run_dispatch(mail_runtime) == DispatchReport()
    clock.advance(days=2)
    assert run_dispatch(mail_runtime) == DispatchReport()
    assert len(smtp.received) == 2


def test_a_rolled_back_change_writes_and_sends_nothing(session, session_factory, workflow, mail_runtime, smtp, clock):
    r = _return(session, workflow, clock)
    assert outbox(session_factory) == []  # a new request tells nobody in the default workflow

    written = []

    def change_then_fail() -> None:
        with unit_of_work(session_factory) as s:
            move_return(s, workflow, SYSTEM, r.rma, "approved", now=clock())
            written.append(s.scalar(select(func.count()).select_from(Notification)))
            raise RuntimeError("something failed after the move")

    with pytest.raises(RuntimeError, match="after the move"):
        change_then_fail()

    assert written == [3]  # the rows were written in the transaction...
    assert outbox(session_factory) == []  # ...and gone with it
    with session_factory() as s:
        assert s.get(Return, r.id).stage == "new"
    assert run_dispatch(mail_runtime) == DispatchReport()
    assert smtp.received == []


def test_a_refused_change_writes_nothing(session, session_factory, workflow, mail_runtime, smtp, clock):
    r = _return(session, workflow, clock)
    warehouse = make_user(session, team="warehouse")
    session.commit()

    with pytest.raises(PermissionDenied):
        move(session_factory, workflow, r.rma, "approved", now=clock(), actor=Actor.person(warehouse, Channel.WEB))
    with pytest.raises(InvalidTransition):
        move(session_factory, workflow, r.rma, "received", now=clock())

    assert outbox(session_factory) == []
    assert run_dispatch(mail_runtime) == DispatchReport()
    assert smtp.received == []


class GatedAdapter:
    """One dispatcher's e-mail adapter: records what it sends and holds its first send until both have claimed."""

    channel = "email"

    def __init__(self, inner: EmailDelivery, gate: threading.Barrier) -> None:
        self.inner, self.gate = inner, gate
        self.sent: list[int] = []

    def send(self, notification: Notification) -> str | None:
        if not self.sent:
            # both dispatchers now hold claims at the same time: they must hold different rows
            self.gate.wait(timeout=20)
        self.sent.append(notification.id)
        return self.inner.send(notification)


def test_two_dispatchers_deliver_each_message_exactly_once(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    for i in range(15):
        r = make_return(session, workflow, now=clock(), customer_email=f"customer{i}@example.nl")
        move_return(session, workflow, SYSTEM, r.rma, "approved", now=clock())
    session.commit()
    emails = outbox(session_factory, channel="email")
    assert len(emails) == 30

    gate = threading.Barrier(2)
    workers = {name: GatedAdapter(EmailDelivery(mail_runtime.settings, workflow), gate) for name in ("w1", "w2")}
    unavailable = {"slack": "Slack is off"}

    def run(name: str) -> DispatchReport:
        return dispatch(
            session_factory, {"email": workers[name]}, clock=clock, worker=name, batch=3, unavailable=unavailable
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(run, workers))

    assert sum(rep.sent for rep in reports) == 30
    assert sum(rep.skipped for rep in reports) == 15
    assert sum(rep.retried + rep.dead for rep in reports) == 0
    # at the server: 30 messages, one per Message-ID
    counts = smtp.count_by_message_id()
    assert len(smtp.received) == 30
    assert set(counts.values()) == {1}
    assert set(counts) == {f"<{n.message_key}@mail.shop.example>" for n in emails}
    # both worked, on different rows
    w1, w2 = workers["w1"].sent, workers["w2"].sent
    assert w1
    assert w2
    assert not set(w1) & set(w2)
    assert sorted(w1 + w2) == sorted(n.id for n in emails)
    for n in outbox(session_factory, channel="email"):
        assert (n.status, n.attempts, n.claimed_by) == (NotificationStatus.SENT, 1, None)
    assert run_dispatch(mail_runtime) == DispatchReport()
    assert len(smtp.received) == 30


def test_a_claim_left_by_a_crashed_dispatcher_is_taken_over(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    r = _return(session, workflow, clock, customer_email="sanne@example.nl")
    move(session_factory, workflow, r.rma, "approved", now=clock())
    with unit_of_work(session_factory) as s:
        claimed = claim(s, "crashed-worker", clock(), limit=10)
    assert len(claimed) == 3

    # while the claim is fresh nobody else takes it
    clock.advance(CLAIM_TTL)
    assert run_dispatch(mail_runtime) == DispatchReport()
    clock.advance(seconds=1)
    report = run_dispatch(mail_runtime)
    assert (report.sent, report.skipped) == (2, 1)
    assert sorted(smtp.count_by_message_id().values()) == [1, 1]


class SlowSmtp:
    """Real delivery that takes two thirds of the claim's time to live a message (each renewed before its send);
    once a batch has taken longer than the claim's time to live, a second dispatcher runs (it takes over the
    claims it sees as abandoned)."""

    channel = "email"

    def __init__(self, inner: EmailDelivery, clock, second_dispatcher) -> None:
        self.inner, self.clock, self.second_dispatcher = inner, clock, second_dispatcher
        self.started = clock()
        self.second_report: DispatchReport | None = None

    def send(self, notification: Notification) -> str | None:
        self.clock.advance(CLAIM_TTL * 2 / 3)
        if self.second_report is None and self.clock() - self.started > CLAIM_TTL:
            self.second_report = self.second_dispatcher()
        return self.inner.send(notification)


def test_a_slow_batch_is_not_sent_twice_when_another_dispatcher_takes_over(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    for i in range(15):
        r = make_return(session, workflow, now=clock(), customer_email=f"customer{i}@example.nl")
        move_return(session, workflow, SYSTEM, r.rma, "approved", now=clock())
    session.commit()
    email = EmailDelivery(mail_runtime.settings, workflow)
    unavailable = {"slack": "Slack is off"}

    def second() -> DispatchReport:
        return dispatch(session_factory, {"email": email}, clock=clock, worker="w2", unavailable=unavailable)

    slow = SlowSmtp(email, clock, second)
    first = dispatch(session_factory, {"email": slow}, clock=clock, worker="w1", batch=50, unavailable=unavailable)

    assert slow.second_report is not None
    assert slow.second_report.sent > 0  # it took over rows that waited in the slow batch...
    assert first.sent + slow.second_report.sent == 30  # ...and the first dispatcher did not send them again
    assert len(smtp.received) == 30
    assert set(smtp.count_by_message_id().values()) == {1}
    assert {n.status for n in outbox(session_factory, channel="email")} == {NotificationStatus.SENT}


def test_dead_after_max_attempts_then_retried_by_a_lead(
    session, session_factory, workflow, mail_runtime, smtp, clock, app, client
):
    rt = replace(mail_runtime, settings=replace(mail_runtime.settings, outbox_max_attempts=2))
    lead = make_user(session, team="logistics", role="lead", email="lead@shop.example")
    r = _return(session, workflow, clock, customer_email="sanne@example.nl", customer_name="Sanne de Vries")
    smtp.stop()
    move(session_factory, workflow, r.rma, "approved", now=clock())

    assert run_dispatch(rt).retried == 2
    token = login(client, lead.email)
    page = client.get("/admin/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = by_recipient(outbox(session_factory, channel="email"))
    for n in rows.values():
        assert f'id="notification-{n.id}"' in html
    assert html.count(">failed</span>") == 2
    assert "Connection refused" in html
    assert f"127.0.0.1:{smtp.port}" in html

    clock.advance(backoff(1))
    report = run_dispatch(rt)
    assert (report.retried, report.dead) == (0, 2)
    rows = by_recipient(outbox(session_factory, channel="email"))
    for n in rows.values():
        assert (n.status, n.attempts) == (NotificationStatus.DEAD, 2)
        assert "cannot reach the SMTP server" in n.last_error
    clock.advance(days=1)
    assert run_dispatch(rt) == DispatchReport()  # the dead stay dead

    token = login(client, lead.email)  # a day later: a login without "keep me logged in" has ended
    html = client.get("/admin/notifications").get_data(as_text=True)
    assert html.count(">dead</span>") == 2
    assert html.count("cannot reach the SMTP server") == 2
    assert "0 sent" in html
    assert "2 dead" in html
    assert "1 skipped" in html

    # without the CSRF token the form is refused and nothing changes
    customer = rows["sanne@example.nl"]
    refused = client.post(f"/admin/notifications/{customer.id}/retry")
    assert refused.status_code == 400
    assert by_recipient(outbox(session_factory, channel="email"))["sanne@example.nl"].status is NotificationStatus.DEAD

    retried_at = clock()
    resp = client.post(f"/admin/notifications/{customer.id}/retry", data={"csrf_token": token})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/admin/notifications")
    after = by_recipient(outbox(session_factory, channel="email"))
    assert (after["sanne@example.nl"].status, after["sanne@example.nl"].attempts) == (NotificationStatus.PENDING, 0)
    assert after["sanne@example.nl"].next_attempt_at == retried_at
    assert after["logistics@shop.example"].status is NotificationStatus.DEAD
    flashed = client.get("/admin/notifications").get_data(as_text=True)
    assert f"Notification {customer.id} (customer_update to sanne@example.nl) will be sent" in flashed

    smtp.start()
    report = run_dispatch(rt)
    assert (report.sent, report.dead) == (1, 0)
    assert [m.rcpt_tos for m in smtp.received] == [("sanne@example.nl",)]
    final = by_recipient(outbox(session_factory, channel="email"))
    assert final["sanne@example.nl"].status is NotificationStatus.SENT
    assert final["logistics@shop.example"].status is NotificationStatus.DEAD

    # a sent notification has nothing to retry
    client.post(f"/admin/notifications/{customer.id}/retry", data={"csrf_token": token})
    html = client.get("/admin/notifications").get_data(as_text=True)
    assert f"notification {customer.id} is sent; there is nothing to retry" in html
    assert run_dispatch(rt) == DispatchReport()
    assert len(smtp.received) == 1


def test_a_channel_without_adapter_is_skipped_with_the_reason(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    r = _return(session, workflow, clock)
    move(session_factory, workflow, r.rma, "approved", now=clock())

    report = run_dispatch(mail_runtime)

    assert (report.sent, report.skipped) == (2, 1)
    (slack,) = outbox(session_factory, channel="slack")
    assert slack.recipient == "#returns-logistics"
    assert slack.status is NotificationStatus.SKIPPED
    assert slack.attempts == 0
    assert slack.last_error == "Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"
    adapters, unavailable = channel_adapters(mail_runtime.settings, workflow)
    assert set(adapters) == {"email"}
    assert "slack" in unavailable

    # without a stated reason the dispatcher names the channel
    r2 = _return(session, workflow, clock)
    move(session_factory, workflow, r2.rma, "approved", now=clock())
    report = dispatch(session_factory, {}, clock=clock, worker="w")
    assert report.skipped == 3
    skipped = outbox(session_factory, return_id=r2.id)
    assert {n.last_error for n in skipped} == {"no adapter for channel 'email'", "no adapter for channel 'slack'"}
    assert run_dispatch(mail_runtime) == DispatchReport()


class SlowAndFailing:
    """A mail server that times out after 31 s: the clock moves on while the dispatcher waits."""

    channel = "email"

    def __init__(self, clock) -> None:
        self.clock = clock
        self.attempts: list[int] = []

    def send(self, notification: Notification) -> str | None:
        self.attempts.append(notification.id)
        self.clock.advance(seconds=31)
        raise DeliveryError("cannot reach the SMTP server: timed out")


def test_a_slow_run_tries_each_row_once_and_leaves_no_claim_behind(session, session_factory, workflow, clock):
    r = _return(session, workflow, clock)
    move(session_factory, workflow, r.rma, "approved", now=clock())
    started = clock()
    adapter = SlowAndFailing(clock)

    # one row per claim: by the time the last is tried, the first is due again (30 s backoff)
    report = dispatch(
        session_factory, {"email": adapter}, clock=clock, worker="w", batch=1, unavailable={"slack": "off"}
    )

    assert (report.retried, report.skipped) == (2, 1)
    assert sorted(adapter.attempts) == sorted(n.id for n in outbox(session_factory, channel="email"))
    rows = outbox(session_factory, channel="email")
    assert [n.status for n in rows] == [NotificationStatus.PENDING] * 2  # none left "sending" by this run
    assert [n.claimed_by for n in rows] == [None, None]
    assert [n.attempts for n in rows] == [1, 1]
    assert [n.next_attempt_at for n in rows] == [started + timedelta(seconds=61), started + timedelta(seconds=92)]
    # the next run tries the one that is due
    report = dispatch(session_factory, {"email": adapter}, clock=clock, worker="w", batch=1)
    assert report.retried == 1


class Exploding:
    """An adapter with a bug: any exception is retried, never lost."""

    channel = "email"

    def send(self, notification: Notification) -> str | None:
        raise KeyError("payload")


def test_an_unexpected_adapter_error_is_retried_with_its_type(session, session_factory, workflow, clock, caplog):
    r = _return(session, workflow, clock)
    move(session_factory, workflow, r.rma, "approved", now=clock())

    report = dispatch(session_factory, {"email": Exploding()}, clock=clock, worker="w", unavailable={"slack": "off"})

    assert (report.retried, report.skipped) == (2, 1)
    for n in outbox(session_factory, channel="email"):
        assert (n.status, n.attempts, n.last_error) == (NotificationStatus.PENDING, 1, "KeyError: 'payload'")
    assert "unexpected error delivering notification" in caplog.text


class LongSend:
    """Real delivery that takes longer than the claim's time to live (the clock jumps past it), during which a
    second dispatcher runs: it must see the claim renewed, not abandoned."""

    channel = "email"

    def __init__(self, inner: EmailDelivery, clock, session_factory, second_dispatcher) -> None:
        self.inner, self.clock, self.session_factory = inner, clock, session_factory
        self.second_dispatcher = second_dispatcher
        self.second_report: DispatchReport | None = None

    def send(self, notification: Notification) -> str | None:
        started = self.clock()
        self.clock.advance(CLAIM_TTL + timedelta(seconds=1))

        def renewed() -> bool:
            with self.session_factory() as s:
                return s.get(Notification, notification.id).claimed_at > started

        deadline = time.monotonic() + 10
        while not renewed():
            assert time.monotonic() < deadline, "the claim was not renewed during the send"
            time.sleep(0.05)
        if self.second_report is None:
            self.second_report = self.second_dispatcher()
        return self.inner.send(notification)


def test_a_claim_is_renewed_while_its_send_is_in_progress(
    session, session_factory, workflow, mail_runtime, smtp, clock, monkeypatch
):
    monkeypatch.setattr(jobs.dispatch, "RENEW_EVERY", 0.1)
    r = _return(session, workflow, clock, customer_email="sanne@example.nl")
    move(session_factory, workflow, r.rma, "approved", now=clock())
    email = EmailDelivery(mail_runtime.settings, workflow)

    def second() -> DispatchReport:
        return dispatch(session_factory, {"email": email}, clock=clock, worker="w2", unavailable={"slack": "off"})

    slow = LongSend(email, clock, session_factory, second)
    first = dispatch(session_factory, {"email": slow}, clock=clock, worker="w1", unavailable={"slack": "off"})

    # the second dispatcher ran while the first row was being sent for longer than a claim lives: it took the
    # other rows (not yet claimed: one claim at a time), never the one in progress
    assert slow.second_report is not None
    assert (first.sent, slow.second_report.sent, first.sent + slow.second_report.sent) == (1, 1, 2)
    assert len(smtp.received) == 2
    assert set(smtp.count_by_message_id().values()) == {1}
    assert {n.status for n in outbox(session_factory, channel="email")} == {NotificationStatus.SENT}
