"""The board in a real browser: headless Chromium through Playwright, against the app served over HTTP.

Drag and drop (and cards that cannot be picked up), refused moves, drops that need a resolution or a
reason, the keyboard move menu, filters, the detail panel (a 64-character SKU on a desktop and a phone),
the live feed, a clean console (no CSP violations) and a screenshot of a realistic board in
artifacts/board.png; the notifications admin page with failed rows; pages checked by axe-core
(axe-core, vendored from npm under tests/web/vendor).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts.models import Team, User
from hub.core.runtime import Runtime
from hub.notifications.models import Notification, NotificationStatus
from hub.returns import services as svc
from hub.returns.drafts import ItemDraft
from hub.returns.models import Channel, Event
from hub.returns.permissions import Actor
from hub.returns.queries import load_for_detail
from hub.workflow import Workflow
from tests.factories import NOW, make_return, make_returns, make_user
from tests.web.browser_support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    Board,
    ConsoleWatch,
    LiveServer,
    axe_violations,
    column_count,
    drag,
    in_ci,
    log_in,
    make_staff,
    seed_board,
    wait_for_board_scripts,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not in_ci(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests",
    ),
]

PER_STAGE = 5
LIVE_TIMEOUT_MS = 5_000  # the board polls every 2.5 s


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module; every test gets fresh contexts."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"CI is set but {CHROMIUM} is missing: the browser tests must run in CI (install Debian's chromium package)"
        )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def live_server(browser: Browser) -> Iterator[LiveServer]:
    """A waitress server for the module (started after the browser, so stopped before it)."""
    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture
def base_url(live_server: LiveServer, runtime: Runtime, app) -> Iterator[str]:
    """The server, now serving this test's app on its freshly cleaned database, with a fixed clock."""
    runtime.clock = lambda: NOW
    live_server.current = app
    yield live_server.url
    live_server.current = None


@pytest.fixture
def board(session: Session, workflow: Workflow) -> Board:
    """A realistic board: returns in every stage, some overdue, one blocked, some assigned."""
    return seed_board(session, workflow, NOW, per_stage=PER_STAGE)


@dataclass
class Person:
    """Someone at the board: their page and what their browser console said."""

    page: Page
    console: ConsoleWatch


@pytest.fixture
def open_board(browser: Browser, base_url: str) -> Iterator[Callable[[User], Person]]:
    """Log someone in in a fresh browser context; returns their page on the board."""
    contexts: list[BrowserContext] = []

    def _open(user: User, viewport: tuple[int, int] = (1920, 1080)) -> Person:
        context = browser.new_context(base_url=base_url, viewport={"width": viewport[0], "height": viewport[1]})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        console = ConsoleWatch().attach(page)
        log_in(page, base_url, user)
        return Person(page, console)

    yield _open
    for context in contexts:
        context.close()


# On SQLite every transaction takes the write lock (BEGIN IMMEDIATE): the test's reads end theirs at once,
# or the server would wait for them.


def stage_and_version(session: Session, rma: str) -> tuple[str, int]:
    """Where a return is in the database, and its version."""
    session.expire_all()
    try:
        r = svc.get_return(session, rma)
        return r.stage, r.version
    finally:
        session.rollback()


def event_count(session: Session) -> int:
    """How many events the database holds."""
    try:
        return session.scalar(select(func.count()).select_from(Event)) or 0
    finally:
        session.rollback()


def last_comment(session: Session, rma: str) -> str:
    """The body of a return's newest comment."""
    session.expire_all()
    try:
        return load_for_detail(session, rma).comments[-1].body
    finally:
        session.rollback()


# --- the tests -----------------------------------------------------------------------------------


def test_a_realistic_board_renders_cleanly_and_is_saved_as_a_screenshot(open_board, board: Board):
    me = open_board(board.staff.lead)
    page = me.page
    for stage in board.rmas:
        expect(page.locator(f"#cards-{stage} > li.card")).to_have_count(PER_STAGE)
        expect(column_count(page, stage)).to_have_text(str(PER_STAGE))
    expect(page.locator("#cards-received li.card.is-blocked")).to_have_count(1)
    expect(page.locator("#cards-new li.card.sla-overdue")).to_have_count(1)
    expect(page.locator("#live-status")).to_have_text("● Live")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)
    assert (ARTIFACTS / "board.png").stat().st_size > 10_000
    me.console.assert_clean()


def test_a_warehouse_member_drags_a_received_return_to_inspected(open_board, board: Board, session: Session):
    me = open_board(board.staff.warehouse)
    page = me.page
    rma = board.rmas["received"][1]
    before_version = stage_and_version(session, rma)[1]
    card = page.locator(f"#card-{rma}")
    expect(page.locator(f"#cards-received > #card-{rma}")).to_be_visible()

    drag(page, card, page.locator("#cards-inspected"))

    moved = page.locator(f"#cards-inspected > #card-{rma}")
    expect(moved).to_have_attribute("data-stage", "inspected")
    expect(moved).to_have_attribute("data-version", str(before_version + 1))
    expect(page.locator(f"#cards-received > #card-{rma}")).to_have_count(0)
    expect(column_count(page, "received")).to_have_text(str(PER_STAGE - 1))
    expect(column_count(page, "inspected")).to_have_text(str(PER_STAGE + 1))
    expect(page.locator("#toasts")).to_contain_text(f"{rma} moved to “Inspected — to resolve”")
    assert stage_and_version(session, rma) == ("inspected", before_version + 1)

    page.reload()
    wait_for_board_scripts(page)
    expect(page.locator(f"#cards-inspected > #card-{rma}")).to_have_attribute("data-stage", "inspected")
    expect(page.locator(f"#cards-received > #card-{rma}")).to_have_count(0)
    expect(column_count(page, "received")).to_have_text(str(PER_STAGE - 1))
    expect(column_count(page, "inspected")).to_have_text(str(PER_STAGE + 1))
    me.console.assert_clean()


