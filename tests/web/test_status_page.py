"""The customer's status page: plain words in their language, the steps so far, and nothing for a wrong token."""

from __future__ import annotations

import html as htmllib
import re
import secrets
from collections.abc import Iterator
from dataclasses import replace
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import select

from hub.app import create_app
from hub.core.config import Settings
from hub.core.runtime import Runtime
from hub.notifications.models import Notification
from hub.returns.models import Return
from hub.workflow import load_workflow, parse_workflow
from jobs.dispatch import run_dispatch
from tests.email.support import BASE_URL, mail_settings
from tests.factories import Clock, make_return, move, workflow_toml
from tests.web.browser_support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    ConsoleWatch,
    LiveServer,
    axe_violations,
    in_ci,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with the shop's public URL, which the customer's e-mail links to."""
    return mail_settings(settings)


@pytest.fixture
def runtime(runtime: Runtime, clock: Clock) -> Runtime:
    """The suite's runtime on the controlled clock (the web app's now() too)."""
    runtime.clock = clock
    return runtime


# the clock starts on Thursday 5 March 2026, 10:00 in Amsterdam
PATHS = {
    "new": [],
    "received": [("approved", {}), ("in_transit", {}), ("received", {})],
    "resolved": [
        ("approved", {}),
        ("in_transit", {}),
        ("received", {}),
        ("inspected", {}),
        ("resolved", {"resolution": "refund"}),
    ],
    "rejected": [("rejected", {"rejection_reason": "used_or_damaged", "note": "The tags were removed"})],
}
# one day per step: created 5 March, then 6, 7, 8, ... March
DAYS = {"en": ["March {d}, 2026"], "nl": ["{d} maart 2026"], "de": ["{d}. März 2026"]}
STEP = {
    "en": {
        "new": "Return request received",
        "approved": "Return approved",
        "in_transit": "Parcel on its way to us",
        "received": "Parcel received at our warehouse",
        "inspected": "Items inspected",
        "resolved": "Return completed",
        "rejected": "Return not accepted",
    },
    "nl": {
        "new": "Retourverzoek ontvangen",
        "approved": "Retour goedgekeurd",
        "in_transit": "Pakket onderweg naar ons",
        "received": "Pakket ontvangen in ons magazijn",
        "inspected": "Artikelen gecontroleerd",
        "resolved": "Retour afgerond",
        "rejected": "Retour niet geaccepteerd",
    },
    "de": {
        "new": "Rücksendeanfrage eingegangen",
        "approved": "Rücksendung genehmigt",
        "in_transit": "Paket auf dem Weg zu uns",
        "received": "Paket in unserem Lager eingegangen",
        "inspected": "Artikel geprüft",
        "resolved": "Rücksendung abgeschlossen",
        "rejected": "Rücksendung nicht angenommen",
    },
}
NOW_TEXT = {
    "en": {
        "new": "We received your return request on {date} and are reviewing it.",
        "received": "We received your parcel on {date} and are inspecting it.",
        "resolved": "Your return was completed on {date}: we refunded you.",
        "rejected": "We could not accept your return ({date}).",
    },
    "nl": {
        "new": "We hebben uw retourverzoek op {date} ontvangen en bekijken het nu.",
        "received": "We hebben uw pakket op {date} ontvangen en controleren het nu.",
        "resolved": "Uw retour is op {date} afgerond: we hebben het bedrag teruggestort.",
        "rejected": "We konden uw retour helaas niet accepteren ({date}).",
    },
    "de": {
        "new": "Wir haben Ihre Rücksendeanfrage am {date} erhalten und prüfen sie gerade.",
        "received": "Wir haben Ihr Paket am {date} erhalten und prüfen es gerade.",
        "resolved": "Ihre Rücksendung wurde am {date} abgeschlossen: Wir haben Ihnen den Betrag erstattet.",
        "rejected": "Wir konnten Ihre Rücksendung leider nicht annehmen ({date}).",
    },
}
EXPECT = {
    "en": "We expect to have everything settled by March 19, 2026.",
    "nl": "We verwachten alles uiterlijk 19 maart 2026 af te ronden.",
    "de": "Wir gehen davon aus, dass bis zum 19. März 2026 alles erledigt ist.",
}
CHROME = {
    "en": ["Hello {name},", "So far", "Items", "Return {rma} · order {order}"],
    "nl": ["Beste {name},", "Tot nu toe", "Artikelen", "Retour {rma} · bestelling {order}"],
    "de": ["Guten Tag {name},", "Bisheriger Verlauf", "Artikel", "Rücksendung {rma} · Bestellung {order}"],
}
# every customer language, in its own name: the status page and the new-return form offer exactly these
LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands", "de": "Deutsch"}


def _day(lang: str, day: int) -> str:
    return DAYS[lang][0].format(d=day)


def _text(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _steps(page: str) -> list[str]:
    block = re.search(r'<ol class="status-steps">(.*?)</ol>', page, re.S)
    assert block, "no steps on the page"
    return [_text(li) for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


def _status_now(page: str) -> str:
    match = re.search(r'<p class="status-now">(.*?)</p>', page, re.S)
    assert match, "no status sentence on the page"
    return _text(match.group(1))


def _walk(session, session_factory, workflow, clock, stage: str, **overrides) -> Return:
    r = make_return(session, workflow, now=clock(), **overrides)
    session.commit()
    for to_stage, kwargs in PATHS[stage]:
        move(session_factory, workflow, r.rma, to_stage, now=clock.advance(days=1), **kwargs)
    return r


@pytest.mark.parametrize("lang", ["en", "nl", "de"])
@pytest.mark.parametrize("stage", list(PATHS))
def test_the_status_page_tells_where_the_return_is(session, session_factory, workflow, client, clock, stage, lang):
    r = _walk(
        session,
        session_factory,
        workflow,
        clock,
        stage,
        customer_locale=lang,
        customer_name="Sanne de Vries",
        order_number="ORD-61001",
    )

    resp = client.get(f"/status/{r.status_token}")

    assert resp.status_code == 200  # no login
    page = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    path = ["new"] + [s for s, _ in PATHS[stage]]
    last_day = 5 + len(path) - 1
    assert _status_now(page) == NOW_TEXT[lang][stage].format(date=_day(lang, last_day))
    expected_steps = [f"{_day(lang, 5 + i)} {STEP[lang][key]}" for i, key in enumerate(path)]
    assert _steps(page) == expected_steps  # a rejection's reason shows under the status (test_status_reasons.py)
    visible = _text(page)
    for chrome in CHROME[lang]:
        assert chrome.format(name="Sanne de Vries", rma=r.rma, order="ORD-61001") in visible
    # the promise is shown while the return is open
    assert (EXPECT[lang] in visible) == (stage in ("new", "received"))
    for other in STEP.keys() - {lang}:
        assert STEP[other]["new"] not in visible
    assert "1 × T-shirt blue M" in visible
    assert _language_links(page) == [(f"?lang={code}", name, code == lang) for code, name in LANGUAGE_NAMES.items()]


def _language_links(page: str) -> list[tuple[str, str, bool]]:
    """The language links of the page: (href, text, whether it is the current one)."""
    nav = re.search(r'<nav class="langs"[^>]*>(.*?)</nav>', page, re.S)
    assert nav, "no language links on the page"
    return [
        (href, _text(text), "aria-current" in attrs)
        for attrs, href, text in re.findall(r'<a\b([^>]*?href="([^"]*)"[^>]*)>(.*?)</a>', nav.group(1), re.S)
    ]


@pytest.mark.parametrize(
    ("locale", "query", "lang"),
    [
        ("en", "?lang=nl", "nl"),
        ("nl", "?lang=en", "en"),
        ("nl", "?lang=fr", "nl"),
        ("en", "?lang=", "en"),
        ("nl-BE", "", "nl"),
        ("de", "", "de"),
        ("de-AT", "", "de"),
        ("en", "?lang=de", "de"),
        ("de", "?lang=nl", "nl"),
        ("fr", "", "en"),  # a language we do not write in: English
        ("fr", "?lang=fr", "en"),
    ],
)
def test_the_language_follows_the_customer_or_the_lang_parameter(
    session, session_factory, workflow, client, clock, locale, query, lang
):
    r = _walk(session, session_factory, workflow, clock, "new", customer_locale=locale)

    page = client.get(f"/status/{r.status_token}{query}").get_data(as_text=True)

    assert f'<html lang="{lang}">' in page
    assert _status_now(page) == NOW_TEXT[lang]["new"].format(date=_day(lang, 5))
    assert f'href="?lang={lang}" aria-current="true"' in page


def test_a_token_shows_its_own_return_only(session, workflow, client, clock):
    mine = make_return(
        session,
        workflow,
        now=clock(),
        customer_name="Anna Jansen",
        order_number="ORD-1111",
        customer_email="anna@example.nl",
    )
    theirs = make_return(
        session,
        workflow,
        now=clock(),
        customer_name="Bram Visser",
        order_number="ORD-2222",
        customer_email="bram@example.nl",
    )
    session.commit()

    page = client.get(f"/status/{theirs.status_token}").get_data(as_text=True)

    assert theirs.rma in page
    assert "Bram Visser" in page
    assert "ORD-2222" in page
    assert mine.rma not in page
    assert "Anna Jansen" not in page
    assert "ORD-1111" not in page
    assert "bram@example.nl" not in page  # the page never shows the e-mail address


def _main(page: str) -> str:
    match = re.search(r"<main\b.*?</main>", page, re.S)
    assert match
    return match.group(0)


def test_a_wrong_token_is_a_plain_404_that_reveals_nothing(session, workflow, client, clock):
    r = make_return(
        session,
        workflow,
        now=clock(),
        customer_name="Anna Jansen",
        order_number="ORD-1111",
        customer_email="anna@example.nl",
    )
    session.commit()
    token = r.status_token
    assert len(token) == 32
    wrong = [
        secrets.token_urlsafe(24),  # made up, the right length
        "A" * len(token),
        token[:-1] + ("B" if token[-1] != "B" else "C"),  # one character off
        token.swapcase() if token.swapcase() != token else token[::-1],
        token[:19],  # too short
        "x",
        token + "A" * 33,  # too long
        "RMA-1001",
        f"{token}%2F..",
    ]

    bodies = []
    for bad in wrong:
        resp = client.get(f"/status/{bad}")
        assert resp.status_code == 404, bad
        body = resp.get_data(as_text=True)
        for secret in ("Anna Jansen", "ORD-1111", r.rma, "anna@example.nl", token):
            assert secret not in body, (bad, secret)
        bodies.append(_main(body))
    # every wrong token gets the same page: it does not tell a near miss from a wild guess
    assert len(set(bodies)) == 1
    assert client.get(f"/status/{token}").status_code == 200


# what a customer reads on a link that leads nowhere: the heading, and what to do instead
NOT_FOUND = {
    "en": (
        "This link is not valid",
        "Please open the link in our latest e-mail about your return, or simply reply to that e-mail and we will "
        "help you.",
    ),
    "nl": (
        "Deze link is niet geldig",
        "Open de link in onze laatste e-mail over uw retour, of beantwoord die e-mail gewoon, dan helpen we u verder.",
    ),
    "de": (
        "Dieser Link ist ungültig",
        "Bitte öffnen Sie den Link in unserer letzten E-Mail zu Ihrer Rücksendung oder antworten Sie einfach auf "
        "diese E-Mail – wir helfen Ihnen gern weiter.",
    ),
}


def _h1(page: str) -> str:
    match = re.search(r"<h1\b[^>]*>(.*?)</h1>", page, re.S)
    assert match, "no heading on the page"
    return _text(match.group(1))


@pytest.mark.parametrize(
    "path",
    [
        "/status/" + "A" * 32,  # a made-up token of the right length
        "/status/x",  # too short
        "/status/" + "A" * 65,  # too long
        "/status/RMA-1001",
        "/status/" + "A" * 32 + "%2F..",
        "/status/" + "A" * 32 + "/more",
        "/status/",
    ],
)
def test_a_wrong_link_gets_a_plain_customer_page_without_the_staff_chrome(client, path):
    resp = client.get(path)

    assert resp.status_code == 404
    assert resp.headers["X-Robots-Tag"] == "noindex"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Accept-Language" in resp.vary  # the page follows the browser's language
    assert "Set-Cookie" not in resp.headers
    page = resp.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert '<meta name="robots" content="noindex">' in page
    assert '<body class="status-body">' in page
    assert re.search(r'<main class="status-page[" ]', page)
    assert _h1(page) == NOT_FOUND["en"][0]
    assert NOT_FOUND["en"][1] in _text(_main(page))
    # nothing of the staff's pages: no top bar, no navigation to the board or the login, no staff wording
    for staff in ("/board", "/login", "topbar", "mainnav", "Back to the board", "Returns Hub", "Not found"):
        assert staff not in page, staff
    assert [n for n in re.findall(r"<nav\b[^>]*>", page) if 'class="langs"' not in n] == []
    # the only links are the language choices
    assert _language_links(page) == [(f"?lang={code}", name, code == "en") for code, name in LANGUAGE_NAMES.items()]
    assert re.findall(r'href="([^"]*)"', _main(page)) == [f"?lang={code}" for code in LANGUAGE_NAMES]


@pytest.mark.parametrize(
    ("query", "accept", "lang"),
    [
        ("", None, "en"),
        ("?lang=nl", None, "nl"),
        ("?lang=de", None, "de"),
        ("?lang=de", "nl", "de"),  # the customer's choice beats the browser's
        ("", "de-DE,de;q=0.9,en;q=0.8", "de"),
        ("", "nl-BE", "nl"),
        ("", "fr-FR, nl;q=0.5, de;q=0.3", "nl"),  # the best language we have
        ("", "fr, es", "en"),
        ("?lang=fr", "de", "de"),  # a language we do not have: the browser's
        ("?lang=xx", None, "en"),
    ],
)
def test_the_wrong_link_page_speaks_the_customers_language(client, query, accept, lang):
    headers = {"Accept-Language": accept} if accept else {}

    resp = client.get("/status/" + "Z" * 32 + query, headers=headers)

    assert resp.status_code == 404
    page = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    assert _h1(page) == NOT_FOUND[lang][0]
    assert NOT_FOUND[lang][1] in _text(_main(page))
    assert _language_links(page) == [(f"?lang={code}", name, code == lang) for code, name in LANGUAGE_NAMES.items()]
    for other in NOT_FOUND.keys() - {lang}:
        assert NOT_FOUND[other][0] not in page


def test_a_wrong_token_reveals_nothing_in_any_language(session, workflow, client, clock):
    r = make_return(session, workflow, now=clock(), customer_name="Anna Jansen", customer_locale="de")
    session.commit()
    near_miss = r.status_token[:-1] + ("B" if r.status_token[-1] != "B" else "C")

    for lang in LANGUAGE_NAMES:
        wild = client.get(f"/status/{'Q' * 32}?lang={lang}")
        near = client.get(f"/status/{near_miss}?lang={lang}")
        assert wild.status_code == near.status_code == 404
        assert _main(wild.get_data(as_text=True)) == _main(near.get_data(as_text=True))
        assert "Anna Jansen" not in near.get_data(as_text=True)
        assert r.rma not in near.get_data(as_text=True)


def test_the_status_page_is_not_indexed_and_runs_no_inline_script(session, workflow, client, clock):
    r = make_return(session, workflow, now=clock(), customer_name='Eve <script>alert("x")</script>')
    session.commit()

    resp = client.get(f"/status/{r.status_token}")

    assert resp.status_code == 200
    assert resp.headers["X-Robots-Tag"] == "noindex"
    assert resp.headers["Referrer-Policy"] == "no-referrer"  # the token must not leak to other sites
    assert resp.headers["Cache-Control"] == "no-store"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    page = resp.get_data(as_text=True)
    assert '<meta name="robots" content="noindex">' in page
    assert all(re.search(r'\bsrc="/static/', tag) for tag in re.findall(r"<script\b[^>]*>", page))
    assert not re.search(r"\son[a-z]+\s*=", page, re.I)  # no inline event handlers
    assert "javascript:" not in page.lower()
    assert "&lt;script&gt;alert(" in page
    assert "Set-Cookie" not in resp.headers  # a customer gets no session


def test_a_custom_stage_shows_its_name(session, session_factory, runtime, clock):
    toml = workflow_toml(
        stages={
            "received": {"next": ["quality_check"]},
            "quality_check": {
                "after": "received",
                "name": "Quality check",
                "team": "warehouse",
                "sla": "2 business days",
                "next": ["inspected"],
            },
        }
    )
    workflow = parse_workflow(toml, source="custom.toml")
    assert "quality_check" in workflow.stages
    rt = replace(runtime, workflow=workflow)
    client = create_app(runtime=rt, TESTING=True).test_client()
    r = make_return(session, workflow, now=clock(), customer_locale="nl")
    session.commit()
    for stage in ("approved", "in_transit", "received", "quality_check"):
        move(session_factory, workflow, r.rma, stage, now=clock.advance(days=1))

    resp = client.get(f"/status/{r.status_token}")

    assert resp.status_code == 200, resp.get_data(as_text=True)
    page = resp.get_data(as_text=True)
    assert _steps(page)[-1] == "9 maart 2026 Quality check"
    assert _status_now(page) == "Uw retour wordt behandeld: Quality check."
    assert EXPECT["nl"] in _text(page)


def test_the_link_in_the_customer_email_opens_the_status_page(
    session, session_factory, workflow, runtime, client, clock
):
    r = _walk(session, session_factory, workflow, clock, "received", customer_locale="nl")
    run_dispatch(runtime)  # no SMTP: .eml files
    with session_factory() as s:
        last = s.scalars(
            select(Notification).where(Notification.kind == "customer_update").order_by(Notification.id.desc())
        ).first()
    message = BytesParser(policy=policy.default).parsebytes(Path(last.delivery_ref).read_bytes())
    assert message["Subject"] == f"We hebben uw pakket {r.rma} ontvangen"
    urls = re.findall(r"https?://\S+", message.get_body(("plain",)).get_content())
    assert urls == [f"{BASE_URL}/status/{r.status_token}"]

    resp = client.get(urls[0].removeprefix(BASE_URL))

    assert resp.status_code == 200
    assert _status_now(resp.get_data(as_text=True)) == NOW_TEXT["nl"]["received"].format(date=_day("nl", 8))


RENAMED = {
    "new": "aanvraag",
    "approved": "goedgekeurd",
    "in_transit": "onderweg",
    "received": "binnen",
    "inspected": "gecontroleerd",
    "resolved": "afgerond",
    "rejected": "afgewezen",
}


def _renamed_toml() -> str:
    """The default workflow with every stage key and every stage and team name changed, as a shop may do."""
    default = load_workflow()
    return workflow_toml(
        teams={key: {"name": f"Stap: {team.name}"} for key, team in default.teams.items()},
        stages={
            key: {"key": RENAMED[key], "name": f"Stap: {stage.name}", "next": [RENAMED[n] for n in stage.next]}
            for key, stage in default.stages.items()
        },
    )


@pytest.mark.parametrize("lang", ["en", "nl", "de"])
def test_a_shop_that_renames_its_stages_keeps_the_customer_wording(session, session_factory, runtime, clock, lang):
    workflow = parse_workflow(_renamed_toml(), source="renamed.toml")
    assert set(workflow.stages) == set(RENAMED.values())
    rt = replace(runtime, workflow=workflow)
    client = create_app(runtime=rt, TESTING=True).test_client()
    r = make_return(session, workflow, now=clock(), customer_locale=lang)
    session.commit()
    for old, kwargs in PATHS["resolved"]:
        move(session_factory, workflow, r.rma, RENAMED[old], now=clock.advance(days=1), **kwargs)

    page = client.get(f"/status/{r.status_token}").get_data(as_text=True)

    path = ["new"] + [s for s, _ in PATHS["resolved"]]
    assert _steps(page) == [f"{_day(lang, 5 + i)} {STEP[lang][key]}" for i, key in enumerate(path)]
    assert _status_now(page) == NOW_TEXT[lang]["resolved"].format(date=_day(lang, 10))
    assert "Stap:" not in _text(page)  # the stage names are the staff's words, not the customer's
    with session_factory() as s:
        mails = s.scalars(
            select(Notification).where(Notification.kind == "customer_update").order_by(Notification.id)
        ).all()
    assert [n.payload["message"] for n in mails] == ["approved", "received", "resolved"]


# --- in a real browser: axe-core finds nothing, the page fits a desktop and a phone ----------------------

VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not in_ci(),
    reason=f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests",
)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the module's browser tests."""
    if not CHROMIUM.exists():
        pytest.fail(f"CI is set but {CHROMIUM} is missing: the browser tests must run in CI")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live_server(chromium: Browser) -> Iterator[LiveServer]:
    """A real HTTP server for the module (started after the browser, so stopped before it)."""
    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture
