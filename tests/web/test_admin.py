"""The outbox's admin page (/admin/notifications): leads and admins only, behind the login.

It lists every notification that has not gone out after a failure (waiting for a retry, put back in line,
dead or skipped), counts them by state, and puts them back in line one by one ("Retry now") or all at once
("Retry all").

(A lead retrying a dead notification, end to end with the dispatcher: tests/jobs/test_dispatch.py.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from hub.core.db import unit_of_work
from hub.core.runtime import Runtime
from hub.notifications.models import Notification, NotificationStatus
from tests.factories import Clock, make_return, make_user, move
from tests.web.support import csrf_token, hx, login, login_as, page, parse

PAGE = "/admin/notifications"
RETRY_ALL = "/admin/notifications/retry-all"
EMPTY = "Nothing has failed"
PENDING, SENDING, SENT = NotificationStatus.PENDING, NotificationStatus.SENDING, NotificationStatus.SENT
DEAD, SKIPPED = NotificationStatus.DEAD, NotificationStatus.SKIPPED
ALARMS = {"status-failed", "status-dead"}


@pytest.fixture(autouse=True)
def _app_on_the_clock(runtime: Runtime, clock: Clock) -> None:
    """The app's now() is the test's clock."""
    runtime.clock = clock


def _add(
    session,
    status: NotificationStatus = PENDING,
    *,
    attempts: int = 0,
    last_error: str | None = None,
    next_attempt_at: datetime,
    recipient: str = "logistics@shop.example",
) -> int:
    """One outbox row, committed; returns its id."""
    n = Notification(
        channel="email",
        kind="handoff",
        recipient=recipient,
        payload={},
        status=status,
        attempts=attempts,
        last_error=last_error,
        next_attempt_at=next_attempt_at,
        created_at=next_attempt_at,
    )
    session.add(n)
    session.commit()
    return n.id


def _rows(session_factory) -> dict[int, tuple[NotificationStatus, int, datetime]]:
    """Every outbox row's status, attempts and next attempt, read outside the app."""
    with session_factory() as s:
        rows = {n.id: (n.status, n.attempts, n.next_attempt_at) for n in s.scalars(select(Notification))}
        s.rollback()
    return rows


def _outbox(session, clock: Clock) -> dict[str, int]:
    """One row in each state the page tells apart."""
    t = clock()
    return {
        "first": _add(session, next_attempt_at=t, recipient="first@shop.example"),  # a normal first attempt
        "sent": _add(session, SENT, attempts=1, next_attempt_at=t - timedelta(hours=1), recipient="sent@shop.example"),
        "failed": _add(
            session,
            attempts=3,
            last_error="SMTP timed out",
            next_attempt_at=t + timedelta(minutes=10),
            recipient="failed@shop.example",
        ),
        "dead": _add(
            session, DEAD, attempts=8, last_error="SMTP refused", next_attempt_at=t, recipient="dead@x.example"
        ),
        "skipped": _add(session, SKIPPED, last_error="Slack is off", next_attempt_at=t, recipient="#returns"),
        # put back in line by "Retry now" after it died: due, with its last error
        "requeued": _add(session, last_error="Mailbox full", next_attempt_at=t, recipient="again@shop.example"),
        # a retry being sent right now
        "sending": _add(session, SENDING, attempts=2, last_error="Timeout", next_attempt_at=t, recipient="s@x.example"),
    }


def _lead(client, session) -> str:
    _, token = login_as(client, session, team="logistics", role="lead")
    return token


def _state_label(tree, nid: int) -> str:
    return tree.by_id(f"notification-{nid}").find("td", cls="state").text


def _pills(tree) -> dict[str, set[str]]:
    """The count pills: their text (e.g. '2 dead') and classes."""
    return {p.text: p.classes for p in tree.find(cls="status-counts").find_all(cls="pill")}


# --- what the page lists ---------------------------------------------------------------------------------------


def test_after_retry_now_the_page_lists_it_as_waiting_not_nothing_has_failed(client, session, session_factory, clock):
    nid = _add(session, DEAD, attempts=8, last_error="SMTP refused", next_attempt_at=clock() - timedelta(hours=2))
    token = _lead(client, session)
    assert EMPTY not in client.get(PAGE).get_data(as_text=True)
    retried_at = clock.advance(minutes=5)

    resp = client.post(f"{PAGE}/{nid}/retry", data={"csrf_token": token})

    assert resp.status_code == 302
    assert _rows(session_factory)[nid] == (PENDING, 0, retried_at)
    html = client.get(PAGE).get_data(as_text=True)
    assert EMPTY not in html
    tree = parse(html)
    row = tree.by_id(f"notification-{nid}")
    assert _state_label(tree, nid) == "pending"
    assert "SMTP refused" in row.text  # the error it died of, until it goes out
    assert "next dispatch" in row.find("td", cls="next").text
    assert row.find("button") is None  # it is in line already
    assert "1 pending" in _pills(tree)