def move_requests(page: Page) -> list[str]:
    """The URLs of the moves the page posts from now on."""
    posted: list[str] = []
    page.on("request", lambda req: posted.append(req.url) if req.method == "POST" and "/move" in req.url else None)
    return posted


def test_a_card_the_user_may_not_move_cannot_be_picked_up(open_board, board: Board, session: Session):
    me = open_board(board.staff.warehouse)
    page = me.page
    posted = move_requests(page)
    page.evaluate("() => { window.__drags = 0; document.addEventListener('dragstart', () => window.__drags++); }")
    theirs, mine = board.rmas["new"][2], board.rmas["received"][3]
    before, events = stage_and_version(session, theirs), event_count(session)
    locked = page.locator(f"#card-{theirs}")
    expect(locked).to_have_class(re.compile(r"\blocked\b"))
    expect(locked.locator(".lock")).to_have_text("Customer service only")
    cursor = "el => getComputedStyle(el).cursor"
    assert locked.locator("p.customer").evaluate(cursor) == "default"  # it does not look grabbable
    assert page.locator(f"#card-{mine} p.customer").evaluate(cursor) == "grab"

    drag(page, locked, page.locator("#cards-approved"))

    # SortableJS never picked it up: no drag, nothing posted, no refusal; the card stays where it is
    assert page.evaluate("() => window.__drags") == 0
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bdragging\b"))
    expect(page.locator(f"#cards-new > #card-{theirs}")).to_have_attribute("data-stage", "new")
    expect(page.locator(f"#cards-approved > #card-{theirs}")).to_have_count(0)
    expect(locked).not_to_have_class(re.compile(r"\b(refused|moving|card-chosen)\b"))

    # a card of the user's own team still drags, and its move is the only one posted
    drag(page, page.locator(f"#card-{mine}"), page.locator("#cards-inspected"))
    expect(page.locator(f"#cards-inspected > #card-{mine}")).to_have_attribute("data-stage", "inspected")
    assert [url.split("/")[-2] for url in posted] == [mine]
    assert page.evaluate("() => window.__drags") == 1
    expect(page.locator("#toasts .toast-error")).to_have_count(0)
    assert stage_and_version(session, theirs) == before
    assert event_count(session) == events + 1
    assert axe_violations(page) == []
    me.console.assert_clean()


def test_a_card_that_stopped_being_the_users_since_the_board_loaded_snaps_back_with_the_reason(
    open_board, board: Board, session: Session
):
    me = open_board(board.staff.warehouse)
    page = me.page
    rma = board.rmas["received"][3]
    expect(page.locator(f"#card-{rma}")).not_to_have_class(re.compile(r"\blocked\b"))
    # meanwhile an admin moves Noor from the warehouse to logistics: her open board still offers the move
    noor = session.get(User, board.staff.warehouse.id)
    assert noor is not None
    noor.teams = [session.get(Team, "logistics")]
    session.commit()
    before, events = stage_and_version(session, rma), event_count(session)

    drag(page, page.locator(f"#card-{rma}"), page.locator("#cards-inspected"))

    toast = page.locator("#toasts .toast-error")
    expect(toast).to_contain_text(f"You can't move {rma} because “Received — to inspect” belongs to Warehouse")
    expect(page.locator(f"#cards-received > #card-{rma}")).to_have_attribute("data-stage", "received")
    expect(page.locator(f"#cards-inspected > #card-{rma}")).to_have_count(0)
    expect(page.locator(f"#card-{rma}")).to_have_count(1)
    expect(column_count(page, "received")).to_have_text(str(PER_STAGE))
    expect(column_count(page, "inspected")).to_have_text(str(PER_STAGE))
    assert stage_and_version(session, rma) == before
    assert event_count(session) == events
    me.console.assert_clean(refused_moves=[403])


@pytest.mark.parametrize("target", ["approved", "resolved"])
def test_a_move_the_workflow_does_not_allow_is_refused_with_the_reason(
    open_board, board: Board, session: Session, target: str
):
    me = open_board(board.staff.lead)  # a lead may act on every stage, but not skip the workflow
    page = me.page
    rma = board.rmas["received"][3]
    before, events = stage_and_version(session, rma), event_count(session)
    expect(page.locator(f"#card-{rma}")).to_have_attribute("data-targets", "inspected")

    drag(page, page.locator(f"#card-{rma}"), page.locator(f"#cards-{target}"))

    name = {"approved": "Approved — label / pickup", "resolved": "Resolved"}[target]
    expect(page.locator("#toasts .toast-error")).to_contain_text(
        f"{rma} cannot move from “Received — to inspect” to “{name}”; from there it can go to “Inspected — to resolve”."
    )
    expect(page.locator(f"#cards-received > #card-{rma}")).to_have_attribute("data-stage", "received")
    expect(page.locator(f"#card-{rma}")).to_have_count(1)
    expect(column_count(page, "received")).to_have_text(str(PER_STAGE))
    expect(column_count(page, target)).to_have_text(str(PER_STAGE))
    assert stage_and_version(session, rma) == before
    assert event_count(session) == events
    me.console.assert_clean(refused_moves=[409])


