"""SQLite under a burst (issue 11, item 15): a request takes the write lock only around its write.

While another request holds the lock (on PostgreSQL: the return's row), the board and a detail answer, and a
change that is refused answers too; a valid change waits, then loads the return again and checks its version
once more. Twenty writers at once on a served app each make their change, and a stale version is a 409.
"""

from __future__ import annotations

import html
import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.accounts.models import User
from hub.app import create_app
from hub.core.db import make_engine, make_session_factory
from hub.core.runtime import Runtime
from hub.returns import services as svc
from hub.returns.models import Channel, Comment, Event, Return
from hub.returns.permissions import Actor
from tests.core.support import Call, another_writer, answered_at_once
from tests.factories import PASSWORD, make_return, make_user
from tests.web.support import CSRF_RE, count, hx, login_as, page, state
from tests.web.test_races import Server

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _log_in_jan(client, session) -> tuple[User, str]:
    return login_as(client, session, team="customer_service", name="Jan de Boer", email="jan@shop.example")


def _new_return(session, workflow, now) -> str:
    r = make_return(session, workflow, now=now - timedelta(hours=1))
    session.commit()
    return r.rma


@pytest.fixture
def jan(client, session):
    """Jan, a customer service member, logged in: (user, CSRF token)."""
    return _log_in_jan(client, session)


@pytest.fixture
def rma(session, workflow, now) -> str:
    """A new return, committed."""
    return _new_return(session, workflow, now)


def _post(client, token: str, rma: str, action: str, **data: str):
    return client.post(f"/returns/{rma}/{action}", data=data, headers=hx(token))


def _notice(resp) -> str | None:
    node = page(resp).find(cls="notice")
    return node.text if node else None


def _conflict(rma: str, who: str, what: str, shown_in: str = "The panel") -> str:
    return (
        f"{rma} was changed by {who} ({what}, Thu 5 Mar 10:00 CET) after you opened it; nothing was changed. "
        f"{shown_in} now shows the change; check it and try again."
    )


# --- reads and refusals answer while another request writes ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/board", {}),
        ("/board", hx(target="board")),
        ("/returns/{rma}", {}),
        ("/returns/{rma}", hx()),
        ("/board/changes?after=0", {"Accept": "application/json"}),
    ],
    ids=["board", "board-fragment", "detail", "detail-panel", "change-feed"],
)
def test_the_board_and_a_detail_answer_while_another_request_writes(client, db, jan, rma, path, headers):
    with another_writer(db, rma):
        resp = answered_at_once(lambda: client.get(path.format(rma=rma), headers=headers))
    assert resp.status_code == 200
    assert rma in resp.get_data(as_text=True)


REFUSALS = [
    ("move", {"to_stage": "approved", "version": "two"}, 400, "version must be a whole number"),
    ("move", {"to_stage": "approved", "version": "99999999999"}, 400, "version must be a whole number from 0"),
    ("move", {"to_stage": "nowhere", "version": "1"}, 409, "unknown stage 'nowhere'"),
    ("move", {"to_stage": "rejected", "version": "1"}, 422, "Choose the reason the customer reads"),
    ("move", {"to_stage": "approved", "version": "7"}, 409, "was changed by test (created"),
    ("comment", {"body": "   "}, 422, "a comment cannot be empty"),
    ("flag", {"reason": "", "version": "1"}, 422, "say why the return is blocked"),
    ("unflag", {"version": "1"}, 409, "is not blocked"),
    ("snooze", {"hours": "100"}, 422, "at most 72 hours"),
    ("shipping", {"carrier": "", "tracking_number": "3SABC", "version": "1"}, 422, "name the carrier"),
    ("assign", {"assignee_id": "999999", "version": "1"}, 400, "no user with id 999999"),
]


@pytest.mark.parametrize(
    ("action", "form", "status", "says"), REFUSALS, ids=[f"{a}-{s}-{i}" for i, (a, _, s, _) in enumerate(REFUSALS)]
)
def test_a_refused_change_answers_without_waiting_for_the_write_lock(
    client, session, db, jan, rma, action, form, status, says
):
    _, token = jan
    before = state(session, rma)
    with another_writer(db, rma):
        resp = answered_at_once(lambda: _post(client, token, rma, action, **form))
    assert resp.status_code == status
    assert says in html.unescape(resp.get_data(as_text=True))
    assert state(session, rma) == before


def test_an_unknown_return_is_a_404_without_waiting_for_the_write_lock(client, session, db, jan, rma):
    _, token = jan
    with another_writer(db, rma):
        resp = answered_at_once(lambda: _post(client, token, "RMA-404", "comment", body="Hello"))
    assert resp.status_code == 404
    assert count(session, Comment) == 0


