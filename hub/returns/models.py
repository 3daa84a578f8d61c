"""Returns, their items, comments and the append-only event log."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    desc,
    event,
    false,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.attributes import get_history

from hub.accounts.models import User
from hub.core.db import Base, enum_values, utcnow
from hub.returns import search


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, create_constraint=True, values_callable=enum_values, length=20)


class Channel(enum.Enum):
    """Where a change came from."""

    WEB = "web"
    SLACK = "slack"
    EMAIL = "email"
    API = "api"
    JOB = "job"
    CLI = "cli"
    CUSTOMER = "customer"


class Resolution(enum.Enum):
    """How a resolved return was settled."""

    REFUND = "refund"
    EXCHANGE = "exchange"
    STORE_CREDIT = "store_credit"

    @property
    def label(self) -> str:
        """Human wording."""
        return self.value.replace("_", " ")


class Priority(enum.IntEnum):
    """How urgent a return is; higher sorts first."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3

    @property
    def label(self) -> str:
        """Human wording."""
        return self.name.lower()

    @classmethod
    def label_of(cls, value: int) -> str:
        """How a card or page names a raised priority ("High", "Urgent"); empty for normal and low."""
        return cls(value).label.capitalize() if value >= cls.HIGH else ""


def new_status_token() -> str:
    """An unguessable token for the customer's status page."""
    return secrets.token_urlsafe(24)


