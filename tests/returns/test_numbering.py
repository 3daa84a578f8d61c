"""RMA numbers: a generated one survives a collision, a typed one that exists or has a slash is refused."""

from __future__ import annotations

import pytest

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