def served(live_server: LiveServer, app) -> Iterator[str]:
    """The server's URL, serving this test's app."""
    live_server.current = app
    yield live_server.url
    live_server.current = None


def _is_the_404_itself(error: str, url: str) -> bool:
    return error.startswith("console: Failed to load resource: the server responded with a status of 404") and (
        error.endswith(f"({url})")
    )


def _check_in_browser(chromium: Browser, url: str, *, lang: str, status: int, shot: str) -> None:
    """Open the page at both sizes: the status and the language, a clean console, no sideways scrolling,
    no axe-core violation (WCAG and best practices); a screenshot of each size goes to artifacts/."""
    for size, (width, height) in VIEWPORTS.items():
        context = chromium.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            console = ConsoleWatch().attach(page)
            resp = page.goto(url)
            assert resp is not None
            assert resp.status == status, size
            assert page.locator("html").get_attribute("lang") == lang
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{size}: the page scrolls sideways by {overflow}px"
            violations = axe_violations(page)
            assert violations == [], f"{size}: axe-core violations:\n" + "\n".join(violations)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{shot}-{width}x{height}.png"), full_page=True)
            # Chromium logs the 404 of the page itself as an error; anything else in the console is a fault
            console.errors = [e for e in console.errors if not (status == 404 and _is_the_404_itself(e, url))]
            console.assert_clean()
        finally:
            context.close()


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("stage", ["received", "rejected"])
def test_the_german_status_page_passes_axe_on_a_desktop_and_a_phone(
    chromium, served, session, session_factory, workflow, clock, stage
):
    r = _walk(
        session,
        session_factory,
        workflow,
        clock,
        stage,
        customer_locale="de",
        customer_name="Lena Schmidt",
        order_number="ORD-61001",
    )

    _check_in_browser(chromium, f"{served}/status/{r.status_token}", lang="de", status=200, shot=f"status-de-{stage}")


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_wrong_link_page_passes_axe_on_a_desktop_and_a_phone(chromium, served, lang):
    _check_in_browser(
        chromium, f"{served}/status/{'W' * 32}?lang={lang}", lang=lang, status=404, shot=f"status-not-found-{lang}"
    )


@pytest.mark.browser
@needs_chromium
def test_the_approved_status_page_with_the_return_address_passes_axe(
    chromium, live_server, runtime, session, session_factory, workflow, clock
):
    from hub.workflow import Shop

    shop = replace(
        workflow, shop=Shop(("Beispiel-Shop — Retouren", "Industrieweg 12", "1234 AB Amsterdam", "Niederlande"))
    )
    r = make_return(session, shop, now=clock(), customer_locale="de", customer_name="Lena Schmidt")
    session.commit()
    move(session_factory, shop, r.rma, "approved", now=clock.advance(days=1))
    live_server.current = create_app(runtime=replace(runtime, workflow=shop), TESTING=True)
    try:
        _check_in_browser(
            chromium, f"{live_server.url}/status/{r.status_token}", lang="de", status=200, shot="status-de-approved"
        )
    finally:
        live_server.current = None