def test_the_page_lists_every_notification_waiting_after_a_failure_and_no_first_attempt(client, session, clock):
    ids = _outbox(session, clock)
    _lead(client, session)

    tree = page(client.get(PAGE))

    listed = {int(r.attrs["id"].removeprefix("notification-")) for r in tree.find("tbody").find_all("tr")}
    assert listed == {ids[k] for k in ("failed", "dead", "skipped", "requeued", "sending")}
    assert {k: _state_label(tree, ids[k]) for k in ("failed", "dead", "skipped", "requeued", "sending")} == {
        "failed": "failed",
        "dead": "dead",
        "skipped": "skipped",
        "requeued": "pending",
        "sending": "sending",
    }
    failed = tree.by_id(f"notification-{ids['failed']}")
    assert failed.find("td", cls="num").text == "3"
    assert failed.find("td", cls="error-text").text == "SMTP timed out"
    when = failed.find("td", cls="next").find("time")
    assert datetime.fromisoformat(when.attrs["datetime"]) == clock() + timedelta(minutes=10)
    assert tree.by_id(f"notification-{ids['skipped']}").find("td", cls="error-text").text == "Slack is off"
    # "Retry now" where there is something to retry; the others are in line or on their way already
    rows = {k: tree.by_id(f"notification-{ids[k]}") for k in ids if tree.has_id(f"notification-{ids[k]}")}
    assert {k for k, row in rows.items() if row.find("button")} == {"failed", "dead", "skipped"}
    assert EMPTY not in tree.text


def test_nothing_has_failed_only_when_nothing_waits_failed_or_died(client, session, clock):
    _add(session, next_attempt_at=clock(), recipient="first@shop.example")
    _add(session, SENT, attempts=1, next_attempt_at=clock())
    _lead(client, session)

    tree = page(client.get(PAGE))

    assert EMPTY in tree.find(cls="outbox-empty").text
    assert "1 notification is in line for its first attempt" in tree.text
    assert tree.find("table") is None
    assert tree.find("form", action=RETRY_ALL) is None


def test_the_page_says_when_it_shows_only_the_newest(client, session, clock, monkeypatch):
    monkeypatch.setattr("hub.notifications.queries.PAGE_SIZE", 2)
    ids = [_add(session, DEAD, attempts=8, last_error="x", next_attempt_at=clock()) for _ in range(3)]
    _lead(client, session)

    tree = page(client.get(PAGE))

    assert [r.attrs["id"] for r in tree.find("tbody").find_all("tr")] == [f"notification-{i}" for i in ids[:0:-1]]
    assert "Showing the newest 2 of 3." in tree.text


# --- the counts ----------------------------------------------------------------------------------------------


def test_zero_counts_are_neutral_and_only_failed_and_dead_alarm(client, session, clock):
    _add(session, SENT, attempts=1, next_attempt_at=clock())
    _lead(client, session)

    pills = _pills(page(client.get(PAGE)))

    assert set(pills) == {"0 failed", "0 dead", "0 skipped", "0 pending", "0 sending", "1 sent"}
    for text, classes in pills.items():
        if text.startswith("0 "):
            assert "count-zero" in classes, text
            assert not any(c.startswith("status-") for c in classes), f"{text}: {classes}"
    assert "status-sent" in pills["1 sent"]

    _outbox(session, clock)
    pills = _pills(page(client.get(PAGE)))
    assert pills["1 failed"] & ALARMS == {"status-failed"}
    assert pills["1 dead"] & ALARMS == {"status-dead"}
    for text in ("1 skipped", "2 pending", "1 sending", "2 sent"):  # pending: a first attempt and one back in line
        assert not pills[text] & ALARMS, text
        assert "count-zero" not in pills[text]


# --- retry all -------------------------------------------------------------------------------------------------


def test_retry_all_puts_every_failed_dead_and_skipped_notification_back_in_line(
    client, session, session_factory, clock
):
    ids = _outbox(session, clock)
    token = _lead(client, session)
    before = _rows(session_factory)
    tree = page(client.get(PAGE))
    form = tree.find("form", action=RETRY_ALL)
    assert form.attrs["method"] == "post"
    assert form.find("input", type="hidden", name="csrf_token").attrs["value"]  # signed afresh on each page
    assert "Retry all 3" in form.find("button").text
    at = clock.advance(minutes=1)

    resp = client.post(RETRY_ALL, data={"csrf_token": token})

    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(PAGE)
    after = _rows(session_factory)
    assert after[ids["failed"]] == (PENDING, 3, at)  # keeps its count, as "Retry now" does
    assert after[ids["dead"]] == (PENDING, 0, at)
    assert after[ids["skipped"]] == (PENDING, 0, at)
    for untouched in ("first", "sent", "requeued", "sending"):
        assert after[ids[untouched]] == before[ids[untouched]], untouched
    tree = page(client.get(PAGE))
    assert "3 notifications are back in line" in tree.find(id="toasts").text
    for k in ("failed", "dead", "skipped", "requeued"):
        assert _state_label(tree, ids[k]) == "pending", k
    assert tree.find("form", action=RETRY_ALL) is None  # nothing left to retry
    assert EMPTY not in tree.text


