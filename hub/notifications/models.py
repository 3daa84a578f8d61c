"""The outbox: notifications written in the same transaction as the change that causes them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, enum_values, utcnow


class NotificationStatus(enum.Enum):
    """Where a notification is in its delivery."""

    PENDING = "pending"  # waiting for its next attempt (last_error says why an earlier one failed)
    SENDING = "sending"  # claimed by a dispatcher
    SENT = "sent"
    DEAD = "dead"  # gave up after the maximum number of attempts; an admin can retry it
    SKIPPED = "skipped"  # its channel is not configured here (e.g. Slack without a token)


# how last_error begins when the far side may have the message (no answer after the end of an e-mail's DATA):
# the notification is pending, its next attempt an hour away, and the admin page calls it "unknown"
UNKNOWN_PREFIX = "delivery unknown: "


def new_message_key() -> str:
    """A unique key: the e-mail Message-ID's local part, stable across retries."""
    return uuid.uuid4().hex


class Notification(Base):
    """One message to deliver over one channel to one recipient."""

    __tablename__ = "outbox"
    __table_args__ = (
        # the dispatcher's claim: due pending rows, oldest first
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # "email" or "slack"
    kind: Mapped[str] = mapped_column(String(40))  # handoff, customer_update, mention, ...
    recipient: Mapped[str] = mapped_column(String(254))  # an e-mail address, a Slack channel or user id
    return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id", ondelete="SET NULL"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_message_key)
    status: Mapped[NotificationStatus] = mapped_column(
        Enum(
            NotificationStatus,
            name="notification_status",
            native_enum=False,
            create_constraint=True,
            values_callable=enum_values,
            length=10,
        ),
        default=NotificationStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    delivery_ref: Mapped[str | None] = mapped_column(String(200))  # e.g. the Slack message's channel and ts
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.channel}:{self.kind} to {self.recipient} {self.status.value}>"


class ProcessedRequest(Base):
    """An inbound request (a Slack event, action or command) already applied, so a retry is not applied twice."""

    __tablename__ = "processed_requests"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<ProcessedRequest {self.key}>"


class SendPace(Base):
    """The next moment a rate-limited destination may be sent to (a Slack channel: one message a second),
    shared by every dispatcher process."""

    __tablename__ = "send_pace"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)  # e.g. "slack:C0123456"
    next_at: Mapped[float]  # seconds since the epoch (the dispatchers' clocks must agree: NTP)

    def __repr__(self) -> str:
        return f"<SendPace {self.key} {self.next_at}>"
