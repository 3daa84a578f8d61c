"""The alert and digest e-mails, rendered from the outbox as the dispatcher renders them."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from hub.notifications.models import Notification
from integrations.email.render import MailRenderer
from jobs.digests import run_digests
from tests.alerts.support import scan
from tests.factories import make_return, make_returns, utc

THURSDAY_9 = utc(2026, 3, 5, 8)  # 09:00 in Amsterdam


def _emails(runtime, kind: str) -> list[Notification]:
    with runtime.read_session_factory() as s:
        return list(
            s.scalars(
                select(Notification)
                .where(Notification.kind == kind, Notification.channel == "email")
                .order_by(Notification.id)
            )
        )


def _parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def test_the_alert_email_names_the_return_how_late_it_is_and_links_to_it(session, workflow, runtime, now):
    rma = make_return(session, workflow, stage="received", now=now, customer_name="Jan Jansen").rma
    session.commit()
    scan(runtime, utc(2026, 3, 6, 12))  # due Friday 10:00 Amsterdam, three hours ago
    (n,) = [n for n in _emails(runtime, "alert") if n.recipient == "warehouse@shop.example"]
    msg = MailRenderer(runtime.settings, workflow).render(n)
    assert msg["To"] == "warehouse@shop.example"
    assert msg["Subject"] == f"[{rma}] OVERDUE: Received — to inspect (Warehouse)"
    text, html = _parts(msg)
    for part in (text, html):
        assert rma in part
        assert "Jan Jansen" in part
        assert "TSHIRT-BLU-M" in part
        assert "3h overdue" in part
        assert f"{runtime.settings.base_url}/returns/{rma}" in part
    assert "Fri 6 Mar 10:00" in text  # the stage's due time, in the team's time zone


def test_the_escalation_email_to_the_escalation_address_says_so(session, workflow, runtime, now):
    rma = make_return(session, workflow, stage="received", now=now).rma
    session.commit()
    scan(runtime, utc(2026, 3, 9, 9))
    (n,) = [n for n in _emails(runtime, "alert") if n.recipient == "returns-leads@shop.example"]
    msg = MailRenderer(runtime.settings, workflow).render(n)
    assert msg["Subject"].startswith(f"[{rma}] ESCALATED")
    assert "overdue by another full SLA" in _parts(msg)[0]


def test_the_digest_email_lists_the_returns_and_says_how_many_more(session, workflow, runtime):
    overdue = make_returns(session, workflow, 17, stage="received", now=utc(2026, 3, 2, 9))
    due_today = make_return(session, workflow, stage="received", now=utc(2026, 3, 4, 15)).rma
    session.commit()
    runtime.clock = lambda: THURSDAY_9
    run_digests(runtime, "warehouse")
    (n,) = _emails(runtime, "digest")
    assert n.recipient == "warehouse@shop.example"
    msg = MailRenderer(runtime.settings, workflow).render(n)
    assert msg["Subject"] == "Warehouse returns today: 18 open, 17 overdue"
    text, html = _parts(msg)
    listed = n.payload["overdue"]
    assert len(listed) == 15
    for part in (text, html):
        for row in listed:
            assert row["rma"] in part
        assert due_today in part
        assert "and 2 more on the board" in part
    assert "Overdue, oldest first: 17" in text
    assert "Due today: 1" in text
    assert {r["rma"] for r in listed} <= set(overdue)


def test_an_empty_digest_email_renders(runtime, workflow):
    runtime.clock = lambda: THURSDAY_9
    run_digests(runtime, "logistics")
    (n,) = _emails(runtime, "digest")
    msg = MailRenderer(runtime.settings, workflow).render(n)
    assert msg["Subject"] == "Logistics returns today: 0 open, 0 overdue"
    assert "None." in _parts(msg)[1]
