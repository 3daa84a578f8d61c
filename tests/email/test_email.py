"""E-mail through a real SMTP server: what a handoff sends, to whom, in which language, threaded; .eml; SMTP URLs."""

from __future__ import annotations

import re
from dataclasses import replace
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hub.notifications.models import NotificationStatus
from integrations.email import EmailDelivery
from integrations.email.render import MailRenderer
from integrations.email.smtp import SmtpConfig
from jobs.dispatch import DispatchReport, run_dispatch
from tests.email.support import BASE_URL, MAIL_DOMAIN, MAIL_FROM, approve, by_recipient, outbox
from tests.factories import SYSTEM, make_return, move

THREAD_HEADERS = ("In-Reply-To", "References")


def test_a_handoff_sends_one_team_email_and_one_customer_email(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    r = approve(
        session,
        session_factory,
        workflow,
        clock,
        customer_email="sanne@example.nl",
        customer_name="Sanne de Vries",
        order_number="ORD-77001",
    )

    report = run_dispatch(mail_runtime)

    assert (report.sent, report.retried, report.dead, report.skipped) == (2, 0, 0, 1)  # the slack row: no Slack here
    assert sorted(rcpt for m in smtp.received for rcpt in m.rcpt_tos) == ["logistics@shop.example", "sanne@example.nl"]
    rows = by_recipient(outbox(session_factory, channel="email"))
    team, customer = smtp.to("logistics@shop.example")[0], smtp.to("sanne@example.nl")[0]
    for received, row in ((team, rows["logistics@shop.example"]), (customer, rows["sanne@example.nl"])):
        msg = received.message
        assert received.mail_from == parseaddr(MAIL_FROM)[1]
        assert msg["From"] == MAIL_FROM
        assert msg["To"] == row.recipient
        assert msg["Message-ID"] == f"<{row.message_key}@{MAIL_DOMAIN}>"
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert row.status is NotificationStatus.SENT
        assert row.sent_at == clock()
    assert team.message["Subject"] == f"[{r.rma}] Handed to Logistics: Approved — label / pickup"
    assert team.message["X-Returns-Hub-Kind"] == "handoff"
    assert customer.message["X-Returns-Hub-Kind"] == "customer_update"
    assert customer.message["Reply-To"] == parseaddr(MAIL_FROM)[1]
    # both messages about one return thread as one conversation
    assert team.message_id != customer.message_id
    for header in THREAD_HEADERS:
        assert team.message[header] == customer.message[header] == f"<{r.rma.lower()}.returns@{MAIL_DOMAIN}>"


def test_the_team_email_says_what_was_handed_over_and_when_it_is_due(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    r = approve(session, session_factory, workflow, clock, customer_name="Sanne de Vries", order_number="ORD-77002")
    run_dispatch(mail_runtime)

    (team,) = smtp.to("logistics@shop.example")
    text, html = team.part("plain"), team.part("html")
    assert 'moved from "New request" (Customer service) to "Approved — label / pickup"' in text
    assert "Handed over by: Chris Service" in text
    assert "Sanne de Vries (order ORD-77002)" in text
    assert "1 x TSHIRT-BLU-M T-shirt blue M (Too small)" in text
    # Thursday 10:00 in Amsterdam + 1 business day of logistics: Friday 10:00 (local time, not UTC)
    assert re.search(r"^Due:\s+Fri 6 Mar 10:00 CET$", text, re.M)  # in the team's zone, named
    assert "<strong>Fri 6 Mar 10:00 CET</strong>" in html
    assert f"Open it on the board: {BASE_URL}/returns/{r.rma}" in text
    assert f"{BASE_URL}/board" in text
    assert f'href="{BASE_URL}/returns/{r.rma}"' in html
    assert f'href="{BASE_URL}/board"' in html
    assert "<!doctype html>" in html
    assert '<html lang="en">' in html
    assert team.message["Content-Language"] == "en"


CUSTOMER_WORDING = {
    "nl": {
        "subject": "Uw retour {rma} is goedgekeurd",
        "sentences": [
            "Beste Sanne de Vries,",
            "Goed nieuws: uw retour is goedgekeurd.",
            "stop een briefje met het retournummer {rma} in het pakket",
            "We verwachten alles uiterlijk 19 maart 2026 af te ronden.",
            "U kunt uw retour altijd volgen: {status_url}",
            "Artikelen:",
            "Klantenservice",
        ],
        "html": ["Waar is mijn retour?"],
        "not": ["Good news", "Hello", "We expect"],
    },
    "en": {
        "subject": "Your return {rma} is approved",
        "sentences": [
            "Hello Sanne de Vries,",
            "Good news: your return is approved.",
            "put a note with the return number {rma} in the parcel",
            "We expect to have everything settled by March 19, 2026.",
            "You can follow your return at any time: {status_url}",
            "Items:",
            "Customer service",
        ],
        "html": ["Where is my return?"],
        "not": ["Goed nieuws", "Beste", "verwachten", "Guten Tag", "Rücksendung"],
    },
    "de": {
        "subject": "Ihre Rücksendung {rma} ist genehmigt",
        "sentences": [
            "Guten Tag Sanne de Vries,",
            "Gute Nachricht: Ihre Rücksendung ist genehmigt.",
            "Bitte verpacken Sie die unten aufgeführten Artikel in der Originalverpackung und",
            "legen Sie einen Zettel mit der Rücksendenummer {rma} in das Paket",
            "und legen Sie einen Zettel mit der Rücksendenummer {rma} in das Paket.",
            "Die Adresse, an die Sie das Paket schicken, senden wir Ihnen in einer separaten E-Mail.",
            "Wir gehen davon aus, dass bis zum 19. März 2026 alles erledigt ist.",
            "Den Stand Ihrer Rücksendung können Sie jederzeit hier verfolgen: {status_url}",
            "Artikel:",
            "Kundenservice",
        ],
        "html": ["Wo ist meine Rücksendung?", "Kundenservice"],
        "not": ["Good news", "Hello", "We expect", "Goed nieuws", "Beste", "Items:", "Customer service"],
    },
}


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("nl", "nl"), ("en", "en"), ("nl-BE", "nl"), ("de", "de"), ("de-CH", "de"), ("fr", "en")],  # fr: not ours
)
def test_the_customer_email_is_in_the_customers_language(
    session, session_factory, workflow, mail_runtime, smtp, clock, locale, lang
):
    r = approve(
        session,
        session_factory,
        workflow,
        clock,
        customer_locale=locale,
        customer_name="Sanne de Vries",
        customer_email="sanne@example.nl",
    )
    run_dispatch(mail_runtime)

    (customer,) = smtp.to("sanne@example.nl")
    wording = CUSTOMER_WORDING[lang]
    status_url = f"{BASE_URL}/status/{r.status_token}"
    fill = {"rma": r.rma, "status_url": status_url}
    text, html = customer.part("plain"), customer.part("html")
    assert customer.message["Subject"] == wording["subject"].format(**fill)
    assert customer.message["Content-Language"] == lang
    flat = " ".join(text.split())
    for sentence in wording["sentences"]:
        assert sentence.format(**fill) in flat
    for word in wording["not"]:
        assert word not in text
        assert word not in html
    assert f'<html lang="{lang}">' in html
    assert f'href="{status_url}"' in html
    for phrase in wording["html"]:
        assert phrase in html
    assert "T-shirt blue M" in text
    assert "TSHIRT-BLU-M" in html