@pytest.mark.parametrize(
    ("source", "target"), [("inspected", "rejected"), ("inspected", "resolved"), ("new", "rejected")], ids=str
)
def test_a_drop_on_a_stage_that_needs_more_opens_the_move_form_on_that_stage(
    open_board, board: Board, session: Session, base_url: str, source: str, target: str
):
    me = open_board(board.staff.customer_service)
    page = me.page
    rma = board.rmas[source][2]
    before = stage_and_version(session, rma)
    name = {"resolved": "Resolved", "rejected": "Rejected"}[target]
    need = {"resolved": "how it was resolved", "rejected": "a reason for the customer"}[target]

    drag(page, page.locator(f"#card-{rma}"), page.locator(f"#cards-{target}"))

    # nothing is posted without what the stage needs: the card goes back and the details open on the
    # Move form, on the stage it was dropped on, with the field that stage needs shown, required and focused
    expect(page.locator("#toasts .toast-info")).to_contain_text(
        f"Moving to “{name}” needs {need}: use Move in the details."
    )
    expect(page.locator(f"#cards-{source} > #card-{rma}")).to_have_attribute("data-stage", source)
    detail = page.locator("aside#panel article#detail")
    expect(detail).to_have_attribute("data-rma", rma)
    expect(page).to_have_url(f"{base_url}/returns/{rma}")
    expect(detail.locator("select#to_stage")).to_have_value(target)
    expect(detail.locator("select#to_stage option:checked")).to_have_text(name)
    form = detail.locator("form.move-form")
    resolution, note = form.locator("select#resolution"), form.locator("textarea#move-note")
    reason = form.locator("select#rejection-reason")
    if target == "resolved":
        needed, unneeded = resolution, reason
        expect(form.get_by_label("Note (optional)")).to_be_visible()
        expect(reason).to_be_hidden()
    else:
        needed, unneeded = reason, resolution
        expect(form.get_by_label("Reason the customer reads")).to_be_visible()
        expect(form.get_by_label("Extra note for the customer (optional)")).to_be_visible()
        expect(note).not_to_have_attribute("required", re.compile(".*"))
        if source == "inspected":
            expect(resolution).to_be_hidden()  # it could be resolved, but it is being rejected
        else:
            expect(resolution).to_have_count(0)  # a new return cannot be resolved
    expect(needed).to_be_visible()
    expect(needed).to_have_attribute("required", "")
    expect(needed).to_be_focused()
    if unneeded.count():
        expect(unneeded).not_to_have_attribute("required", re.compile(".*"))
    assert axe_violations(page) == []
    if target == "rejected":
        preview = form.locator("#reason-preview")
        expect(preview).to_contain_text("The customer gets an e-mail in Dutch")  # the board's customers read Dutch
        reason.select_option("final_sale")
        expect(preview.locator("q")).to_have_text(
            "De artikelen zijn gekocht als eindverkoop; volgens ons retourbeleid kunnen die niet worden geretourneerd."
        )
        expect(preview.locator("q")).to_have_attribute("lang", "nl")
        expect(note).not_to_have_attribute("required", re.compile(".*"))
        reason.select_option("other")  # says too little on its own: the note becomes required
        expect(note).to_have_attribute("required", "")
        expect(preview.locator("q")).to_have_text("Onze klantenservice legt hieronder uit waarom.")
        reason.select_option("")
        expect(preview.locator("q")).to_be_hidden()
        expect(note).not_to_have_attribute("required", re.compile(".*"))
    assert stage_and_version(session, rma) == before

    if source == "inspected":  # choosing the other stage swaps the fields, and back again
        other = "rejected" if target == "resolved" else "resolved"
        form.locator("select#to_stage").select_option(other)
        expect(needed).not_to_have_attribute("required", re.compile(".*"))
        expect(unneeded).to_have_attribute("required", "")
        expect(resolution).to_be_visible() if other == "resolved" else expect(resolution).to_be_hidden()
        form.locator("select#to_stage").select_option(target)
        expect(needed).to_have_attribute("required", "")
        expect(unneeded).not_to_have_attribute("required", re.compile(".*"))

    posted = move_requests(page)
    form.get_by_role("button", name="Move").click()  # the browser asks for the missing field first
    assert needed.evaluate("el => el.validity.valueMissing") is True
    assert posted == []

    if target == "resolved":
        resolution.select_option("exchange")
    else:
        reason.select_option("outside_window")
        note.fill("Outside the 30-day return window.")
    form.get_by_role("button", name="Move").click()
    detail = page.locator("aside#panel article#detail")
    expect(detail.locator(".notice")).to_have_text(f"{rma} moved to “{name}”.")
    expect(detail.locator(".stage-chip")).to_have_text(name)
    if target == "resolved":
        expect(detail.locator(".stage-line .pill.resolved")).to_have_text("Exchange")
    else:
        expect(detail.locator("li.event-closed .event-note")).to_have_text("“Outside the 30-day return window.”")
    # the board behind the panel follows through the live feed
    expect(page.locator(f"#cards-{target} > #card-{rma}")).to_be_attached(timeout=LIVE_TIMEOUT_MS)
    expect(column_count(page, target)).to_have_text(str(PER_STAGE + 1))
    assert stage_and_version(session, rma)[0] == target
    me.console.assert_clean()


