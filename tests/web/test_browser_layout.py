"""Staff pages in a real browser at a desktop's and a phone's size: the top bar fits a 390 px phone, the detail
panel stays inside the screen, the full-page detail offers its actions before the timeline (beside it when
there is room), and the error pages and the settings page pass axe-core. Screenshots go to artifacts/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from hub.returns import services as svc
from hub.returns.models import Channel
from hub.returns.permissions import Actor
from hub.workflow import Workflow
from tests.factories import NOW, make_return
from tests.web import test_browser
from tests.web.browser_support import ARTIFACTS, CHROMIUM, Staff, axe_violations, in_ci, make_staff

# the browser, the server and logging in: the fixtures of the board's browser tests
browser, live_server, base_url, open_board = (
    test_browser.browser,
    test_browser.live_server,
    test_browser.base_url,
    test_browser.open_board,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not in_ci(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests",
    ),
]

SIZES = [(1440, 900), (390, 844)]
SIZE_IDS = ["desktop", "phone"]

# what sticks out of the window to the right: the page's own width against the window's, and any element past it
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [...document.querySelectorAll('body *')]
    .filter((el) => el.getClientRects().length && el.getBoundingClientRect().right > width + 0.5)
    .filter((el) => !el.closest('.board-scroll, .columns, table.outbox, .visually-hidden, .skip-links'))
    .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : ''));
  return {scrollWidth: document.scrollingElement.scrollWidth, width, out: out.slice(0, 5)};
}"""


@dataclass
class Desk:
    """The staff, and a few returns in the first stage and at the warehouse, with some history."""

    staff: Staff
    new: list[str]
    received: list[str]


@pytest.fixture
def desk(session: Session, workflow: Workflow) -> Desk:
    staff = make_staff(session)
    new = [make_return(session, workflow, now=NOW - timedelta(hours=h)).rma for h in (30, 5, 1)]
    received = []
    for h in (50, 3):
        r = make_return(session, workflow, stage="received", now=NOW - timedelta(hours=h), customer_name="Lucas Meyer")
        svc.add_comment(
            session, workflow, Actor.person(staff.lead, Channel.WEB), r.rma, "Customer called twice.", now=NOW
        )
        received.append(r.rma)
    session.commit()
    return Desk(staff, new, received)