class Return(Base):
    """One customer return (RMA) and where it is in the workflow."""

    __tablename__ = "returns"
    __table_args__ = (
        # the board: open returns of a stage, oldest first
        Index(
            "ix_returns_open_stage_entered",
            "stage",
            "stage_entered_at",
            "id",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # the board's default order: urgent and high first, then oldest first
        Index(
            "ix_returns_open_stage_priority",
            "stage",
            desc("priority"),
            "stage_entered_at",
            "id",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # column headers: overdue and due-soon counts per stage, from the index alone
        Index(
            "ix_returns_open_stage_due",
            "stage",
            "stage_due_at",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index(
            "ix_returns_open_stage_warn",
            "stage",
            "stage_warn_at",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # closed columns: what was closed recently, per stage
        Index(
            "ix_returns_closed_stage_closed",
            "stage",
            "closed_at",
            sqlite_where=text("closed_at IS NOT NULL"),
            postgresql_where=text("closed_at IS NOT NULL"),
        ),
        # the delay scan: open returns whose next alert is due
        Index(
            "ix_returns_open_next_alert",
            "next_alert_at",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # the delay scan: open returns by due time
        Index(
            "ix_returns_open_due",
            "stage_due_at",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # search: words anywhere in search_text; SQLite has an FTS5 trigram table instead (migration 0005)
        Index(
            "ix_returns_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("priority BETWEEN 0 AND 3", name="priority_range"),
        CheckConstraint("NOT is_blocked OR blocked_reason IS NOT NULL", name="blocked_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rma: Mapped[str] = mapped_column(String(40), unique=True)
    order_number: Mapped[str] = mapped_column(String(60), index=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_email: Mapped[str] = mapped_column(String(254), index=True)
    customer_locale: Mapped[str] = mapped_column(String(10), default="en")
    delivered_on: Mapped[date | None]
    stage: Mapped[str] = mapped_column(String(40))
    stage_entered_at: Mapped[datetime]
    stage_due_at: Mapped[datetime | None]
    stage_warn_at: Mapped[datetime | None]  # when the stage clock turns "due soon"
    stage_escalate_at: Mapped[datetime | None]  # overdue by another full SLA: escalated to the leads
    # delay alerts: the highest level raised for this stage entry (an AlertLevel), and when the next
    # one is due; the delay scan reads only rows whose next_alert_at has passed
    alert_level: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_alert_at: Mapped[datetime | None]
    promise_alerted: Mapped[bool] = mapped_column(default=False, server_default=false())
    snoozed_until: Mapped[datetime | None]
    promised_by: Mapped[datetime]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    priority: Mapped[int] = mapped_column(default=int(Priority.NORMAL))  # a Priority
    is_blocked: Mapped[bool] = mapped_column(default=False)
    blocked_reason: Mapped[str | None] = mapped_column(String(500))
    resolution: Mapped[Resolution | None] = mapped_column(_enum(Resolution, "resolution"))
    carrier: Mapped[str | None] = mapped_column(String(60))
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    status_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_status_token)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    # what search looks in: SEARCHED_FIELDS and every item's SKU and product name, folded (hub/returns/search.py);
    # kept up to date by _keep_search_text on every flush
    search_text: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))

    assignee: Mapped[User | None] = relationship(lazy="joined")
    items: Mapped[list[ReturnItem]] = relationship(
        back_populates="return_", cascade="all, delete-orphan", order_by="ReturnItem.id"
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="return_", cascade="all, delete-orphan", order_by="Comment.id"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="return_", cascade="all, delete-orphan", order_by="Event.id"
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Return {self.rma} {self.stage} v{self.version}>"

    @property
    def priority_label(self) -> str:
        """How pages name a raised priority ("High", "Urgent"); empty for normal and low."""
        return Priority.label_of(self.priority)

    @property
    def is_closed(self) -> bool:
        """Whether the return is in a closed stage."""
        return self.closed_at is not None


class ReturnItem(Base):
    """A product line of a return."""

    __tablename__ = "return_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(60))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    reason_code: Mapped[str] = mapped_column(String(40), index=True)
    reason_note: Mapped[str | None] = mapped_column(Text)

    return_: Mapped[Return] = relationship(back_populates="items")

    def __repr__(self) -> str:
        return f"<ReturnItem {self.sku} x{self.quantity}>"


class Comment(Base):
    """A note someone left on a return."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    return_: Mapped[Return] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Comment {self.id} on {self.return_id}>"


class Event(Base):
    """One entry of a return's history; rows are only ever appended."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(120))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    kind: Mapped[str] = mapped_column(String(40))
    from_stage: Mapped[str | None] = mapped_column(String(40))
    to_stage: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    return_: Mapped[Return] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_events_return_id_id", "return_id", "id"),)

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.kind} on {self.return_id}>"


class AlertLevel(enum.IntEnum):
    """How late a return is in its current stage."""

    NONE = 0
    DUE_SOON = 1
    OVERDUE = 2
    ESCALATED = 3

    @property
    def label(self) -> str:
        """Human wording."""
        return self.name.lower().replace("_", " ")


# --- search text -------------------------------------------------------------------------------

SEARCHED_FIELDS = ("rma", "order_number", "customer_name", "customer_email", "tracking_number")
SEARCHED_ITEM_FIELDS = ("sku", "product_name")


def search_text_of(r: Return, items: Iterable[ReturnItem]) -> str:
    """What search finds a return by: its SEARCHED_FIELDS and each of its items' SKU and product name, folded."""
    values = [getattr(r, name) for name in SEARCHED_FIELDS]
    for item in items:
        values += [item.sku, item.product_name]
    return search.searchable(values)


def _changed(obj: object, names: tuple[str, ...]) -> bool:
    return any(get_history(obj, name).has_changes() for name in names)


@event.listens_for(Session, "before_flush")
def _keep_search_text(session: Session, _context: object, _instances: object) -> None:
    """Every flush that adds a return or changes what it is searched by refreshes its search_text.

    The one place that keeps it: services, imports, the demo and the CLI all flush through here.
    """
    stale: dict[int, Return] = {}
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, Return):
            if obj not in session.deleted and (obj in session.new or _changed(obj, (*SEARCHED_FIELDS, "items"))):
                stale[id(obj)] = obj
        elif isinstance(obj, ReturnItem) and (
            obj in session.new or obj in session.deleted or _changed(obj, (*SEARCHED_ITEM_FIELDS, "return_"))
        ):
            with session.no_autoflush:
                parent = obj.return_
            if parent is not None and parent not in session.deleted:
                stale[id(parent)] = parent
    with session.no_autoflush:  # reading a return's items must not flush half of this flush
        for r in stale.values():
            fresh = search_text_of(r, [i for i in r.items if i not in session.deleted])
            if r.search_text != fresh:
                r.search_text = fresh