def test_every_message_about_one_return_joins_one_thread(session, session_factory, workflow, mail_runtime, smtp, clock):
    first = approve(session, session_factory, workflow, clock, customer_email="first@example.nl")
    other = make_return(session, workflow, now=clock(), customer_email="other@example.nl")
    session.commit()
    move(session_factory, workflow, first.rma, "in_transit", now=clock.advance(days=1))
    move(session_factory, workflow, first.rma, "received", now=clock.advance(days=2))
    move(
        session_factory,
        workflow,
        other.rma,
        "rejected",
        now=clock(),
        rejection_reason="other",
        note="Outside the return window",
    )
    run_dispatch(mail_runtime)

    about_first = [m for m in smtp.received if first.rma in m.message["Subject"]]
    # approved: logistics + customer; in transit: same team, no customer message; received: warehouse + customer
    assert sorted(m.rcpt_tos[0] for m in about_first) == [
        "first@example.nl",
        "first@example.nl",
        "logistics@shop.example",
        "warehouse@shop.example",
    ]
    assert len({m.message_id for m in about_first}) == 4
    roots = {m.message[h] for m in about_first for h in THREAD_HEADERS}
    assert roots == {f"<{first.rma.lower()}.returns@{MAIL_DOMAIN}>"}
    (rejected,) = smtp.to("other@example.nl")
    assert rejected.message["In-Reply-To"] == f"<{other.rma.lower()}.returns@{MAIL_DOMAIN}>"
    assert "Outside the return window" in rejected.part("plain")