def test_a_new_return_form_with_mistakes_answers_without_waiting_for_the_write_lock(client, session, db, jan, rma):
    _, token = jan
    form = {"csrf_token": token, "order_number": "", "customer_name": "", "customer_email": "nobody"}
    with another_writer(db, rma):
        resp = answered_at_once(lambda: client.post("/returns/new", data=form))
    assert resp.status_code == 422
    assert count(session, Return) == 1


# --- a valid change waits for the lock, then checks the version once more -------------------------------


def test_a_valid_change_waits_for_the_other_writer_and_then_is_made(client, session, db, jan, rma):
    _, token = jan
    with another_writer(db, rma):
        call = Call(lambda: _post(client, token, rma, "move", to_stage="approved", version="1"))
        assert call.waiting_after(0.5), "the move did not wait for the other writer"
    resp = call.result(within=10)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    after = state(session, rma)
    assert (after.stage, after.version, after.event_kinds) == ("approved", 2, ("created", "moved"))


def test_a_valid_comment_waits_for_the_other_writer_and_then_is_added(client, session, db, jan, rma):
    _, token = jan
    with another_writer(db, rma):
        call = Call(lambda: _post(client, token, rma, "comment", body="Customer called"))
        assert call.waiting_after(0.5), "the comment did not wait for the other writer"
    assert call.result(within=10).status_code == 200
    assert list(session.scalars(select(Comment.body))) == ["Customer called"]
    session.commit()


def test_a_change_committed_while_a_move_waits_for_the_lock_makes_it_a_409(
    client, session, db, workflow, now, jan, rma
):
    # the move's first check (in its read) passed; the other writer changes the return before the move gets the lock
    _, token = jan
    bob_id = make_user(session, name="Bob Smith").id
    session.commit()
    before = state(session, rma)
    with another_writer(db, rma) as other:
        call = Call(lambda: _post(client, token, rma, "move", to_stage="approved", version=str(before.version)))
        assert call.waiting_after(0.5), "the move did not wait for the other writer"
        bob = Actor.person(other.get(User, bob_id), Channel.SLACK)
        svc.flag_return(other, workflow, bob, rma, "Parcel lost", now=now)
        other.commit()
    resp = call.result(within=10)
    assert resp.status_code == 409
    assert _notice(resp) == _conflict(rma, "Bob Smith", "flagged")
    after = state(session, rma)
    assert (after.stage, after.version, after.event_kinds) == ("new", before.version + 1, ("created", "flagged"))


@pytest.mark.parametrize("view", ["panel", "card"])
def test_a_stale_version_after_another_change_committed_is_a_409_and_changes_nothing(
    client, session, workflow, now, jan, rma, view
):
    _, token = jan
    loaded = page(client.get(f"/returns/{rma}", headers=hx())).by_id("detail").attrs["data-version"]
    bob = make_user(session, name="Bob Smith")
    svc.claim_return(session, workflow, Actor.person(bob, Channel.SLACK), rma, now=now)
    session.commit()
    before = state(session, rma)
    extra = {"view": "card"} if view == "card" else {}
    resp = _post(client, token, rma, "move", to_stage="approved", version=loaded, **extra)
    assert resp.status_code == 409
    shown_in = "The card" if view == "card" else "The panel"
    assert _conflict(rma, "Bob Smith", "claimed", shown_in) in html.unescape(resp.get_data(as_text=True))
    assert state(session, rma) == before


# --- the board's "seen" mark waits for nobody ----------------------------------------------------------------


def _seen_at(session, user_id: int):
    session.commit()
    seen = session.scalar(select(User.board_seen_at).where(User.id == user_id))
    session.commit()
    return seen


def test_the_board_skips_its_seen_mark_while_another_request_writes_and_sets_it_when_free(
    sqlite_client, sqlite_session_factory, sqlite_db, workflow, now
):
    # SQLite's write lock, on an SQLite database on both passes: PostgreSQL locks only the rows a change writes
    with sqlite_session_factory() as session:
        user, _ = _log_in_jan(sqlite_client, session)
        _new_return(session, workflow, now)
        with another_writer(sqlite_db):
            assert answered_at_once(lambda: sqlite_client.get("/board")).status_code == 200
        assert _seen_at(session, user.id) is None  # kept where it was: the next load shows the same arrivals as new
        assert sqlite_client.get("/board").status_code == 200
        assert _seen_at(session, user.id) == now


