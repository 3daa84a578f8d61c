"""Exactly one e-mail address wherever one is accepted: a comma ("x,victim@evil.example") never makes two recipients.

The new-return form's refusal is in tests/web/test_new_return.py, the Slack modal's in tests/slack/test_new_return.py.
"""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.accounts.models import User
from hub.accounts.services import add_user
from hub.cli import main
from hub.core.addresses import address_problem, parse_address
from hub.core.errors import ValidationFailed
from hub.notifications.models import NotificationStatus
from hub.returns.csv_import import ImportFailed, import_csv
from hub.returns.drafts import ItemDraft, ReturnDraft, validate_draft
from hub.returns.models import Channel, Return
from hub.returns.permissions import Actor
from hub.workflow import ConfigError, parse_workflow
from jobs.dispatch import run_dispatch
from tests.email.support import outbox
from tests.factories import default_workflow_toml, make_return, make_user, move
from tests.returns.support import count, row, to_csv

TWO = "x,victim@evil.example"
SEVERAL = [
    TWO,
    "sanne@example.nl, victim@evil.example",
    "sanne@example.nl;victim@evil.example",
    "Sanne <sanne@example.nl>, victim@evil.example",
]
NOT_ONE = ["Sanne <sanne@example.nl>", "<sanne@example.nl>", "sanne@example.nl>", "sanne @example.nl", '"s"@example.nl']


@pytest.mark.parametrize("text", SEVERAL)
def test_a_list_of_addresses_is_refused_as_more_than_one(text):
    assert address_problem(text) == f"“{text}” is more than one address; give exactly one."
    with pytest.raises(ValueError, match="more than one address"):
        parse_address(text)


@pytest.mark.parametrize("text", NOT_ONE)
def test_a_name_brackets_quotes_or_spaces_are_not_an_address(text):
    assert address_problem(text) == f"“{text}” is not an e-mail address."


@pytest.mark.parametrize(
    "text", ["sanne@example.nl", " Eva.Jansen@Example.NL ", "o'brien+returns@shop.example", "jörg@müller.de"]
)
def test_one_address_is_accepted_stripped_and_lower_cased(text):
    assert address_problem(text) is None
    assert parse_address(text) == text.strip().lower()


def _draft(email: str) -> ReturnDraft:
    item = ItemDraft(
        sku="TSHIRT-BLU-M", product_name="T-shirt", quantity=1, unit_price="19.95", reason_code="too_small"
    )
    return ReturnDraft(order_number="ORD-1", customer_name="Sanne", customer_email=email, items=[item])


@pytest.mark.parametrize("text", SEVERAL)
def test_a_new_return_refuses_more_than_one_customer_address(workflow, now, text):
    with pytest.raises(ValidationFailed) as info:
        validate_draft(_draft(text), workflow, now.date())
    assert info.value.field_errors == {
        "customer_email": f"“{text.lower()}” is more than one address; give exactly one."
    }


def test_a_csv_line_with_two_addresses_is_refused_and_nothing_is_imported(session, workflow, now):
    text = to_csv([row(rma="R-1"), row(rma="R-2", order_number="ORD-2", customer_email=TWO)])

    with pytest.raises(ImportFailed) as info:
        import_csv(session, workflow, io.BytesIO(text.encode()), actor=Actor.system("CSV", Channel.CLI), now=now)

    assert [str(e) for e in info.value.report.errors] == [
        f"line 3: customer_email: “{TWO}” is more than one address; give exactly one."
    ]
    assert count(session, Return) == 0


def test_a_user_with_two_addresses_is_refused(session):
    with pytest.raises(ValidationFailed) as info:
        add_user(session, email=TWO, name="Mallory", password="long enough password")
    assert info.value.field_errors == {"email": f"“{TWO}” is more than one address; give exactly one."}
    assert count(session, User) == 0


def test_cli_user_add_refuses_two_addresses(settings, db, session):
    env = {"HUB_DATABASE_URL": settings.database_url, "HUB_INSTANCE_DIR": str(settings.instance_dir)}
    args = ["user", "add", "--email", TWO, "--name", "Mallory", "--password", "long enough password"]

    result = CliRunner().invoke(main, args, env=env)

    assert result.exit_code == 1
    assert f"--email: “{TWO}” is more than one address; give exactly one." in result.output
    assert session.scalar(select(User.id)) is None


@pytest.mark.parametrize(
    ("typed", "location"),
    [
        ('email = "logistics@shop.example, victim@evil.example"', "teams.logistics.email"),
        ('escalation_email = "leads@shop.example;victim@evil.example"', "alerts.escalation_email"),
    ],
    ids=["team", "escalation"],
)
def test_the_config_refuses_two_addresses_for_a_team_or_the_escalations(typed, location):
    key = typed.split(" = ")[0]
    shipped = {
        "email": 'email = "logistics@shop.example"',
        "escalation_email": 'escalation_email = "returns-leads@shop.example"',
    }
    text = default_workflow_toml()
    assert text.count(shipped[key]) == 1
    with pytest.raises(ConfigError) as info:
        parse_workflow(text.replace(shipped[key], typed))
    [error] = info.value.errors
    assert error.startswith(f"{location}: more than one address: ")
    assert error.endswith("; give exactly one")


def test_a_customer_message_to_two_recipients_stored_earlier_is_not_sent(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    # a return saved before addresses were parsed: only the delivery stands between it and a second recipient
    member = make_user(session, team="customer_service")
    r = make_return(session, workflow, now=clock())
    r.customer_email = TWO
    session.commit()
    move(session_factory, workflow, r.rma, "approved", now=clock(), actor=Actor.person(member, Channel.WEB))

    report = run_dispatch(mail_runtime)

    assert (report.sent, report.dead) == (1, 1)  # the team's e-mail goes; the customer's never
    assert [m.rcpt_tos for m in smtp.received] == [("logistics@shop.example",)]
    [dead] = outbox(session_factory, channel="email", status=NotificationStatus.DEAD)
    assert dead.recipient == TWO
    assert dead.last_error == (
        f"the recipient {TWO!r} is not exactly one e-mail address; the customer_update message was not sent"
    )
