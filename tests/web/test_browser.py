"""The board in a real browser: headless Chromium through Playwright, against the app served over HTTP.

Drag and drop, refused moves, the keyboard move menu, filters, the detail panel, the live feed, a clean
console (no CSP violations) and a screenshot of a realistic board in artifacts/board.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.core.runtime import Runtime
from hub.returns import services as svc
from hub.returns.models import Channel, Event
from hub.returns.permissions import Actor
from hub.returns.queries import load_for_detail
from hub.workflow import Workflow
from tests.factories import NOW
from tests.web.browser_support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    Board,
    ConsoleWatch,
    LiveServer,
    column_count,
    drag,
    in_ci,
    log_in,
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

    def _open(user: User) -> Person:
        context = browser.new_context(base_url=base_url, viewport={"width": 1920, "height": 1080})
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


def test_dragging_another_teams_return_snaps_back_with_the_reason(open_board, board: Board, session: Session):
    me = open_board(board.staff.warehouse)
    page = me.page
    rma = board.rmas["new"][2]
    before, events = stage_and_version(session, rma), event_count(session)
    expect(page.locator(f"#card-{rma}")).to_have_class(re.compile(r"\blocked\b"))
    expect(page.locator(f"#card-{rma} .lock")).to_have_text("Customer service only")

    drag(page, page.locator(f"#card-{rma}"), page.locator("#cards-approved"))

    toast = page.locator("#toasts .toast-error")
    expect(toast).to_contain_text(f"cannot move {rma}: “New request” belongs to Customer service")
    expect(page.locator(f"#cards-new > #card-{rma}")).to_have_attribute("data-stage", "new")
    expect(page.locator(f"#cards-approved > #card-{rma}")).to_have_count(0)
    expect(page.locator(f"#card-{rma}")).to_have_count(1)
    expect(column_count(page, "new")).to_have_text(str(PER_STAGE))
    expect(column_count(page, "approved")).to_have_text(str(PER_STAGE))
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


def test_a_drag_to_resolved_asks_for_the_resolution_in_the_details(open_board, board: Board, session: Session):
    me = open_board(board.staff.customer_service)
    page = me.page
    rma = board.rmas["inspected"][2]
    before = stage_and_version(session, rma)

    drag(page, page.locator(f"#card-{rma}"), page.locator("#cards-resolved"))

    # nothing is posted without a resolution: the card goes back and the details open on the Move form
    expect(page.locator("#toasts .toast-info")).to_contain_text(
        "Moving to “Resolved” needs how it was resolved: use Move in the details."
    )
    expect(page.locator(f"#cards-inspected > #card-{rma}")).to_have_attribute("data-stage", "inspected")
    detail = page.locator("aside#panel article#detail")
    expect(detail).to_have_attribute("data-rma", rma)
    assert stage_and_version(session, rma) == before

    detail.locator("select#to_stage").select_option("resolved")
    detail.locator("select#resolution").select_option("exchange")
    detail.locator("button[type=submit]", has_text="Move").click()
    detail = page.locator("aside#panel article#detail")
    expect(detail.locator(".notice")).to_have_text(f"{rma} moved to “Resolved”.")
    expect(detail.locator(".stage-chip")).to_have_text("Resolved")
    expect(detail.locator(".pill.resolved")).to_have_text("Exchange")
    # the board behind the panel follows through the live feed
    expect(page.locator(f"#cards-resolved > #card-{rma}")).to_be_attached(timeout=LIVE_TIMEOUT_MS)
    expect(column_count(page, "resolved")).to_have_text(str(PER_STAGE + 1))
    assert stage_and_version(session, rma)[0] == "resolved"
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

    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
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
    page.keyboard.press("Tab")
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