def test_the_keyboard_move_menu_moves_a_card(open_board, board: Board, session: Session):
    me = open_board(board.staff.lead)
    page = me.page
    rma = board.rmas["new"][3]
    card = page.locator(f"#cards-new > #card-{rma}")
    summary = card.locator(".move-menu summary")

    # from the card's RMA link, Tab reaches its Move button; Enter opens it, Escape closes it again
    card.locator("a.rma").focus()
    page.keyboard.press("Tab")
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")
    expect(card.locator("details.move-menu")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(card.locator("details.move-menu")).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()

    page.keyboard.press("Enter")  # a menu button: it opens on its first item
    choice = card.locator("button[data-move-to=approved]")
    expect(choice).to_be_focused()
    expect(choice).to_have_text("Approved — label / pickup")
    page.keyboard.press("Enter")

    moved = page.locator(f"#cards-approved > #card-{rma}")
    expect(moved).to_have_attribute("data-stage", "approved")
    expect(page.locator(f"#cards-new > #card-{rma}")).to_have_count(0)
    expect(column_count(page, "new")).to_have_text(str(PER_STAGE - 1))
    expect(column_count(page, "approved")).to_have_text(str(PER_STAGE + 1))
    expect(page.locator("#toasts")).to_contain_text(f"{rma} moved to “Approved — label / pickup”")
    # the focus comes back to the moved card's menu, so the keyboard user can carry on
    expect(moved.locator(".move-menu summary")).to_be_focused()
    assert stage_and_version(session, rma)[0] == "approved"
    me.console.assert_clean()


def test_a_member_moving_a_card_out_of_their_team_by_keyboard_keeps_the_focus_on_it(
    open_board, board: Board, session: Session
):
    me = open_board(board.staff.warehouse)
    page = me.page
    rma = board.rmas["received"][4]
    page.locator(f"#card-{rma} .move-menu summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#card-{rma} button[data-move-to=inspected]")).to_be_focused()
    page.keyboard.press("Enter")

    moved = page.locator(f"#cards-inspected > #card-{rma}")
    expect(moved).to_have_attribute("data-stage", "inspected")
    # it now belongs to customer service: no Move menu for the warehouse, yet the focus stays on the card
    expect(moved.locator(".lock")).to_have_text("Customer service only")
    expect(moved.locator("a.rma")).to_be_focused()
    assert stage_and_version(session, rma)[0] == "inspected"
    me.console.assert_clean()


def test_search_team_and_overdue_filters(open_board, board: Board, base_url: str):
    me = open_board(board.staff.customer_service)
    page = me.page
    rma = board.rmas["in_transit"][2]
    customer = board.customers[rma]
    surname = customer.split()[-1]
    assert sum(surname in c for c in board.customers.values()) == 1, "the seed must make the surname unique"

    page.locator("#q").press_sequentially(surname, delay=20)
    expect(page).to_have_url(re.compile(rf"/board\?(.*&)?q={surname}(&|$)"))
    expect(page.locator("li.card")).to_have_count(1)
    expect(page.locator(f"#cards-in_transit > #card-{rma}")).to_contain_text(customer)
    expect(column_count(page, "in_transit")).to_have_text("1")
    expect(column_count(page, "new")).to_have_text("0")
    expect(page.locator(".filter-summary")).to_be_visible()

    page.reload()  # the filter is in the URL, so a reload (or a shared link) keeps it
    wait_for_board_scripts(page)
    expect(page.locator("#q")).to_have_value(surname)
    expect(page.locator("li.card")).to_have_count(1)
    expect(page.locator(f"#card-{rma}")).to_be_visible()

    other = board.rmas["resolved"][0]
    page.locator("#q").fill(other)
    expect(page).to_have_url(re.compile(rf"/board\?(.*&)?q={other}(&|$)"))
    expect(page.locator("li.card")).to_have_count(1)
    expect(page.locator(f"#cards-resolved > #card-{other}")).to_be_visible()

    page.locator("#q").fill("")
    expect(page.locator("li.card")).to_have_count(PER_STAGE * len(board.rmas))

    page.locator("#f-team").select_option("warehouse")
    expect(page).to_have_url(re.compile(r"/board\?(.*&)?team=warehouse(&|$)"))
    expect(page.locator("section.column")).to_have_count(1)
    expect(page.locator("#col-received")).to_be_visible()
    expect(page.locator("li.card")).to_have_count(PER_STAGE)

    page.locator("#f-team").select_option("")
    page.get_by_label("Overdue", exact=True).check()
    expect(page).to_have_url(re.compile(r"/board\?(.*&)?overdue=1(&|$)"))
    open_stages = [s for s in board.rmas if s not in ("resolved", "rejected")]
    expect(page.locator("section.column")).to_have_count(len(open_stages))
    expect(page.locator("li.card")).to_have_count(len(open_stages))  # the oldest of each open column
    expect(page.locator("li.card.sla-overdue")).to_have_count(len(open_stages))
    for stage in open_stages:
        expect(page.locator(f"#cards-{stage} > #card-{board.rmas[stage][0]}")).to_be_visible()

    page.go_back()  # the history follows the filters: back to the whole board, still draggable
    expect(page).not_to_have_url(re.compile(r"overdue="))
    expect(page.get_by_label("Overdue", exact=True)).not_to_be_checked()
    expect(page.locator("li.card")).to_have_count(PER_STAGE * len(board.rmas))
    expect(page.locator("ol.cards[data-sortable]")).to_have_count(len(board.rmas))
    me.console.assert_clean()