def test_what_people_typed_is_escaped_in_html_emails(session, session_factory, workflow, mail_runtime, smtp, clock):
    from hub.returns.services import add_comment

    r = make_return(
        session,
        workflow,
        now=clock(),
        customer_name="Eve <img src=x onerror=alert(1)>",
        customer_email="eve@example.nl",
    )
    add_comment(session, workflow, SYSTEM, r.rma, "<b>careful</b> & check", now=clock())
    session.commit()
    move(session_factory, workflow, r.rma, "approved", now=clock(), note="<script>alert('note')</script>")
    move(
        session_factory,
        workflow,
        r.rma,
        "rejected",
        now=clock.advance(hours=1),
        rejection_reason="other",
        note="<i>worn</i>",
    )
    run_dispatch(mail_runtime)

    (team,) = smtp.to("logistics@shop.example")
    approved, rejected = smtp.to("eve@example.nl")
    for received in (team, approved, rejected):
        html = received.part("html")
        assert "<img src=x" not in html
        assert "<script>" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;" in team.part("html")
    assert "&lt;b&gt;careful&lt;/b&gt; &amp; check" in team.part("html")
    assert "&lt;i&gt;worn&lt;/i&gt;" in rejected.part("html")
    # the text part shows what was typed
    assert "Note: <script>alert('note')</script>" in team.part("plain")
    assert "<b>careful</b> & check" in team.part("plain")
    assert "<i>worn</i>" in rejected.part("plain")


def test_without_an_smtp_url_mail_is_written_as_eml_files(session, session_factory, workflow, runtime, clock):
    assert runtime.settings.smtp_url is None
    r = approve(session, session_factory, workflow, clock, customer_email="sanne@example.nl", customer_locale="nl")

    report = run_dispatch(runtime)

    assert (report.sent, report.skipped) == (2, 1)
    folder = runtime.settings.instance_dir / "mail"
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 2
    renderer = MailRenderer(runtime.settings, workflow)
    for row in outbox(session_factory, channel="email"):
        assert row.status is NotificationStatus.SENT
        path = Path(row.delivery_ref)
        assert path.parent == folder
        assert path in files
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        again = renderer.render(row)
        for header in (
            "Subject",
            "From",
            "To",
            "Message-ID",
            "In-Reply-To",
            "References",
            "Content-Language",
            "Reply-To",
            "X-Returns-Hub-Kind",
        ):
            assert parsed[header] == again[header], header
        assert parsed["Message-ID"] == f"<{row.message_key}@{MAIL_DOMAIN}>"
        assert parsed["In-Reply-To"] == f"<{r.rma.lower()}.returns@{MAIL_DOMAIN}>"
        assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
        assert parsed.get_body(("plain",)).get_content() == again.get_body(("plain",)).get_content()
    customer = by_recipient(outbox(session_factory, channel="email"))["sanne@example.nl"]
    parsed = BytesParser(policy=policy.default).parsebytes(Path(customer.delivery_ref).read_bytes())
    assert parsed["Subject"] == f"Uw retour {r.rma} is goedgekeurd"
    # a second run writes nothing more
    assert run_dispatch(runtime) == DispatchReport()
    assert len(list(folder.glob("*.eml"))) == 2


def test_a_refused_recipient_is_dead_at_once_and_the_others_are_sent(
    session, session_factory, workflow, mail_runtime, smtp, clock
):
    smtp.refuse("gone@example.nl")
    approve(session, session_factory, workflow, clock, customer_email="gone@example.nl")

    report = run_dispatch(mail_runtime)

    assert (report.sent, report.dead, report.retried) == (1, 1, 0)
    rows = by_recipient(outbox(session_factory, channel="email"))
    dead = rows["gone@example.nl"]
    assert dead.status is NotificationStatus.DEAD
    assert dead.attempts == 1
    assert "recipient refused" in dead.last_error
    assert "550" in dead.last_error
    assert "gone@example.nl" in dead.last_error
    assert rows["logistics@shop.example"].status is NotificationStatus.SENT
    assert [m.rcpt_tos for m in smtp.received] == [("logistics@shop.example",)]
    clock.advance(hours=2)
    assert run_dispatch(mail_runtime) == DispatchReport()


