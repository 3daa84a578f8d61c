"""The status page tells where to send the parcel (never a label) and why a return was not accepted, in the
customer's language with the staff's note as typed; older rejections (a note, no reason) still show."""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import replace

import pytest

from hub.app import create_app
from hub.core.db import unit_of_work
from hub.returns.models import Event
from hub.workflow import Shop
from tests.factories import make_return, move

ADDRESS = ("Example Shop — Returns", "Industrieweg 12", "1234 AB Amsterdam", "Netherlands")


def _text(fragment: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _main(page: str) -> str:
    match = re.search(r"<main[^>]*>(.*)</main>", page, re.S)
    assert match
    return _text(match.group(1))


def _client(runtime, workflow):
    return create_app(runtime=replace(runtime, workflow=workflow), TESTING=True).test_client()


@pytest.mark.parametrize(
    ("lang", "follows"),
    [
        ("en", "We will send you the address to send the parcel to in a separate e-mail."),
        ("de", "Die Adresse, an die Sie das Paket schicken, senden wir Ihnen in einer separaten E-Mail."),
    ],
)
def test_an_approved_return_without_an_address_is_told_it_follows_and_no_label(
    session, session_factory, workflow, runtime, now, lang, follows
):
    r = make_return(session, workflow, now=now, customer_locale=lang)
    session.commit()
    move(session_factory, workflow, r.rma, "approved", now=now)
    text = _main(_client(runtime, workflow).get(f"/status/{r.status_token}").get_data(as_text=True))
    assert follows in text
    for label in ("label", "Etikett", "Where to send the parcel", "Wohin Sie das Paket schicken"):
        assert label not in text


@pytest.mark.parametrize(
    ("lang", "heading", "note"),
    [
        ("en", "Where to send the parcel", "Put a note with the return number {rma} in the parcel."),
        ("nl", "Waar u het pakket naartoe stuurt", "Stop een briefje met het retournummer {rma} in het pakket."),
        ("de", "Wohin Sie das Paket schicken", "Legen Sie einen Zettel mit der Rücksendenummer {rma} in das Paket."),
    ],
)
def test_an_approved_return_shows_where_to_send_the_parcel(
    session, session_factory, workflow, runtime, now, lang, heading, note
):
    shop = replace(workflow, shop=Shop(ADDRESS))
    r = make_return(session, shop, now=now, customer_locale=lang)
    session.commit()
    move(session_factory, shop, r.rma, "approved", now=now)
    page = _client(runtime, shop).get(f"/status/{r.status_token}").get_data(as_text=True)
    assert f"<h2>{heading}</h2>" in page
    address = re.search(r'<address class="status-address">(.*?)</address>', page, re.S)
    assert address
    assert address.group(1).split("<br>") == list(ADDRESS)
    assert note.format(rma=r.rma) in _main(page)
    assert "label" not in _main(page)
    # once the parcel is on its way, the address is no longer the news
    move(session_factory, shop, r.rma, "in_transit", now=now)
    assert "status-address" not in _client(runtime, shop).get(f"/status/{r.status_token}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("lang", "reason", "note"),
    [
        (
            "de",
            "Die Artikel zeigen Gebrauchsspuren oder Schäden, die nicht beim Versand entstanden sind.",
            "Eine Anmerkung unseres Kundenservice: The tags were removed",
        ),
        (
            "nl",
            "De artikelen vertonen sporen van gebruik of schade die niet door de bezorging zijn ontstaan",
            "Een toelichting van onze klantenservice: The tags were removed",
        ),
        (
            "en",
            "The items show signs of use or damage that did not come from delivery, so we cannot take them back.",
            "A note from our customer service: The tags were removed",
        ),
    ],
)
def test_a_rejection_shows_its_reason_in_the_customers_language_and_the_note_as_typed(
    session, session_factory, workflow, client, now, lang, reason, note
):
    r = make_return(session, workflow, now=now, customer_locale=lang)
    session.commit()
    move(
        session_factory,
        workflow,
        r.rma,
        "rejected",
        now=now,
        rejection_reason="used_or_damaged",
        note="The tags were removed",
    )
    page = client.get(f"/status/{r.status_token}").get_data(as_text=True)
    reasons = [_text(p) for p in re.findall(r'<p class="status-reason">(.*?)</p>', page, re.S)]
    assert len(reasons) == 2
    assert reasons[0].startswith(reason)
    assert reasons[1] == note
    assert "used_or_damaged" not in page
    assert "Used or damaged by the customer" not in page  # the staff's label is not the customer's text
    # the language links: the reason follows the language the customer picks
    other = client.get(f"/status/{r.status_token}?lang=en").get_data(as_text=True)
    assert "The items show signs of use or damage" in other


def test_an_older_rejection_with_only_a_note_still_shows_it(session, session_factory, workflow, client, now):
    r = make_return(session, workflow, now=now, customer_locale="en")
    session.commit()
    move(session_factory, workflow, r.rma, "rejected", now=now, rejection_reason="other", note="Bought elsewhere")
    with unit_of_work(session_factory) as s:  # as a rejection recorded before reasons existed
        event = s.query(Event).filter_by(return_id=r.id, kind="closed").one()
        event.payload = {"note": "Bought elsewhere"}
    page = client.get(f"/status/{r.status_token}").get_data(as_text=True)
    reasons = [_text(p) for p in re.findall(r'<p class="status-reason">(.*?)</p>', page, re.S)]
    assert reasons == ["The reason: Bought elsewhere"]


def test_a_reopened_and_resolved_return_keeps_its_earlier_rejection_in_the_steps(
    session, session_factory, workflow, client, now
):
    r = make_return(session, workflow, now=now, customer_locale="en")
    session.commit()
    move(session_factory, workflow, r.rma, "rejected", now=now, rejection_reason="no_proof_of_purchase")
    move(session_factory, workflow, r.rma, "new", now=now)
    page = client.get(f"/status/{r.status_token}").get_data(as_text=True)
    steps = re.search(r'<ol class="status-steps">(.*?)</ol>', page, re.S)
    assert steps
    assert "We could not find a purchase from our shop that matches this return." in _text(steps.group(1))
