"""@mentions in comments tell the people mentioned, by e-mail and in Slack when they are linked there."""

from __future__ import annotations

import pytest

from hub.accounts.models import User
from hub.core.config import Settings
from hub.core.db import unit_of_work
from hub.core.runtime import Runtime
from hub.notifications.models import NotificationStatus
from hub.returns.models import Channel
from hub.returns.permissions import Actor
from hub.returns.services import add_comment
from jobs.dispatch import run_dispatch
from tests.email.support import BASE_URL, MAIL_DOMAIN, mail_settings, outbox
from tests.factories import Clock, make_return, make_user
from tests.web.support import login


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with the shop's public URL and sender, which the e-mails name."""
    return mail_settings(settings)


@pytest.fixture
def runtime(runtime: Runtime, clock: Clock) -> Runtime:
    """The suite's runtime on the controlled clock (the dispatcher's and the web app's now())."""
    runtime.clock = clock
    return runtime


@pytest.fixture
def people(session):
    """Alice (customer service, no Slack), Bob (logistics, linked to Slack), Carol (warehouse), all committed."""
    alice = make_user(session, team="customer_service", email="alice@shop.example", name="Alice Service")
    bob = make_user(session, team="logistics", email="bob.k@shop.example", name="Bob Logistics", slack_user_id="U0BOB")
    carol = make_user(session, team="warehouse", email="carol@shop.example", name="Carol Warehouse")
    session.commit()
    return alice, bob, carol


def _comment(session_factory, workflow, author: User, rma: str, body: str, now):
    with unit_of_work(session_factory) as s:
        actor = Actor.person(s.get(User, author.id), Channel.WEB)
        add_comment(s, workflow, actor, rma, body, now=now)


def test_a_mention_tells_the_mentioned_users_and_not_the_author(
    session, session_factory, workflow, mail_runtime, smtp, clock, people
):
    alice, bob, carol = people
    r = make_return(session, workflow, now=clock(), customer_name="Sanne de Vries")
    session.commit()

    _comment(
        session_factory,
        workflow,
        alice,
        r.rma,
        "@Bob.K can you book a pickup? Photos attached. Thanks @carol. (me: @alice, @nobody)",
        clock(),
    )

    rows = outbox(session_factory)
    assert {(n.channel, n.kind, n.recipient) for n in rows} == {
        ("email", "mention", "bob.k@shop.example"),
        ("slack", "mention", "U0BOB"),
        ("email", "mention", "carol@shop.example"),
    }
    assert all(n.return_id == r.id for n in rows)

    report = run_dispatch(mail_runtime)

    assert (report.sent, report.skipped) == (2, 1)  # Slack is not configured here
    assert sorted(m.rcpt_tos[0] for m in smtp.received) == ["bob.k@shop.example", "carol@shop.example"]
    (to_bob,) = smtp.to("bob.k@shop.example")
    assert to_bob.message["Subject"] == f"[{r.rma}] Alice Service mentioned you"
    assert to_bob.message["X-Returns-Hub-Kind"] == "mention"
    assert to_bob.message["In-Reply-To"] == f"<{r.rma.lower()}.returns@{MAIL_DOMAIN}>"
    text, html = to_bob.part("plain"), to_bob.part("html")
    assert "Hello Bob Logistics," in text
    assert f'Alice Service mentioned you in a comment on {r.rma} (Sanne de Vries, now in "New request")' in text
    assert "@Bob.K can you book a pickup?" in text
    assert f"{BASE_URL}/returns/{r.rma}" in text
    assert f'href="{BASE_URL}/returns/{r.rma}"' in html
    assert "Hello Carol Warehouse," in smtp.to("carol@shop.example")[0].part("plain")
    (slack,) = outbox(session_factory, channel="slack")
    assert slack.status is NotificationStatus.SKIPPED


def test_mentioning_yourself_tells_nobody(session, session_factory, workflow, mail_runtime, smtp, clock, people):
    alice, _, _ = people
    r = make_return(session, workflow, now=clock())
    session.commit()

    _comment(session_factory, workflow, alice, r.rma, "Note to self @alice: call the customer back", clock())

    assert outbox(session_factory) == []
    assert run_dispatch(mail_runtime).sent == 0
    assert smtp.received == []


def test_a_comment_without_mentions_or_workflow_tells_nobody(session, session_factory, workflow, clock, people):
    alice, bob, _ = people
    r = make_return(session, workflow, now=clock())
    session.commit()

    _comment(session_factory, workflow, alice, r.rma, "No mention here, mail bob.k@shop.example", clock())

    assert outbox(session_factory) == []


def test_deactivated_users_are_not_mentioned(session, session_factory, workflow, clock, people):
    alice, bob, carol = people
    with unit_of_work(session_factory) as s:
        s.get(User, bob.id).is_active = False
    r = make_return(session, workflow, now=clock())
    session.commit()

    _comment(session_factory, workflow, alice, r.rma, "@bob.k @carol please check", clock())

    assert [(n.channel, n.recipient) for n in outbox(session_factory)] == [("email", "carol@shop.example")]


def test_a_comment_from_the_web_mentions_people(session, session_factory, workflow, client, clock, people):
    alice, bob, _ = people
    r = make_return(session, workflow, now=clock())
    session.commit()
    token = login(client, alice.email)

    resp = client.post(f"/returns/{r.rma}/comment", data={"body": "@bob.k please book the pickup", "csrf_token": token})

    assert resp.status_code == 302
    assert {(n.channel, n.recipient) for n in outbox(session_factory)} == {
        ("email", "bob.k@shop.example"),
        ("slack", "U0BOB"),
    }