def test_the_detail_panel_shows_a_return_and_takes_a_comment(open_board, board: Board, base_url: str, session: Session):
    me = open_board(board.staff.warehouse)
    page = me.page
    rma = board.rmas["received"][0]
    page.locator(f"#card-{rma} a.rma").click()

    panel = page.locator("aside#panel")
    detail = panel.locator("article#detail")
    expect(panel).to_be_visible()
    expect(detail).to_have_attribute("data-rma", rma)
    expect(detail.locator("h1")).to_contain_text(board.customers[rma])
    expect(detail.locator(".stage-chip")).to_have_text("Received — to inspect")
    expect(page).to_have_url(f"{base_url}/returns/{rma}")
    expect(detail.locator("ul.comments li.comment")).to_have_count(1)  # the lead's, from the seed

    body = "Box dented, product fine. @femke can refund."
    detail.locator("textarea#comment-body").fill(body)
    detail.get_by_role("button", name="Comment", exact=True).click()

    detail = page.locator("aside#panel article#detail")  # swapped by the answer
    expect(detail.locator(".notice")).to_have_text("Comment added.")
    comments = detail.locator("ul.comments li.comment")
    expect(comments).to_have_count(2)
    expect(comments.first).to_contain_text("Noor de Boer")
    expect(comments.first.locator(".comment-body")).to_have_text(body)
    expect(comments.first.locator(".mention")).to_have_text("@femke")
    newest = detail.locator("ol.timeline li.event").first
    expect(newest).to_have_class(re.compile(r"\bevent-commented\b"))
    expect(newest).to_contain_text("Noor de Boer commented")
    expect(newest.locator(".event-note")).to_have_text(f"“{body}”")  # the comment, quoted
    assert last_comment(session, rma) == body

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page).to_have_url(f"{base_url}/board")
    me.console.assert_clean()


def test_a_change_from_slack_appears_on_an_open_board_without_a_reload(
    open_board, board: Board, session: Session, workflow: Workflow
):
    me = open_board(board.staff.customer_service)
    page = me.page
    rma = board.rmas["approved"][1]
    expect(page.locator(f"#cards-approved > #card-{rma}")).to_be_visible()
    page.evaluate("() => { window.__notReloaded = true; }")

    # as the Slack slash command would: the service layer, a person acting through Slack
    r = svc.move_return(
        session, workflow, Actor.person(board.staff.logistics, Channel.SLACK), rma, "in_transit", now=NOW
    )
    session.commit()

    moved = page.locator(f"#cards-in_transit > #card-{rma}")
    expect(moved).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(moved).to_have_attribute("data-version", str(r.version))
    expect(page.locator(f"#cards-approved > #card-{rma}")).to_have_count(0)
    expect(column_count(page, "approved")).to_have_text(str(PER_STAGE - 1))
    expect(column_count(page, "in_transit")).to_have_text(str(PER_STAGE + 1))
    assert page.evaluate("() => window.__notReloaded") is True
    me.console.assert_clean()


def test_a_move_by_someone_else_in_another_browser_appears_live(open_board, board: Board, session: Session):
    watcher = open_board(board.staff.customer_service)
    mover = open_board(board.staff.warehouse)
    rma = board.rmas["received"][1]
    expect(watcher.page.locator(f"#card-{rma}")).to_have_class(re.compile(r"\blocked\b"))
    watcher.page.evaluate("() => { window.__notReloaded = true; }")

    drag(mover.page, mover.page.locator(f"#card-{rma}"), mover.page.locator("#cards-inspected"))
    expect(mover.page.locator(f"#cards-inspected > #card-{rma}")).to_have_attribute("data-stage", "inspected")

    seen = watcher.page.locator(f"#cards-inspected > #card-{rma}")
    expect(seen).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    # rendered for the watcher: now customer service's return, so they get its Move menu
    expect(seen.locator("button[data-move-to=resolved]")).to_have_count(1)
    expect(seen).not_to_have_class(re.compile(r"\blocked\b"))
    expect(column_count(watcher.page, "received")).to_have_text(str(PER_STAGE - 1))
    expect(column_count(watcher.page, "inspected")).to_have_text(str(PER_STAGE + 1))
    assert watcher.page.evaluate("() => window.__notReloaded") is True
    assert stage_and_version(session, rma)[0] == "inspected"
    watcher.console.assert_clean()
    mover.console.assert_clean()


# --- the detail on a desktop and a phone ----------------------------------------------------------

# a SKU of the most characters the form and the CSV import take (64), without a space or a hyphen to break at
LONG_SKU = "WH1000XM5BLKEUPLUGNOISECANCELLINGOVEREARHEADPHONESLIMITEDED2024X"

