"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_ip"), ["ip"], unique=False)

    op.create_table(
        "teams",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_teams")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum("admin", "lead", "member", name="role", native_enum=False, create_constraint=True, length=10),
            nullable=False,
        ),
        sa.Column("slack_user_id", sa.String(length=32), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("slack_user_id", name=op.f("uq_users_slack_user_id")),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_key", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_key"], ["teams.key"], name=op.f("fk_memberships_team_key_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "team_key", name=op.f("pk_memberships")),
    )
    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma", sa.String(length=40), nullable=False),
        sa.Column("order_number", sa.String(length=60), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("customer_email", sa.String(length=254), nullable=False),
        sa.Column("customer_locale", sa.String(length=10), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("stage_entered_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stage_due_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stage_warn_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("promised_by", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("is_blocked", sa.Boolean(), nullable=False),
        sa.Column("blocked_reason", sa.String(length=500), nullable=True),
        sa.Column(
            "resolution",
            sa.Enum(
                "refund",
                "exchange",
                "store_credit",
                name="resolution",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("carrier", sa.String(length=60), nullable=True),
        sa.Column("tracking_number", sa.String(length=80), nullable=True),
        sa.Column("status_token", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("NOT is_blocked OR blocked_reason IS NOT NULL", name=op.f("ck_returns_blocked_has_reason")),
        sa.CheckConstraint("priority BETWEEN 0 AND 3", name=op.f("ck_returns_priority_range")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_returns_version_positive")),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_returns_assignee_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("rma", name=op.f("uq_returns_rma")),
        sa.UniqueConstraint("status_token", name=op.f("uq_returns_status_token")),
    )
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_returns_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(
            "ix_returns_closed_stage_closed",
            ["stage", "closed_at"],
            unique=False,
            sqlite_where=sa.text("closed_at IS NOT NULL"),
            postgresql_where=sa.text("closed_at IS NOT NULL"),
        )
        batch_op.create_index(batch_op.f("ix_returns_customer_email"), ["customer_email"], unique=False)
        batch_op.create_index(
            "ix_returns_open_due",
            ["stage_due_at"],
            unique=False,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.create_index(
            "ix_returns_open_stage_due",
            ["stage", "stage_due_at"],
            unique=False,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.create_index(
            "ix_returns_open_stage_entered",
            ["stage", "stage_entered_at", "id"],
            unique=False,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.create_index(
            "ix_returns_open_stage_warn",
            ["stage", "stage_warn_at"],
            unique=False,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.create_index(batch_op.f("ix_returns_order_number"), ["order_number"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_comments_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_comments_return_id_returns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_return_id"), ["return_id"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=120), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "web",
                "slack",
                "email",
                "api",
                "job",
                "cli",
                "customer",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("from_stage", sa.String(length=40), nullable=True),
        sa.Column("to_stage", sa.String(length=40), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_events_actor_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_events_return_id_returns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_return_id_id", ["return_id", "id"], unique=False)

    op.create_table(
        "return_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=False),
        sa.Column("reason_note", sa.Text(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_items_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_return_items_unit_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_return_items_return_id_returns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_items")),
    )
    with op.batch_alter_table("return_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_items_reason_code"), ["reason_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_items_return_id"), ["return_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_items_sku"), ["sku"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("return_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_items_sku"))
        batch_op.drop_index(batch_op.f("ix_return_items_return_id"))
        batch_op.drop_index(batch_op.f("ix_return_items_reason_code"))

    op.drop_table("return_items")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_return_id_id")

    op.drop_table("events")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_return_id"))

    op.drop_table("comments")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_returns_order_number"))
        batch_op.drop_index(
            "ix_returns_open_stage_warn",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_returns_open_stage_entered",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_returns_open_stage_due",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_returns_open_due",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_returns_customer_email"))
        batch_op.drop_index(
            "ix_returns_closed_stage_closed",
            sqlite_where=sa.text("closed_at IS NOT NULL"),
            postgresql_where=sa.text("closed_at IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_returns_assignee_id"))

    op.drop_table("returns")
    op.drop_table("memberships")
    op.drop_table("users")
    op.drop_table("teams")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_ip"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_email"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_at"))

    op.drop_table("login_attempts")