def test_a_temporary_refusal_is_retried(session, session_factory, workflow, mail_runtime, smtp, clock):
    smtp.refuse("full@example.nl", code=452)
    approve(session, session_factory, workflow, clock, customer_email="full@example.nl")

    report = run_dispatch(mail_runtime)

    assert (report.sent, report.retried, report.dead) == (1, 1, 0)
    row = by_recipient(outbox(session_factory, channel="email"))["full@example.nl"]
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)
    assert "452" in row.last_error
    smtp.handler.refused.clear()
    clock.advance(minutes=1)
    assert run_dispatch(mail_runtime).sent == 1
    assert len(smtp.to("full@example.nl")) == 1


def test_smtp_credentials_from_the_url_log_in(session, session_factory, workflow, mail_runtime, smtp, clock):
    smtp.handler.credentials = ("hub@shop.example", "p@ss:w/rd 1")
    url = f"smtp://hub%40shop.example:p%40ss%3Aw%2Frd%201@{smtp.host}:{smtp.port}"
    approve(session, session_factory, workflow, clock)

    wrong = replace(mail_runtime, settings=replace(mail_runtime.settings, smtp_url=url.replace("%201", "%202")))
    report = run_dispatch(wrong)
    assert (report.sent, report.retried) == (0, 2)
    assert all("535" in n.last_error for n in outbox(session_factory, channel="email"))

    clock.advance(minutes=1)
    right = replace(mail_runtime, settings=replace(mail_runtime.settings, smtp_url=url))
    assert run_dispatch(right).sent == 2
    assert [m.login for m in smtp.received] == ["hub@shop.example", "hub@shop.example"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", ("mail.example", 25, "plain", None, None)),
        ("smtp://mail.example:2525", ("mail.example", 2525, "plain", None, None)),
        ("smtp+starttls://mail.example", ("mail.example", 587, "starttls", None, None)),
        ("smtp+starttls://mail.example:2587", ("mail.example", 2587, "starttls", None, None)),
        ("smtps://mail.example", ("mail.example", 465, "ssl", None, None)),
        ("smtp://mail.example:587?starttls=true", ("mail.example", 587, "starttls", None, None)),
        ("SMTP://Mail.Example?StartTLS=Yes", ("mail.example", 587, "starttls", None, None)),
        ("smtp://mail.example?starttls=false", ("mail.example", 25, "plain", None, None)),
        ("smtp://apikey:s3cret@mail.example:587?starttls=1", ("mail.example", 587, "starttls", "apikey", "s3cret")),
        (
            "smtps://me%40shop.example:p%40ss%3Aw%2Frd%20%25@smtp.shop.example",
            ("smtp.shop.example", 465, "ssl", "me@shop.example", "p@ss:w/rd %"),
        ),
        ("smtp://only-user@mail.example", ("mail.example", 25, "plain", "only-user", None)),
        ("smtp://[::1]:2525", ("::1", 2525, "plain", None, None)),
    ],
)
def test_smtp_urls_are_parsed(url, expected):
    c = SmtpConfig.from_url(url)
    assert (c.host, c.port, c.security, c.username, c.password) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example", "must start with smtp://, smtp+starttls:// or smtps://"),
        ("mail.example:25", "must start with smtp://"),
        ("", "must start with smtp://"),
        ("smtp://", "has no host"),
        ("smtp://:25", "has no host"),
        ("smtp://user:pw@", "has no host"),
        ("smtp://mail.example:port", "has a bad port"),
        ("smtp://mail.example:99999", "has a bad port"),
    ],
)
def test_bad_smtp_urls_name_the_problem(url, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SmtpConfig.from_url(url)


CREDENTIAL = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@hypothesis_settings(max_examples=150, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(username=CREDENTIAL, password=CREDENTIAL, scheme=st.sampled_from(["smtp", "smtp+starttls", "smtps"]))
def test_any_escaped_credentials_parse_back(username, password, scheme):
    url = f"{scheme}://{quote(username, safe='')}:{quote(password, safe='')}@smtp.shop.example:2525"
    c = SmtpConfig.from_url(url)
    assert (c.username, c.password, c.host, c.port) == (username, password, "smtp.shop.example", 2525)


def test_the_delivery_describes_where_mail_goes(runtime, workflow, smtp):
    files = EmailDelivery(runtime.settings, workflow)
    assert files.describe() == f"files in {runtime.settings.instance_dir / 'mail'}"
    via_smtp = EmailDelivery(replace(runtime.settings, smtp_url=smtp.url + "?starttls=on"), workflow)
    assert via_smtp.describe() == f"SMTP 127.0.0.1:{smtp.port} (starttls)"
    with pytest.raises(ValueError, match="HUB_MAIL_FROM is not an e-mail address"):
        EmailDelivery(replace(runtime.settings, mail_from="Returns Hub"), workflow)
