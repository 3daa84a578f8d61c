"""delay alerts and processed requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processed_requests",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("received_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_processed_requests")),
    )
    with op.batch_alter_table("processed_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processed_requests_received_at"), ["received_at"], unique=False)

    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage_escalate_at", hub.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("alert_level", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("next_alert_at", hub.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("promise_alerted", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("snoozed_until", hub.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_returns_open_next_alert",
            ["next_alert_at"],
            unique=False,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
    # open returns start their alert clock where their stage clock turns "due soon"
    op.execute("UPDATE returns SET next_alert_at = stage_warn_at WHERE closed_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_returns_open_next_alert",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("promise_alerted")
        batch_op.drop_column("next_alert_at")
        batch_op.drop_column("alert_level")
        batch_op.drop_column("stage_escalate_at")

    with op.batch_alter_table("processed_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_requests_received_at"))

    op.drop_table("processed_requests")