def test_retry_all_with_nothing_to_retry_says_so_and_changes_nothing(client, session, session_factory, clock):
    _add(session, next_attempt_at=clock())
    _add(session, last_error="Mailbox full", next_attempt_at=clock())  # already back in line
    token = _lead(client, session)
    before = _rows(session_factory)

    resp = client.post(RETRY_ALL, data={"csrf_token": token})

    assert resp.status_code == 302
    assert _rows(session_factory) == before
    assert "Nothing to retry" in page(client.get(PAGE)).find(id="toasts").text


def test_an_admin_may_retry_all(client, session, session_factory, clock):
    nid = _add(session, DEAD, attempts=8, last_error="SMTP refused", next_attempt_at=clock())
    _, token = login_as(client, session, team=None, role="admin")

    resp = client.post(RETRY_ALL, data={"csrf_token": token})

    assert resp.status_code == 302
    assert _rows(session_factory)[nid][:2] == (PENDING, 0)
    assert "1 notification is back in line" in page(client.get(PAGE)).find(id="toasts").text


# --- CSRF, bad ids ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["no token", "wrong token", "htmx without token"])
def test_retry_all_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    client, session, session_factory, clock, how
):
    _outbox(session, clock)
    token = _lead(client, session)
    before = _rows(session_factory)

    if how == "no token":
        resp = client.post(RETRY_ALL)
    elif how == "wrong token":
        resp = client.post(RETRY_ALL, data={"csrf_token": token[:-4] + "AAAA"})
    else:
        resp = client.post(RETRY_ALL, headers=hx())

    assert resp.status_code == 400
    assert "CSRF token" in resp.get_data(as_text=True)
    assert _rows(session_factory) == before


def test_retry_all_takes_the_token_in_the_htmx_header(client, session, session_factory, clock):
    nid = _add(session, DEAD, attempts=8, last_error="SMTP refused", next_attempt_at=clock())
    token = _lead(client, session)
    resp = client.post(RETRY_ALL, headers={"X-CSRFToken": token})
    assert resp.status_code == 302
    assert _rows(session_factory)[nid][0] is PENDING


@pytest.mark.parametrize("bad_id", [999_999, 0])  # past the id column's range: a 400 (test_hostile_input.py)
def test_retrying_a_notification_that_does_not_exist_is_a_404_and_changes_nothing(
    client, session, session_factory, clock, bad_id
):
    _outbox(session, clock)
    token = _lead(client, session)
    before = _rows(session_factory)

    resp = client.post(f"{PAGE}/{bad_id}/retry", data={"csrf_token": token})

    assert resp.status_code == 404
    assert f"There is no notification {bad_id}" in page(resp).find("p", cls="lead").text
    assert _rows(session_factory) == before


def test_retrying_a_sent_notification_says_there_is_nothing_to_retry_and_changes_nothing(
    client, session, session_factory, clock
):
    nid = _add(session, SENT, attempts=1, next_attempt_at=clock())
    token = _lead(client, session)
    before = _rows(session_factory)

    resp = client.post(f"{PAGE}/{nid}/retry", data={"csrf_token": token})

    assert resp.status_code == 302  # back to the page, which says why (someone else's retry may have sent it)
    assert _rows(session_factory) == before
    toast = page(client.get(PAGE)).find(id="toasts").find(cls="toast-error")
    assert f"notification {nid} is sent; there is nothing to retry" in toast.text


# --- who may ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["see", "retry", "retry all"])
def test_members_may_not_see_or_retry_notifications(session, session_factory, workflow, clock, client, action):
    member = make_user(session, team="logistics", email="member@shop.example")
    r = make_return(session, workflow, now=clock())
    session.commit()
    move(session_factory, workflow, r.rma, "approved", now=clock())
    with unit_of_work(session_factory) as s:
        n = s.scalars(select(Notification).where(Notification.channel == "email")).first()
        n.status, n.attempts, n.last_error = NotificationStatus.DEAD, 8, "it failed"
        notification_id = n.id
    token = login(client, member.email)
    before = _rows(session_factory)

    if action == "see":
        resp = client.get(PAGE)
    elif action == "retry":
        resp = client.post(f"{PAGE}/{notification_id}/retry", data={"csrf_token": token})
    else:
        resp = client.post(RETRY_ALL, data={"csrf_token": token})

    assert resp.status_code == 403
    assert "it failed" not in resp.get_data(as_text=True)
    assert _rows(session_factory) == before
    assert "Notifications" not in page(client.get("/board")).find("nav").text  # no link to the page either


def test_the_admin_pages_need_a_login(client):
    resp = client.get(PAGE)
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]
    for path in (f"{PAGE}/1/retry", RETRY_ALL):
        resp = client.post(path, data={"csrf_token": csrf_token(client)})
        assert resp.status_code == 302, path
        assert "/login" in resp.headers["Location"]