# how far each part sticks out sideways (0: it fits)
OVERFLOW = """root => {
  const table = root.querySelector("table.items");
  const over = (el) => el.scrollWidth - el.clientWidth;
  return {
    table: table.scrollWidth - table.parentElement.clientWidth,
    sku: over(table.querySelector("td.sku")),
    detail: over(root.querySelector("#detail")),
    container: over(root),
    page: document.documentElement.scrollWidth - window.innerWidth,
  };
}"""
FITS = {"table": 0, "sku": 0, "detail": 0, "container": 0, "page": 0}


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_64_character_sku_wraps_inside_the_items_table(
    open_board, session: Session, workflow: Workflow, viewport: tuple[int, int]
):
    assert len(LONG_SKU) == 64
    staff = make_staff(session)
    item = ItemDraft(
        sku=LONG_SKU,
        product_name="Wireless noise-cancelling headphones",
        quantity=1,
        unit_price="379.00",
        reason_code="defective",
        reason_note="Left ear cup crackles at every volume",
    )
    r = make_return(
        session,
        workflow,
        now=NOW,
        customer_name="Maximiliane Wolkenstein-Oberhausen",
        customer_email="maximiliane.wolkenstein-oberhausen@example.com",
        items=[item],
    )
    session.commit()
    me = open_board(staff.customer_service, viewport=viewport)
    page = me.page

    page.locator(f"#card-{r.rma} a.rma").click()
    panel = page.locator("aside#panel")
    expect(panel.locator("article#detail")).to_have_attribute("data-rma", r.rma)
    sku = panel.locator("td.sku")
    expect(sku).to_have_text(LONG_SKU)
    assert panel.evaluate(OVERFLOW) == FITS
    sku_box, table_box = sku.bounding_box(), panel.locator("table.items").bounding_box()
    assert sku_box
    assert table_box
    assert sku_box["height"] > 30  # it wraps onto more lines, inside the table
    assert sku_box["x"] + sku_box["width"] <= table_box["x"] + table_box["width"]
    assert axe_violations(page) == []

    page.goto(f"/returns/{r.rma}")  # the page itself, as a link opens it
    expect(page.locator("article#detail td.sku")).to_have_text(LONG_SKU)
    assert page.locator("main").evaluate(OVERFLOW) == FITS
    assert axe_violations(page) == []
    me.console.assert_clean()


# --- the notifications admin page ----------------------------------------------------------------


def failed_outbox(session: Session, rma: str) -> None:
    """A notification of each kind the page lists: failed, dead, skipped and one put back in line; and a sent one."""

    def add(status: NotificationStatus, **fields: object) -> None:
        session.add(
            Notification(
                channel=str(fields.pop("channel", "email")),
                kind=str(fields.pop("kind", "handoff")),
                recipient=str(fields.pop("recipient", "logistics@shop.example")),
                payload={"rma": rma},
                status=status,
                created_at=NOW - timedelta(hours=3),
                **fields,
            )
        )

    add(NotificationStatus.SENT, attempts=1, next_attempt_at=NOW - timedelta(hours=3))
    add(
        NotificationStatus.PENDING,
        kind="customer_update",
        recipient="sanne@example.nl",
        attempts=3,
        last_error="cannot reach the SMTP server at mail.shop.example:587: Connection refused",
        next_attempt_at=NOW + timedelta(minutes=4),
    )
    add(NotificationStatus.DEAD, attempts=8, last_error="550 5.1.1 mailbox unavailable", next_attempt_at=NOW)
    add(
        NotificationStatus.SKIPPED,
        channel="slack",
        recipient="#returns-logistics",
        last_error="Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set",
        next_attempt_at=NOW,
    )
    add(NotificationStatus.PENDING, kind="mention", last_error="421 try again later", next_attempt_at=NOW)
    session.commit()


def test_the_notifications_page_passes_axe_empty_and_with_failed_rows_and_retries_all(
    open_board, session: Session, workflow: Workflow, base_url: str
):
    lead = make_user(session, team="logistics", role="lead", name="Lotte Smit", email="lotte@shop.example")
    r = make_return(session, workflow, now=NOW)  # its notifications wait for their first attempt
    session.commit()
    me = open_board(lead)
    page = me.page

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications").click()
    expect(page).to_have_url(f"{base_url}/admin/notifications")
    expect(page.locator(".outbox-empty")).to_have_text("Nothing has failed. 🎉")
    assert axe_violations(page) == []

    failed_outbox(session, r.rma)
    page.reload()
    states = page.locator("table.outbox td.state")
    expect(states).to_have_text(["pending", "skipped", "dead", "failed"])
    expect(page.locator(".status-counts .pill.count-zero")).to_have_text(["0 sending"])
    assert axe_violations(page) == []

    page.get_by_role("button", name="Retry all 3").click()

    expect(page.locator("#toasts")).to_contain_text("3 notifications are back in line")
    expect(states).to_have_text(["pending"] * 4)
    expect(page.get_by_role("button", name=re.compile("^Retry"))).to_have_count(0)
    assert axe_violations(page) == []
    me.console.assert_clean()


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_login_page_and_the_new_return_form_pass_axe(
    browser: Browser, open_board, session: Session, base_url: str, viewport: tuple[int, int]
):
    context = browser.new_context(base_url=base_url, viewport={"width": viewport[0], "height": viewport[1]})
    try:
        page = context.new_page()
        page.goto(f"{base_url}/login")
        expect(page.locator("#email")).to_be_visible()
        assert axe_violations(page) == [], "the login page"
    finally:
        context.close()
    agent = make_user(session, team="customer_service", name="Carla Service", email="carla@shop.example")
    session.commit()
    me = open_board(agent, viewport)
    me.page.goto(f"{base_url}/returns/new")
    expect(me.page.locator("form")).not_to_have_count(0)
    assert axe_violations(me.page) == [], "the new-return form"
    me.console.assert_clean()


