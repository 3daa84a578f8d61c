"""The brake on password guessing, at the service: logins claimed at once from many connections (app servers)
get exactly the limit's number of password checks, per e-mail and per client."""

from __future__ import annotations

import threading
from datetime import timedelta

from hub.accounts.login_limits import (
    MAX_FAILURES_PER_EMAIL,
    MAX_FAILURES_PER_IP,
    claim_attempt,
    forget_failures,
)
from hub.core.db import unit_of_work


def _claim_at_once(session_factory, now, logins: list[tuple[str, str]]) -> list[bool]:
    """Each (e-mail, ip) claimed in its own thread and transaction, all released together."""
    start = threading.Barrier(len(logins))
    answers: list[bool | BaseException | None] = [None] * len(logins)

    def one(i: int) -> None:
        try:
            start.wait(timeout=30)
            with unit_of_work(session_factory) as s:
                answers[i] = claim_attempt(s, *logins[i], now=now)
        except BaseException as exc:  # reported by the test
            answers[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(logins))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(isinstance(a, bool) for a in answers), answers
    return [a for a in answers if isinstance(a, bool)]


def test_logins_claimed_at_once_for_one_email_get_exactly_the_limit(session_factory, now):
    answers = _claim_at_once(session_factory, now, [("sanne@shop.example", f"198.51.100.{n}") for n in range(12)])
    assert answers.count(True) == MAX_FAILURES_PER_EMAIL


def test_logins_claimed_at_once_from_one_client_get_exactly_the_limit(session_factory, now):
    logins = [(f"guess{n}@shop.example", "203.0.113.9") for n in range(MAX_FAILURES_PER_IP + 6)]
    assert _claim_at_once(session_factory, now, logins).count(True) == MAX_FAILURES_PER_IP


def test_a_refused_login_is_not_counted_and_old_failures_expire(session_factory, now):
    email, ip = "sanne@shop.example", "198.51.100.1"
    with unit_of_work(session_factory) as s:
        assert all(claim_attempt(s, email, ip, now=now) for _ in range(MAX_FAILURES_PER_EMAIL))
        assert not claim_attempt(s, email, ip, now=now + timedelta(minutes=14))
    with unit_of_work(session_factory) as s:
        assert claim_attempt(s, email, ip, now=now + timedelta(minutes=15, seconds=1))


def test_forgetting_an_emails_failures_lifts_its_limit(session_factory, now):
    email, ip = "sanne@shop.example", "198.51.100.1"
    with unit_of_work(session_factory) as s:
        for _ in range(MAX_FAILURES_PER_EMAIL):
            claim_attempt(s, email, ip, now=now)
        forget_failures(s, email)
        assert claim_attempt(s, email, ip, now=now)
