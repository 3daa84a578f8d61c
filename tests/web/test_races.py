"""Many requests at once against a real threaded HTTP server, each with its own connection and transaction:
the login limit holds exactly, and new returns with generated RMAs are all created, numbered apart."""

from __future__ import annotations

import errno
import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from waitress.server import create_server

from hub.accounts.login_limits import MAX_FAILURES_PER_EMAIL
from hub.accounts.models import LoginAttempt
from hub.returns.models import Return
from tests.factories import PASSWORD, make_user
from tests.web.support import CSRF_RE

pytestmark = pytest.mark.usefixtures("frozen_clock")


class Server:
    """The app behind waitress on 127.0.0.1, with as many threads as the test sends requests at once."""

    def __init__(self, app, threads: int) -> None:
        self._server = create_server(app, host="127.0.0.1", port=0, threads=threads)
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="race-test-server", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError as exc:
            # the loop may be inside select() on the socket stop() just closed (EBADF): only then is it expected
            if not (self._stopping and exc.errno == errno.EBADF):
                raise

    def stop(self) -> None:
        self._stopping = True
        self._server.close()
        self._server.task_dispatcher.shutdown(timeout=5)
        self._thread.join(timeout=5)


class Browser:
    """One visitor: its own cookies, no redirects followed (a 302 is an answer to look at)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args, **_kwargs):
            return None

    def __init__(self, base: str) -> None:
        self.base = base
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect()
        )

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self._opener.open(self.base + path, data=data, timeout=60) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def token(self, path: str) -> str:
        status, html = self.request(path)
        assert status == 200, html
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1)


@pytest.fixture
def serve(app) -> Iterator[Callable[[int], Server]]:
    servers: list[Server] = []

    def start(threads: int) -> Server:
        servers.append(Server(app, threads))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def _all_at_once(calls: list[Callable[[], tuple[int, str]]]) -> list[tuple[int, str]]:
    """Run each call in its own thread, released together; their answers in the calls' order."""
    start = threading.Barrier(len(calls))
    answers: list[tuple[int, str] | None] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait(timeout=30)
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(a is not None for a in answers), "a request did not finish"
    return [a for a in answers if a is not None]


def _login_form(browser: Browser, email: str, password: str) -> Callable[[], tuple[int, str]]:
    form = {"email": email, "password": password, "csrf_token": browser.token("/login")}
    return lambda: browser.request("/login", form)


def _failures(session) -> int:
    """The failed logins counted now (the read's transaction ends: on SQLite it holds the write lock, and a
    loaded object read after it would begin another)."""
    n = session.scalar(select(func.count()).select_from(LoginAttempt)) or 0
    session.rollback()
    return n


# --- the login limit -------------------------------------------------------------------------------


def test_twelve_wrong_passwords_at_once_get_exactly_five_checks(serve, session, real_password_hashing, runtime, now):
    # the product's own hashing: each check takes as long as in production, as a guesser's would
    email = make_user(session).email
    session.commit()
    server = serve(12)
    calls = [_login_form(Browser(server.url), email, f"guess-{n}") for n in range(12)]
    statuses = sorted(status for status, _ in _all_at_once(calls))
    assert statuses == [401] * MAX_FAILURES_PER_EMAIL + [429] * (12 - MAX_FAILURES_PER_EMAIL)
    assert _failures(session) == MAX_FAILURES_PER_EMAIL
    # the sixth, with the right password, is refused too
    status, html = _login_form(Browser(server.url), email, PASSWORD)()
    assert status == 429
    assert "Too many failed attempts" in html
    # and after the window the right password lets them in, and forgets the failures
    runtime.clock = lambda: now + timedelta(minutes=15, seconds=1)
    assert _login_form(Browser(server.url), email, PASSWORD)()[0] == 302
    assert _failures(session) == 0


def test_right_passwords_at_once_all_log_in(serve, session):
    user = make_user(session)
    session.commit()
    server = serve(8)
    calls = [_login_form(Browser(server.url), user.email, PASSWORD) for _ in range(8)]
    assert [status for status, _ in _all_at_once(calls)] == [302] * 8
    assert _failures(session) == 0


# --- new returns with generated RMAs ----------------------------------------------------------------


def _new_return_form(browser: Browser, n: int, now) -> Callable[[], tuple[int, str]]:
    form = {
        "order_number": f"ORD-{70000 + n}",
        "customer_name": f"Customer {n}",
        "customer_email": f"customer{n}@example.nl",
        "customer_locale": "nl",
        "delivered_on": (now.date() - timedelta(days=5)).isoformat(),
        "priority": "normal",
        "carrier": "",
        "tracking_number": "",
        "items-0-sku": "jeans-32",
        "items-0-product_name": "Jeans 32/34",
        "items-0-quantity": "1",
        "items-0-unit_price": "59,95",
        "items-0-reason_code": "too_large",
        "items-0-reason_note": "",
        "items-0-category": "",
        "csrf_token": browser.token("/returns/new"),
    }
    return lambda: browser.request("/returns/new", form)


def test_twenty_new_returns_at_once_through_the_form_are_all_created_with_distinct_numbers(serve, session, now):
    user = make_user(session, team="customer_service")
    session.commit()
    server = serve(20)
    browsers = [Browser(server.url) for _ in range(20)]
    for b in browsers:
        assert _login_form(b, user.email, PASSWORD)()[0] == 302
    calls = [_new_return_form(b, n, now) for n, b in enumerate(browsers)]
    answers = _all_at_once(calls)
    assert [status for status, _ in answers] == [302] * 20, [html[:300] for status, html in answers if status != 302]
    rmas = sorted(session.scalars(select(Return.rma)), key=lambda r: int(r[4:]))
    assert rmas == [f"RMA-{1001 + i}" for i in range(20)]
