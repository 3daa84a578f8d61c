"""What the customer's e-mails say about sending the parcel back (no label promised) and about a rejection (the
reason in their language, the staff's note as typed), through the real SMTP server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hub.core.db import unit_of_work
from hub.notifications.outbox import enqueue
from hub.workflow import Shop, Workflow
from jobs.dispatch import run_dispatch
from tests.email.support import approve
from tests.factories import make_return, move

ADDRESS = ("Example Shop — Returns", "Industrieweg 12", "1234 AB Amsterdam", "Netherlands")


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("locale", "follows"),
    [
        ("en", "We will send you the address to send the parcel to in a separate e-mail."),
        ("nl", "Het adres waar u het pakket naartoe stuurt, sturen we u in een aparte e-mail."),
        ("de", "Die Adresse, an die Sie das Paket schicken, senden wir Ihnen in einer separaten E-Mail."),
    ],
)
def test_the_approval_promises_no_label_and_without_an_address_says_it_follows(
    session, session_factory, workflow, mail_runtime, smtp, clock, locale, follows
):
    assert workflow.shop.return_address == ()
    approve(session, session_factory, workflow, clock, customer_locale=locale, customer_email="ann@example.nl")
    run_dispatch(mail_runtime)
    (mail,) = smtp.to("ann@example.nl")
    for part in (flat(mail.part("plain")), flat(mail.part("html"))):
        assert follows in part
        for label in ("label", "Etikett", "etiket", "carrier within", "beim Versanddienstleister ab"):
            assert label not in part


@pytest.mark.parametrize(
    ("locale", "instructions", "carrier"),
    [
        (
            "en",
            "put a note with the return number {rma} in the parcel, and send it within 14 days to this address:",
            "You choose the carrier. Keep the receipt with the tracking number until your return is complete.",
        ),
        (
            "de",
            "legen Sie einen Zettel mit der Rücksendenummer {rma} in das Paket und schicken Sie es innerhalb von "
            "14 Tagen an diese Adresse:",
            "Den Versanddienstleister wählen Sie selbst.",
        ),
    ],
)
def test_the_approval_tells_where_to_send_the_parcel(
    session, session_factory, workflow, mail_runtime, smtp, clock, locale, instructions, carrier
):
    shop = replace(workflow, shop=Shop(ADDRESS))
    r = approve(session, session_factory, shop, clock, customer_locale=locale, customer_email="ann@example.nl")
    run_dispatch(replace(mail_runtime, workflow=shop))
    (mail,) = smtp.to("ann@example.nl")
    text, html = mail.part("plain"), mail.part("html")
    assert instructions.format(rma=r.rma) in flat(text)
    assert carrier in flat(text)
    # the address, line by line, right under the instructions
    assert "\n".join(f"    {line}" for line in ADDRESS) in text
    assert "<br>".join(ADDRESS) in html.replace("&amp;", "&")
    assert text.index("to this address:" if locale == "en" else "an diese Adresse:") < text.index(ADDRESS[0])
    for part in (text, html):
        assert "label" not in part
        assert "separate" not in part
        assert "separaten" not in part


@pytest.mark.parametrize(
    ("locale", "reason", "note"),
    [
        (
            "de",
            "Die Artikel wurden im Ausverkauf gekauft; nach unseren Rückgaberegeln sind sie von der Rückgabe "
            "ausgeschlossen.",
            "Eine Anmerkung unseres Kundenservice: Siehe Rechnung Nr. 77.",
        ),
        (
            "nl",
            "De artikelen zijn gekocht als eindverkoop; volgens ons retourbeleid kunnen die niet worden geretourneerd.",
            "Een toelichting van onze klantenservice: Siehe Rechnung Nr. 77.",
        ),
        (
            "en",
            "The items were bought as final sale, which our return policy excludes from returns.",
            "A note from our customer service: Siehe Rechnung Nr. 77.",
        ),
    ],
)
def test_a_rejection_tells_the_reason_in_the_customers_language_and_the_note_as_typed(
    session, session_factory, workflow, mail_runtime, smtp, clock, locale, reason, note
):
    r = make_return(session, workflow, now=clock(), customer_locale=locale, customer_email="bo@example.nl")
    session.commit()
    move(
        session_factory,
        workflow,
        r.rma,
        "rejected",
        now=clock(),
        rejection_reason="final_sale",
        note="Siehe Rechnung Nr. 77.",
    )
    run_dispatch(mail_runtime)
    (mail,) = smtp.to("bo@example.nl")
    text = flat(mail.part("plain"))
    assert reason in text
    assert note in text  # the note is not translated: the agent wrote German, every customer reads it so
    assert text.index(reason) < text.index(note)
    assert "final_sale" not in text
    assert "Final-sale item" not in text
    assert reason in flat(mail.part("html"))


def test_a_rejection_without_a_note_has_no_empty_note_line(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    r = make_return(session, workflow, now=clock(), customer_locale="en", customer_email="bo@example.nl")
    session.commit()
    move(session_factory, workflow, r.rma, "rejected", now=clock(), rejection_reason="missing_parts")
    run_dispatch(mail_runtime)
    (mail,) = smtp.to("bo@example.nl")
    text = mail.part("plain")
    assert "Parts or accessories that came with the items are missing from the return." in text
    assert "A note from our customer service" not in text
    assert "\n\n\n" not in text


def test_a_rejection_queued_before_reasons_existed_still_shows_its_note(
    session_factory, workflow: Workflow, mail_runtime, smtp, clock, session
):
    r = make_return(session, workflow, now=clock(), customer_locale="nl", customer_email="old@example.nl")
    session.commit()
    # the payload a customer update had before: the note was the reason, and there was no return address
    from hub.returns.notices import return_facts

    with unit_of_work(session_factory) as s:
        from hub.returns.models import Return

        stored = s.get(Return, r.id)
        payload = {**return_facts(stored, workflow), "message": "rejected", "note": "Te laat ingestuurd"}
        enqueue(
            s,
            channel="email",
            kind="customer_update",
            recipient="old@example.nl",
            payload=payload,
            return_id=r.id,
            now=clock(),
        )
    run_dispatch(mail_runtime)
    (mail,) = smtp.to("old@example.nl")
    assert "De reden: Te laat ingestuurd" in flat(mail.part("plain"))
