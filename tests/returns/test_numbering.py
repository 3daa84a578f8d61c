"""RMA numbers: a generated one survives a collision, a typed one that exists or has a slash is refused."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from hub.core.db import unit_of_work
from hub.core.errors import ValidationFailed
from hub.returns import services as svc
from hub.returns.models import Return
from tests.factories import SYSTEM, make_draft, make_return


def test_a_generated_rma_taken_meanwhile_by_another_app_server_is_numbered_again(session, workflow, now):
    make_return(session, workflow, now=now, rma="RMA-1001")
    taken = svc.next_rma(session)  # this server's number for its new return...
    make_return(session, workflow, now=now, rma=taken)  # ...which another server committed meanwhile
    fresh = Return(
        rma=taken,
        order_number="ORD-9",
        customer_name="A",
        customer_email="a@b.cc",
        customer_locale="en",
        stage="new",
        stage_entered_at=now,
        promised_by=now,
    )
    svc._insert_numbered(session, fresh, generated=True)
    assert fresh.rma == "RMA-1003"


def test_a_typed_rma_that_exists_is_refused_not_renumbered(session, workflow, now):
    make_return(session, workflow, now=now, rma="RMA-7")
    with pytest.raises(ValidationFailed, match="RMA-7 already exists"):
        svc.create_return(session, workflow, SYSTEM, make_draft(rma="RMA-7"), now=now)


def test_an_rma_with_a_slash_is_refused(session, workflow, now):
    with pytest.raises(ValidationFailed, match=r"can only use letters, digits and - \. _"):
        svc.create_return(session, workflow, SYSTEM, make_draft(rma="RMA/2026/7"), now=now)


# --- many at once: each thread is another app server's request, with its own connection -------------------


def _create_at_once(session_factory, workflow, now, n: int) -> tuple[list[str], list[BaseException]]:
    """`n` requests create a return with a generated RMA at the same moment, each in its own transaction."""
    start = threading.Barrier(n)
    rmas: list[str] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            start.wait(timeout=30)
            with unit_of_work(session_factory) as s:
                rmas.append(svc.create_return(s, workflow, SYSTEM, make_draft(), now=now).rma)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return rmas, errors


@pytest.mark.parametrize("n", [5, 20])
def test_returns_created_at_once_with_generated_rmas_all_succeed_with_distinct_numbers(
    session_factory, session, workflow, now, n
):
    with unit_of_work(session_factory) as s:
        make_return(s, workflow, now=now, rma="RMA-1001")
    rmas, errors = _create_at_once(session_factory, workflow, now, n)
    assert errors == []
    assert sorted(rmas, key=lambda r: int(r[4:])) == [f"RMA-{1002 + i}" for i in range(n)]
    assert session.scalar(select(func.count()).select_from(Return)) == n + 1


def test_a_generated_rma_typed_by_someone_else_meanwhile_is_numbered_again(session_factory, session, workflow, now):
    """The typed RMA's insert is still uncommitted when the generated one picks the same number."""
    with unit_of_work(session_factory) as s:
        make_return(s, workflow, now=now, rma="RMA-1001")
    typing = session_factory()
    make_return(typing, workflow, now=now, rma="RMA-1002")  # flushed, not committed: its row is locked
    made: list[str] = []
    generating = threading.Thread(
        target=lambda: made.append(_create_one(session_factory, workflow, now)), name="generating"
    )
    generating.start()
    generating.join(timeout=0.5)  # on PostgreSQL it now waits for the typed insert; on SQLite for the write lock
    typing.commit()
    typing.close()
    generating.join(timeout=30)
    assert made == ["RMA-1003"]


def _create_one(session_factory, workflow, now) -> str:
    with unit_of_work(session_factory) as s:
        return svc.create_return(s, workflow, SYSTEM, make_draft(), now=now).rma


def test_a_typed_rma_committed_by_someone_else_meanwhile_is_refused_by_name(session_factory, workflow, now):
    typing = session_factory()
    make_return(typing, workflow, now=now, rma="RMA-77")  # flushed, not committed
    refused: list[BaseException] = []

    def same_number() -> None:
        try:
            with unit_of_work(session_factory) as s:
                svc.create_return(s, workflow, SYSTEM, make_draft(rma="RMA-77"), now=now)
        except BaseException as exc:  # reported by the test
            refused.append(exc)

    other = threading.Thread(target=same_number)
    other.start()
    other.join(timeout=0.5)
    typing.commit()
    typing.close()
    other.join(timeout=30)
    assert len(refused) == 1
    assert isinstance(refused[0], ValidationFailed)
    assert refused[0].field_errors == {"rma": "RMA-77 already exists"}
