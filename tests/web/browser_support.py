"""Helpers for the browser tests: a real HTTP server, a realistic board, logging in, dragging, console watching."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Error, Locator, Page, expect
from sqlalchemy.orm import Session
from waitress.server import create_server

from hub.accounts.models import Role, User
from hub.returns import services as svc
from hub.returns.drafts import ItemDraft
from hub.returns.models import Channel, Priority
from hub.returns.permissions import Actor
from hub.workflow import Workflow
from tests.factories import PASSWORD, make_return, make_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
# axe-core from the npm registry (npm pack axe-core@4.14.1), vendored: tests fetch nothing at run time
AXE_SCRIPT = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"
ARTIFACTS = REPO_ROOT / "artifacts"


def in_ci() -> bool:
    """Whether the CI environment variable is set (then a missing browser is a failure, not a skip)."""
    return bool(os.environ.get("CI"))


# --- the app over real HTTP ------------------------------------------------------------------


class LiveServer:
    """A waitress server on 127.0.0.1 in a background thread, serving whichever WSGI app is `current`.

    One server lives for the whole module; each test points it at its own app (built on the test's
    freshly cleaned database), so no test sees another's server state.
    """

    def __init__(self) -> None:
        self.current: Callable[..., Any] | None = None
        self._server = create_server(self._dispatch, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, name="browser-test-server", daemon=True)

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        app = self.current
        if app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app is being tested right now"]
        return app(environ, start_response)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.current = None
        self._server.close()
        # the loop ends once the browser's keep-alive connections have gone (the browser closes first)
        for channel in list(self._server._map.values()):
            channel.close()
        self._server.task_dispatcher.shutdown(timeout=5)
        self._thread.join(timeout=5)


# --- a realistic board ------------------------------------------------------------------------

CUSTOMERS = [
    "Sanne de Vries",
    "Chidi Okafor",
    "Marta Kowalska",
    "Lucas Meyer",
    "Inès Dubois",
    "Jan Bakker",
    "Aisha Rahman",
    "Pieter Janssen",
    "Sofia Rossi",
    "Tom Hendriks",
    "Emma Lindqvist",
    "Yusuf Demir",
    "Lena Schmidt",
    "Noah Peeters",
    "Olivia Brown",
    "Mehmet Yılmaz",
    "Eva Mulder",
    "Ruben Vos",
    "Fleur van Dijk",
    "Kenji Tanaka",
    "Hannah Weber",
    "Bram de Graaf",
    "Julia Nowak",
    "Milan Smits",
    "Zoë Willems",
    "Arjun Patel",
    "Clara Fischer",
    "Daan Kuipers",
    "Amira Haddad",
    "Lars Andersen",
    "Isabel Costa",
    "Finn O'Brien",
    "Mila Horvat",
    "Jesse Koster",
    "Sara Lindgren",
    "Thijs van Leeuwen",
]
PRODUCTS = [
    ("TSHIRT-BLU-M", "T-shirt blue M", "19.95", "too_small"),
    ("JEANS-SLIM-32", "Slim jeans 32/32", "79.00", "too_large"),
    ("SNEAK-WHT-42", "White sneakers 42", "99.95", "damaged"),
    ("KETTLE-STL", "Steel kettle 1.7 l", "49.50", "defective"),
    ("LAMP-DESK-BLK", "Desk lamp black", "39.99", "wrong_item"),
    ("DRESS-RED-S", "Summer dress red S", "59.95", "not_as_described"),
    ("BAG-LEATHER-BRN", "Leather bag brown", "129.00", "changed_mind"),
    ("HEADPH-BT-200", "Bluetooth headphones", "89.00", "missing_parts"),
]
# where each stage is reached from "new", and how long ago each of a column's returns entered it
PATHS = {
    "new": [],
    "approved": ["approved"],
    "in_transit": ["approved", "in_transit"],
    "received": ["approved", "in_transit", "received"],
    "inspected": ["approved", "in_transit", "received", "inspected"],
    "resolved": ["approved", "in_transit", "received", "inspected", "resolved"],
    "rejected": ["rejected"],
}
ENTERED_HOURS_AGO = [150, 20, 6, 3, 1]  # the first is overdue in every stage, the next ones due soon or on time
RESOLUTIONS = ["refund", "exchange", "store_credit"]


@dataclass
class Staff:
    """The people the browser tests log in as."""

    customer_service: User
    logistics: User
    warehouse: User
    lead: User


@dataclass
class Board:
    """A seeded board: the RMAs in each stage (oldest first) and the staff."""

    staff: Staff
    rmas: dict[str, list[str]] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)  # RMA -> customer name

    def count(self, stage: str) -> int:
        return len(self.rmas.get(stage, []))


def make_staff(session: Session) -> Staff:
    """One member of each team and a lead, all with tests.factories.PASSWORD."""
    return Staff(
        customer_service=make_user(session, team="customer_service", name="Femke Jansen", email="femke@shop.example"),
        logistics=make_user(session, team="logistics", name="Daan Visser", email="daan@shop.example"),
        warehouse=make_user(session, team="warehouse", name="Noor de Boer", email="noor@shop.example"),
        lead=make_user(session, team="customer_service", role=Role.LEAD, name="Lotte Smit", email="lotte@shop.example"),
    )


def seed_board(session: Session, workflow: Workflow, now: datetime, *, per_stage: int = 4) -> Board:
    """Returns in every stage, walked there through the services, with a realistic mix of clocks,
    priorities, owners, a blocked return and comments; committed."""
    staff = make_staff(session)
    owner_of = {"customer_service": staff.customer_service, "logistics": staff.logistics, "warehouse": staff.warehouse}
    system = Actor.system("Shopify import", Channel.API)
    board = Board(staff)
    n = 0
    for stage_key, path in PATHS.items():
        board.rmas[stage_key] = []
        for j in range(per_stage):
            entered = now - timedelta(hours=ENTERED_HOURS_AGO[j % len(ENTERED_HOURS_AGO)])
            start = entered - timedelta(hours=26 * len(path))
            sku, product, price, reason = PRODUCTS[n % len(PRODUCTS)]
            items = [ItemDraft(sku=sku, product_name=product, quantity=1, unit_price=price, reason_code=reason)]
            if n % 5 == 2:
                extra = PRODUCTS[(n + 3) % len(PRODUCTS)]
                items.append(
                    ItemDraft(
                        sku=extra[0], product_name=extra[1], quantity=2, unit_price=extra[2], reason_code=extra[3]
                    )
                )
            customer = CUSTOMERS[n % len(CUSTOMERS)]
            r = make_return(
                session,
                workflow,
                now=start,
                actor=system,
                customer_name=customer,
                customer_email=f"{customer.split()[0].lower()}{n}@example.com",
                order_number=f"ORD-{240100 + n}",
                delivered_on=(start - timedelta(days=3)).date(),
                items=items,
                priority=Priority.URGENT.value if n % 9 == 4 else Priority.HIGH.value if n % 7 == 3 else 1,
            )
            for k, step in enumerate(path):
                at = start + timedelta(hours=26 * (k + 1)) if k < len(path) - 1 else entered
                stage = workflow.stage(step)
                mover = owner_of.get(workflow.stage(r.stage).team or "", staff.lead)
                svc.move_return(
                    session,
                    workflow,
                    Actor.person(mover, Channel.WEB),
                    r.rma,
                    step,
                    now=at,
                    resolution=RESOLUTIONS[n % len(RESOLUTIONS)] if stage.requires_resolution else None,
                    note="Outside the 30-day return window." if stage.requires_note else None,
                    rejection_reason="outside_window" if stage.requires_rejection_reason else None,
                )
            team = workflow.stage(r.stage).team
            if team and j == 1:
                owner = owner_of[team]
                svc.assign_return(session, workflow, Actor.person(owner, Channel.WEB), r.rma, owner, now=entered)
            if stage_key == "received" and j == 2:
                svc.flag_return(
                    session,
                    workflow,
                    Actor.person(staff.warehouse, Channel.WEB),
                    r.rma,
                    "Waiting for photos from the customer",
                    now=entered,
                )
            if j == 0:
                svc.add_comment(
                    session,
                    workflow,
                    Actor.person(staff.lead, Channel.WEB),
                    r.rma,
                    "Customer called twice about this one; please keep it moving.",
                    now=entered,
                )
            board.rmas[stage_key].append(r.rma)
            board.customers[r.rma] = customer
            n += 1
    session.commit()
    return board


# --- the browser -----------------------------------------------------------------------------


def log_in(page: Page, base_url: str, user: User, password: str = PASSWORD) -> None:
    """Log in through the login form and land on the board."""
    page.goto(f"{base_url}/login")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(password)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(f"{base_url}/board")
    expect(page.locator("#board")).to_be_visible()
    wait_for_board_scripts(page)


def wait_for_board_scripts(page: Page) -> None:
    """Wait until htmx, SortableJS and board.js are up (the scripts are deferred)."""
    page.wait_for_function("() => window.htmx && window.Sortable && document.querySelector('ol.cards[data-sortable]')")


def drag(page: Page, source: Locator, target: Locator) -> None:
    """Drag the card `source` onto the list `target` with a real mouse: press, move in steps, release.

    SortableJS ignores drag-overs for a moment after each reorder, so the pointer lingers (moving a pixel
    at a time) until the dragged card sits in the target list, as a person's hand would."""
    source.scroll_into_view_if_needed()
    grip = source.locator("p.customer")  # not the RMA link or the Move menu: SortableJS filters those out
    src = grip.bounding_box()
    assert src, "the card to drag is not visible"
    x0, y0 = src["x"] + src["width"] / 2, src["y"] + src["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 12, y0 + 12, steps=4)  # past SortableJS's start threshold
    dst = target.bounding_box()
    assert dst, "the drop target is not visible"
    x1, y1 = dst["x"] + dst["width"] / 2, dst["y"] + min(dst["height"] - 4, max(24, dst["height"] / 2))
    page.mouse.move(x1, y1, steps=15)
    for i in range(60):
        if target.evaluate("list => !!list.querySelector('li.card-ghost')"):
            break
        page.mouse.move(x1 + (1 if i % 2 else -1), y1 + i % 3)
    page.mouse.up()


def column_count(page: Page, stage: str) -> Locator:
    """The count in a column's header."""
    return page.locator(f"#head-{stage} span.count")


@dataclass
class ConsoleWatch:
    """Console errors, uncaught page errors and Content-Security-Policy violations of one page."""

    errors: list[str] = field(default_factory=list)

    CSP_HOOK = """
      window.__cspViolations = [];
      document.addEventListener("securitypolicyviolation", (e) => {
        window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                                    " at " + (e.sourceFile || "?") + ":" + e.lineNumber);
      });
    """

    def attach(self, page: Page) -> ConsoleWatch:
        page.add_init_script(self.CSP_HOOK)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self._page = page
        return self

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            self.errors.append(f"console: {msg.text} ({loc.get('url', '?')})")

    def csp_violations(self) -> list[str]:
        try:
            return list(self._page.evaluate("() => window.__cspViolations || []"))
        except Error:  # the page is gone
            return []

    def assert_clean(self, refused_moves: Iterable[int] = (), *, logged_out: bool = False) -> None:
        """No console error and no CSP violation, except the logs of a move the server refused on purpose
        with one of the `refused_moves` statuses: Chromium's failed-resource line and htmx's own; and, for a
        board whose login was ended elsewhere (`logged_out`), the live feed's 401 that sends it to the login."""
        expected = [
            re.compile(rf"Failed to load resource: the server responded with a status of {code} .*/returns/[^/]+/move")
            for code in refused_moves
        ] + [re.compile(rf"Response Status Error Code {code} from /returns/[^/]+/move") for code in refused_moves]
        if logged_out:
            expected.append(
                re.compile(r"Failed to load resource: the server responded with a status of 401 .*/board/changes\?")
            )
        unexpected = [e for e in self.errors if not any(p.search(e) for p in expected)]
        violations = self.csp_violations()
        assert not violations, f"Content-Security-Policy violations: {violations}"
        assert not unexpected, "errors in the browser console:\n" + "\n".join(unexpected)


def axe_violations(page: Page) -> list[str]:
    """What axe-core (every rule it runs by default: WCAG and best practices) finds wrong on the page, one line each."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # through the DevTools protocol, so the page's Content-Security-Policy (script-src 'self') does not apply
        page.evaluate(AXE_SCRIPT.read_text("utf-8"))
    violations = page.evaluate("axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in violations]