# --- new arrivals, each column's order, the Move menu's keys and the skip links ------------------------------


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_return_handed_over_live_lands_on_top_of_a_full_column_marked_new(
    open_board, board: Board, session: Session, workflow: Workflow, runtime: Runtime, viewport: tuple[int, int]
):
    older = make_returns(session, workflow, 60, stage="approved", now=NOW - timedelta(days=2), prefix="RMA-9")
    session.commit()
    watcher = open_board(board.staff.logistics, viewport)
    page = watcher.page
    total = PER_STAGE + len(older)
    expect(page.locator("#cards-approved > li.card")).to_have_count(50)
    expect(page.locator("#cards-approved li.more")).to_be_visible()
    expect(page.locator("#cards-approved li.card.is-new")).to_have_count(0)  # a first visit: nothing is new yet

    # a minute later customer service hands a normal return over, from their own browser, by keyboard: in the
    # column's order (the newest normal one) it belongs beyond the 50 cards loaded
    runtime.clock = lambda: NOW + timedelta(minutes=1)
    rma = board.rmas["new"][2]
    mover = open_board(board.staff.customer_service)
    mover.page.locator(f"#card-{rma} .move-menu summary").focus()
    mover.page.keyboard.press("Enter")
    expect(mover.page.locator(f"#card-{rma} button[data-move-to=approved]")).to_be_focused()
    mover.page.keyboard.press("Enter")
    expect(mover.page.locator(f"#cards-approved > #card-{rma}")).to_have_attribute("data-stage", "approved")
    expect(mover.page.locator(f"#card-{rma}")).not_to_have_class(re.compile(r"\bis-new\b"))  # not new to its mover

    first = page.locator("#cards-approved > li.card").first
    expect(first).to_have_id(f"card-{rma}", timeout=LIVE_TIMEOUT_MS)
    expect(first).to_have_class(re.compile(r"\bis-new\b"))
    expect(first.locator(".new-badge")).to_have_text("New")
    expect(column_count(page, "approved")).to_have_text(str(total + 1))
    page.locator("#col-approved").scroll_into_view_if_needed()
    assert axe_violations(page) == []
    name = "desktop" if viewport[0] > 1000 else "phone"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"board-new-arrival-{name}.png"))

    # "show more" brings the rest, without the new card a second time
    page.locator("#cards-approved li.more button").click()
    expect(page.locator("#cards-approved > li.card")).to_have_count(total + 1)
    expect(page.locator(f"#card-{rma}")).to_have_count(1)
    expect(page.locator("#cards-approved > li.card").first).to_have_id(f"card-{rma}")

    # seen once the user reaches it: the mark goes, the card stays where it is
    page.locator(f"#card-{rma} a.rma").focus()
    expect(first).not_to_have_class(re.compile(r"\bis-new\b"))
    expect(first.locator(".new-badge")).to_have_count(0)
    expect(page.locator("#cards-approved > li.card").first).to_have_id(f"card-{rma}")
    watcher.console.assert_clean()
    mover.console.assert_clean()


def test_the_move_menu_follows_the_menu_button_keys(open_board, board: Board, session: Session):
    me = open_board(board.staff.lead)
    page = me.page
    rma = board.rmas["new"][1]
    card = page.locator(f"#cards-new > #card-{rma}")
    summary = card.locator(".move-menu summary")
    menu = card.locator("details.move-menu")
    approved, rejected = card.locator("[data-move-to=approved]"), card.locator("[data-move-to=rejected]")
    expect(card.locator("[role=menuitem]")).to_have_count(2)
    expect(summary).to_have_attribute("aria-haspopup", "menu")

    summary.focus()
    page.keyboard.press("ArrowDown")  # opens on the first item
    expect(menu).to_have_attribute("open", "")
    expect(approved).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(rejected).to_be_focused()
    page.keyboard.press("ArrowDown")  # round to the first again
    expect(approved).to_be_focused()
    page.keyboard.press("ArrowUp")  # and back round to the last
    expect(rejected).to_be_focused()
    page.keyboard.press("Home")
    expect(approved).to_be_focused()
    page.keyboard.press("End")
    expect(rejected).to_be_focused()
    page.keyboard.press("a")  # a letter: the next stage whose name starts with it
    expect(approved).to_be_focused()
    page.keyboard.press("Escape")  # closes, back on the button
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()

    page.keyboard.press("ArrowUp")  # opens on the last item
    expect(rejected).to_be_focused()
    page.keyboard.press("Tab")  # closes, and the focus goes on past the menu
    expect(menu).not_to_have_attribute("open", "")
    assert page.evaluate(f"() => !document.getElementById('card-{rma}').contains(document.activeElement)")

    summary.focus()
    page.keyboard.press(" ")  # Space opens it on the first item too (and does not shut it again)
    expect(approved).to_be_focused()
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    # the items are not Tab stops of their own: a closed menu is one stop
    assert card.locator("[role=menuitem]").evaluate_all("items => items.map(i => i.tabIndex)") == [-1, -1]
    assert stage_and_version(session, rma)[0] == "new"
    assert axe_violations(page) == []
    me.console.assert_clean()