def test_every_page_works_with_one_pooled_connection(settings, db, workflow, session, rma):
    # a request holds one connection at a time (the seen mark is written on its own session): with 20 waitress
    # threads and 15 pooled connections, requests that needed two each waited for each other until the pool timed out
    engine = make_engine(db.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        app = create_app(runtime=Runtime(settings, workflow, engine, make_session_factory(engine)), TESTING=True)
        client = app.test_client()
        _, token = login_as(client, session)
        for path in ("/board", f"/returns/{rma}"):
            assert client.get(path).status_code == 200
        assert _post(client, token, rma, "comment", body="One connection").status_code == 200
        assert _post(client, token, rma, "move", to_stage="approved", version="1").status_code == 200
    finally:
        engine.dispose()


# --- twenty writers at once ----------------------------------------------------------------------------------


class Writer:
    """One person's browser on the served app: its own cookies, no redirects followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args, **_kwargs):
            return None

    def __init__(self, base: str) -> None:
        self.base, self.token = base, ""
        jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), self._NoRedirect())

    def request(self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self._opener.open(req, timeout=60) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def log_in(self, email: str) -> None:
        status, page_html = self.request("/login")
        assert status == 200, page_html[:300]
        token = CSRF_RE.search(page_html)
        assert token
        status, body = self.request("/login", {"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
        assert status == 302, body[:300]
        status, page_html = self.request("/board")
        assert status == 200, page_html[:300]
        token = CSRF_RE.search(page_html)
        assert token
        self.token = token.group(1)

    def post(self, rma: str, action: str, **form: str):
        return self.request(f"/returns/{rma}/{action}", {**form, "csrf_token": self.token}, {"HX-Request": "true"})


WRITERS = 20


@pytest.fixture
def served(app) -> Iterator[Server]:
    """The app behind waitress, with a thread for each writer."""
    server = Server(app, threads=WRITERS + 4)
    yield server
    server.stop()


def _together(work: list[Callable[[], None]]) -> None:
    start = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(fn: Callable[[], None]) -> None:
        try:
            start.wait(timeout=30)
            fn()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a writer did not finish"
    assert not errors, errors[0]


def test_twenty_writers_at_once_each_make_their_change_and_conflicts_are_409s(served, session, workflow, now):
    users = [make_user(session, name=f"Writer {i:02d}") for i in range(WRITERS)]
    shared = make_return(session, workflow, now=now - timedelta(hours=1)).rma
    own = [make_return(session, workflow, now=now - timedelta(hours=1)).rma for _ in range(WRITERS)]
    session.commit()
    writers = [Writer(served.url) for _ in users]
    for w, u in zip(writers, users, strict=True):
        w.log_in(u.email)
    answers: dict[str, list[tuple[int, str]]] = {"shared move": [], "other": []}

    def script(i: int) -> Callable[[], None]:
        w = writers[i]

        def run() -> None:
            steps = [
                lambda: w.post(shared, "comment", body=f"Note {i:02d} on the shared one"),
                lambda: w.request("/board"),
                lambda: w.post(own[i], "comment", body=f"Note {i:02d}"),
                lambda: w.post(own[i], "move", to_stage="approved", version="1", view="card"),
                lambda: w.request("/board", headers={"HX-Request": "true", "HX-Target": "board"}),
                lambda: w.request(f"/returns/{shared}", headers={"HX-Request": "true"}),
            ]
            for k, step in enumerate(steps):
                answers["other"].append(step())
                if k == 3:
                    answers["shared move"].append(w.post(shared, "move", to_stage="approved", version="1"))

        return run

    _together([script(i) for i in range(WRITERS)])

    unexpected = [(s, b[:300]) for s, b in answers["other"] if s != 200]
    assert not unexpected, unexpected
    moves = sorted(s for s, _ in answers["shared move"])
    assert moves == [200] + [409] * (WRITERS - 1), moves
    refused = re.compile(
        rf"{shared} was changed by Writer \d\d \((moved|commented), [^)]*\) after you opened it; nothing was changed\."
    )
    for status, body in answers["shared move"]:
        if status == 409:
            assert refused.search(html.unescape(body)), body[:500]

    # nothing lost: every comment, every move, one move of the shared return
    def kinds(rma: str) -> dict[str, int]:
        rows = session.execute(
            select(Event.kind, func.count()).join(Return).where(Return.rma == rma).group_by(Event.kind)
        )
        return dict(rows.tuples().all())

    assert kinds(shared) == {"created": 1, "commented": WRITERS, "moved": 1}
    bodies = set(session.scalars(select(Comment.body).join(Return).where(Return.rma == shared)))
    assert bodies == {f"Note {i:02d} on the shared one" for i in range(WRITERS)}
    for i, rma in enumerate(own):
        assert kinds(rma) == {"created": 1, "commented": 1, "moved": 1}
        assert (state(session, rma).stage, state(session, rma).version) == ("approved", 2)
        assert list(session.scalars(select(Comment.body).join(Return).where(Return.rma == rma))) == [f"Note {i:02d}"]
    assert state(session, shared).version == 2