def shot(page: Page, name: str, size: tuple[int, int], *, full_page: bool = False) -> None:
    """A screenshot in artifacts/, named for the page and the window size."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{size[0]}x{size[1]}.png"), full_page=full_page)


def assert_fits(page: Page, where: str) -> None:
    """Nothing on the page reaches past the window's right edge: no sideways scrolling."""
    fit = page.evaluate(OVERFLOW)
    assert fit["scrollWidth"] <= fit["width"], f"{where}: the page scrolls sideways: {fit}"
    assert fit["out"] == [], f"{where}: elements past the right edge: {fit}"


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_top_bar_fits_the_window_on_every_staff_page(open_board, desk: Desk, size: tuple[int, int]):
    me = open_board(desk.staff.lead, size)
    page = me.page
    topbar = page.locator("header.topbar")
    shot(page, "board-topbar", size)
    for path in ["/board", f"/returns/{desk.received[0]}", "/account", "/admin/notifications"]:
        page.goto(path)
        expect(topbar).to_be_visible()
        assert_fits(page, path)
        box = topbar.bounding_box()
        assert box
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= size[0]
        for link in ["Board", "New return", "Notifications", "Your settings"]:
            target = topbar.get_by_role("link", name=link)
            expect(target).to_be_visible()
            inner = target.bounding_box()
            assert inner
            assert inner["x"] >= 0
            assert inner["x"] + inner["width"] <= size[0], f"{link} is cut off on {path}"
        logout = topbar.get_by_role("button", name="Log out")
        expect(logout).to_be_visible()
        out = logout.bounding_box()
        assert out
        assert out["x"] + out["width"] <= size[0]
    me.console.assert_clean()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_detail_panel_stays_inside_the_window(open_board, desk: Desk, size: tuple[int, int]):
    me = open_board(desk.staff.warehouse, size)
    page = me.page
    rma = desk.received[0]
    page.locator(f"#card-{rma} a.rma").click()
    panel = page.locator("aside#panel")
    expect(panel.locator("article#detail")).to_have_attribute("data-rma", rma)
    for part in ["aside#panel", "article#detail", "article#detail .detail-head", "article#detail .detail-actions"]:
        box = page.locator(part).bounding_box()
        assert box, part
        assert box["x"] >= 0, f"{part} starts left of the window: {box}"
        assert box["x"] + box["width"] <= size[0], f"{part} is clipped on the right: {box}"
    close = panel.get_by_role("link", name="Close")
    expect(close).to_be_in_viewport()
    assert panel.evaluate("p => p.scrollWidth <= p.clientWidth"), "the panel scrolls sideways"
    shot(page, "detail-panel", size)
    assert axe_violations(page) == []
    me.console.assert_clean()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_full_page_detail_offers_the_actions_before_the_timeline(open_board, desk: Desk, size):
    me = open_board(desk.staff.warehouse, size)
    page = me.page
    page.goto(f"/returns/{desk.received[0]}")
    order = page.evaluate("""() => [...document.querySelectorAll('#detail h2')].map((h) => h.textContent.trim())""")
    assert order.index("Move") < order.index("Owner") < order.index("Comments") < order.index("Timeline"), order
    actions = page.locator(".detail-actions").bounding_box()
    timeline = page.locator("ol.timeline").bounding_box()
    move = page.get_by_role("heading", name="Move").bounding_box()
    assert actions
    assert timeline
    assert move
    if size[0] >= 1000:  # beside the history, starting at the top
        assert actions["x"] >= timeline["x"] + timeline["width"]
        assert move["y"] < size[1]
    else:  # one column: the actions before the history
        assert actions["y"] + actions["height"] <= timeline["y"]
    assert_fits(page, "the detail page")
    shot(page, "detail-page", size, full_page=True)
    assert axe_violations(page) == []
    me.console.assert_clean()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_settings_page_passes_axe_and_saves_a_zone(open_board, desk: Desk, size: tuple[int, int]):
    me = open_board(desk.staff.customer_service, size)
    page = me.page
    page.get_by_role("link", name="Your settings").click()
    expect(page.get_by_role("heading", name="Your settings")).to_be_visible()
    assert_fits(page, "the settings page")
    shot(page, "settings", size)
    assert axe_violations(page) == []
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#toasts")).to_contain_text("Saved: times are shown in America/New_York.")
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    assert axe_violations(page) == []
    me.console.assert_clean()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_settings_page_lists_the_logins_and_logs_out_everywhere_by_keyboard(
    open_board, desk: Desk, size: tuple[int, int]
):
    laptop = open_board(desk.staff.customer_service, size)
    phone = open_board(desk.staff.customer_service, size)  # a second browser: a login of its own
    page = laptop.page
    page.goto("/account")
    logins = page.locator("#logins li")
    expect(logins).to_have_count(2)
    expect(logins.filter(has_text="(this browser)")).to_have_count(1)
    expect(logins.first).to_contain_text("Chrome on Linux")
    assert_fits(page, "the settings page with its logins")
    shot(page, "settings-logins", size, full_page=True)
    assert axe_violations(page) == []

    button = page.get_by_role("button", name="Log out everywhere")
    button.focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#toasts")).to_contain_text("You are logged out everywhere")
    assert axe_violations(page) == []
    phone.page.goto("/board")
    expect(phone.page).to_have_url(re.compile(r"/login\?next=%2Fboard$"))
    laptop.console.assert_clean()
    phone.console.assert_clean(logged_out=True)  # its board may have polled for changes after the logout


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_staff_error_pages_pass_axe(open_board, desk: Desk, size: tuple[int, int]):
    me = open_board(desk.staff.customer_service, size)
    page = me.page
    rma = desk.new[0]
    pages = {
        404: "/returns/RMA-404",
        403: "/admin/notifications",  # a member, not a lead
        400: "/returns/new/item?i=many",
    }
    for status, path in pages.items():
        resp = page.goto(path)
        assert resp
        assert resp.status == status, path
        expect(page.locator("h1")).to_have_count(1)
        assert_fits(page, path)
        assert axe_violations(page) == [], f"the {status} page"
        if status == 404:
            shot(page, "error-404", size)
    # a refusal without htmx answers with the return's page and its status: a conflict (409), a missing reason (422)
    page.goto(f"/returns/{rma}")
    for status, action, fields in [
        (409, "move", {"to_stage": "approved", "version": "0"}),
        (422, "flag", {"reason": ""}),
    ]:
        with page.expect_navigation() as nav:
            submit(page, f"/returns/{rma}/{action}", fields)
        resp = nav.value
        assert resp
        assert resp.status == status, action
        expect(page.locator("#detail .notice")).to_be_visible()
        assert_fits(page, f"the {status} page")
        assert axe_violations(page) == [], f"the {status} page"
        if status == 409:
            shot(page, "error-409", size)
    # the browser logs each answer's status; nothing else may show up in the console
    statuses = [re.search(r"status of (\d+)", e) for e in me.console.errors]
    assert [int(m.group(1)) if m else e for m, e in zip(statuses, me.console.errors, strict=True)] == [
        404,
        403,
        400,
        409,
        422,
    ]
    assert me.console.csp_violations() == []


def submit(page: Page, action: str, fields: dict[str, str]) -> None:
    """Post a plain form (no htmx) as a browser without scripts would, with the page's CSRF token."""
    page.evaluate(
        """([action, fields]) => {
          const form = document.createElement('form');
          form.method = 'post';
          form.action = action;
          const token = document.querySelector('input[name=csrf_token]').value;
          for (const [name, value] of Object.entries({...fields, csrf_token: token})) {
            const input = document.createElement('input');
            input.type = 'hidden';
            input.name = name;
            input.value = value;
            form.append(input);
          }
          document.body.append(form);
          form.submit();
        }""",
        [action, fields],
    )