def test_skip_links_lead_to_the_users_own_team_first_and_to_the_filters(open_board, board: Board, base_url: str):
    me = open_board(board.staff.warehouse)
    page = me.page
    page.keyboard.press("Tab")
    first = page.locator("#skip-links a").first
    expect(first).to_be_focused()
    expect(first).to_have_text("Skip to Warehouse: Received — to inspect")
    box = first.bounding_box()
    assert box is not None
    assert box["x"] >= 0  # shown once focused (out of sight before)
    assert box["y"] >= 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-skip-link.png"), clip={"x": 0, "y": 0, "width": 900, "height": 300})
    expect(page.locator("#skip-links a")).to_have_text(
        [
            "Skip to Warehouse: Received — to inspect",
            "Skip to search and filters",
            "Skip to Customer service: New request",
            "Skip to Logistics: Approved — label / pickup, In transit",
            "Skip to Customer service: Inspected — to resolve",
            "Skip to Closed: Resolved, Rejected",
        ]
    )

    page.keyboard.press("Enter")
    expect(page.locator("#group-received")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the user's own column: its order
    expect(page.locator("#sort-received")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator(f"#card-{board.rmas['received'][0]} a.rma, #cards-received a.rma").first).to_be_focused()

    # and the filters are two Tabs away from the top of the page
    page.goto(f"{base_url}/board")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("#skip-links a").nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#q")).to_be_focused()
    me.console.assert_clean()


def test_a_column_is_sorted_from_its_header_and_the_order_is_in_the_address(open_board, board: Board, base_url: str):
    me = open_board(board.staff.logistics)
    page = me.page
    oldest_first = list(board.rmas["approved"])  # seeded oldest first, all of normal priority
    cards = page.locator("#cards-approved > li.card")
    page.locator("#sort-approved").focus()
    page.locator("#sort-approved").select_option("newest")
    expect(page).to_have_url(f"{base_url}/board?sort.approved=newest")
    expect(page.locator("#cards-approved")).to_have_attribute("data-sort", "newest")
    expect(cards.first).to_have_id(f"card-{oldest_first[-1]}")
    expect(page.locator("#sort-approved")).to_be_focused()  # the swap keeps the keyboard where it was
    page.locator("#sort-approved").select_option("age")
    expect(page).to_have_url(f"{base_url}/board?sort.approved=age")
    expect(cards.first).to_have_id(f"card-{oldest_first[0]}")
    # a filter keeps the order, and a reload (or the link, shared) shows it again
    page.locator("#f-team").select_option("logistics")
    expect(page).to_have_url(re.compile(r"team=logistics"))
    assert "sort.approved=age" in page.url
    page.reload()
    expect(page.locator("#sort-approved")).to_have_value("age")
    expect(cards.first).to_have_id(f"card-{oldest_first[0]}")
    assert axe_violations(page) == []
    me.console.assert_clean()


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["1440", "390"])
def test_search_finds_a_return_closed_long_ago_typed_without_its_accent(
    open_board, board: Board, session: Session, workflow: Workflow, viewport
):
    old = make_return(
        session,
        workflow,
        stage="resolved",
        now=NOW - timedelta(days=60),
        customer_name="Jürgen Müller",
        tracking_number="JJD014600006161931",
        carrier="DHL",
    )
    session.commit()
    me = open_board(board.staff.customer_service, viewport=viewport)
    page = me.page
    expect(page.locator(f"#card-{old.rma}")).to_have_count(0)  # closed too long ago for the board itself
    page.locator("#q").press_sequentially("muller", delay=20)
    expect(page).to_have_url(re.compile(r"/board\?(.*&)?q=muller(&|$)"))
    expect(page.locator("li.card")).to_have_count(1)
    expect(page.locator(f"#cards-resolved > #card-{old.rma}")).to_contain_text("Jürgen Müller")
    expect(page.locator("#head-resolved .column-sla")).to_have_text("Every match, newest first")
    # the match may be in a column out of sight: the summary says where, and takes the user there
    expect(page.locator(".search-summary")).to_have_text("1 found, open or closed, for “muller”: Resolved (1)")
    page.locator(".search-summary a").click()
    expect(page.locator(f"#card-{old.rma}")).to_be_in_viewport()
    assert axe_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"board-search-closed-{viewport[0]}.png"))

    page.locator("#q").fill("JJD014600006161931")  # a parcel's barcode, scanned
    expect(page.locator("li.card")).to_have_count(1)
    expect(page.locator(f"#card-{old.rma}")).to_be_visible()

    page.locator("#q").fill("mu")
    expect(page.locator(".search-problem")).to_have_text(
        "Type at least 3 letters or digits to search: “mu” is too short."
    )
    expect(page.locator(f"#card-{old.rma}")).to_have_count(0)
    assert axe_violations(page) == []
    page.screenshot(path=str(ARTIFACTS / f"board-search-too-short-{viewport[0]}.png"))
    page.locator("#q").fill("")
    expect(page.locator(".search-problem")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / f"board-search-empty-{viewport[0]}.png"))
    me.console.assert_clean()


def test_a_new_return_error_the_browser_let_through_is_shown_next_to_its_field(
    open_board, session: Session, base_url: str
):
    agent = make_user(session, team="customer_service", name="Carla Service", email="carla@shop.example")
    session.commit()
    me = open_board(agent, (1440, 900))
    page = me.page
    page.goto(f"{base_url}/returns/new")
    note = page.locator("#items-0-reason_note")
    expect(note).to_have_attribute("maxlength", "2000")
    page.fill("#f-order_number", "ORD-1")
    page.fill("#f-customer_name", "Eva Jansen")
    page.fill("#f-customer_email", "eva@example.nl")
    page.fill("#items-0-sku", "JEANS-32")
    page.fill("#items-0-product_name", "Jeans")
    page.fill("#items-0-unit_price", "59.95")
    page.select_option("#items-0-reason_code", "too_large")
    note.evaluate("el => { el.value = 'x'.repeat(2001); }")  # past maxlength, as a script or an old browser can
    page.get_by_role("button", name="Create return").click()

    error = page.locator("#item-0 .field-error")
    expect(error).to_have_text("The customer's words is 2001 characters long; at most 2000 fit.")
    expect(error).to_be_visible()
    expect(page.locator(".notice-error")).to_have_text("Please correct the 1 field marked below; nothing was saved.")
    assert axe_violations(page) == [], "the new-return form with an error"
    refused = re.compile(r"(status of 422 .*|Response Status Error Code 422 from )/returns/new")
    assert [e for e in me.console.errors if not refused.search(e)] == []
    assert me.console.csp_violations() == []
