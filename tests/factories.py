"""Factories with valid defaults: make_user(session, **overrides), make_return(session, workflow, **overrides)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.accounts.models import Role, User
from hub.accounts.services import add_user
from hub.returns.drafts import ItemDraft, ReturnDraft
from hub.returns.models import Channel, Return
from hub.returns.permissions import Actor
from hub.returns.services import create_return
from hub.workflow import Workflow

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_user(session: Session, *, team: str | None = "customer_service", role: Role | str = Role.MEMBER,
              **overrides: Any) -> User:
    """A user on one team (default customer service), password PASSWORD."""
    n = next(_seq)
    fields: dict[str, Any] = {
        "email": f"user{n}@shop.example", "name": f"Test User {n}", "password": PASSWORD,
        "role": role, "team_keys": [team] if team else [],
    }
    fields.update(overrides)
    return add_user(session, **fields)


def make_draft(**overrides: Any) -> ReturnDraft:
    """A valid new return as a form would send it."""
    n = next(_seq)
    fields: dict[str, Any] = {
        "order_number": f"ORD-{50000 + n}", "customer_name": "Sanne de Vries",
        "customer_email": f"sanne{n}@example.nl", "customer_locale": "nl",
        "items": [ItemDraft(sku="TSHIRT-BLU-M", product_name="T-shirt blue M", quantity=1,
                            unit_price="19.95", reason_code="too_small")],
    }
    fields.update(overrides)
    return ReturnDraft(**fields)


def make_return(session: Session, workflow: Workflow, *, stage: str | None = None,
                now: datetime | None = None, actor: Actor | None = None, **overrides: Any) -> Return:
    """A valid return, created by the system in the first stage (or `stage`)."""
    actor = actor or Actor.system("test", Channel.CLI)
    return create_return(session, workflow, actor, make_draft(**overrides), now=now, stage_key=stage)
