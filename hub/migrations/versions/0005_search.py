"""search text of every return, with a trigram index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.returns.search import SQLITE_INDEX, searchable

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 2000

# SQLite: an FTS5 trigram table over returns.search_text (external content: it stores only the index),
# kept in step by triggers. A later migration that makes batch mode copy the returns table drops these
# triggers with the old table: it must create them again (tests/core/test_storage.py checks they exist).
SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE {SQLITE_INDEX} USING fts5("
    "search_text, content='returns', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER {SQLITE_INDEX}_insert AFTER INSERT ON returns BEGIN "
    f"INSERT INTO {SQLITE_INDEX}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER {SQLITE_INDEX}_delete AFTER DELETE ON returns BEGIN "
    f"INSERT INTO {SQLITE_INDEX}({SQLITE_INDEX}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    f"CREATE TRIGGER {SQLITE_INDEX}_update AFTER UPDATE OF search_text ON returns BEGIN "
    f"INSERT INTO {SQLITE_INDEX}({SQLITE_INDEX}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {SQLITE_INDEX}(rowid, search_text) VALUES (new.id, new.search_text); END",
]


def upgrade() -> None:
    # not in batch mode: SQLite adds the column in place, where a copy of the table would lose the DESC of
    # ix_returns_open_stage_priority
    op.add_column("returns", sa.Column("search_text", sa.Text(), server_default=sa.text("''"), nullable=False))
    _fill_search_text(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_returns_search_trgm",
            "returns",
            ["search_text"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )
    elif op.get_bind().dialect.name == "sqlite":
        for ddl in SQLITE_DDL:
            op.execute(ddl)
        op.execute(f"INSERT INTO {SQLITE_INDEX}({SQLITE_INDEX}) VALUES ('rebuild')")


def _fill_search_text(conn: sa.Connection) -> None:
    """Every existing return gets its search text, folded as hub.models' before-flush hook folds it."""
    returns = sa.table(
        "returns",
        sa.column("id", sa.Integer),
        sa.column("rma", sa.String),
        sa.column("order_number", sa.String),
        sa.column("customer_name", sa.String),
        sa.column("customer_email", sa.String),
        sa.column("tracking_number", sa.String),
        sa.column("search_text", sa.Text),
    )
    items = sa.table(
        "return_items",
        sa.column("id", sa.Integer),
        sa.column("return_id", sa.Integer),
        sa.column("sku", sa.String),
        sa.column("product_name", sa.String),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(
                returns.c.id,
                returns.c.rma,
                returns.c.order_number,
                returns.c.customer_name,
                returns.c.customer_email,
                returns.c.tracking_number,
            )
            .where(returns.c.id > last)
            .order_by(returns.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        values: dict[int, list[str | None]] = {row[0]: list(row[1:]) for row in rows}
        for return_id, sku, product in conn.execute(
            sa.select(items.c.return_id, items.c.sku, items.c.product_name)
            .where(items.c.return_id.in_(list(values)))
            .order_by(items.c.return_id, items.c.id)
        ):
            values[return_id] += [sku, product]
        conn.execute(
            returns.update().where(returns.c.id == sa.bindparam("rid")).values(search_text=sa.bindparam("text")),
            [{"rid": rid, "text": searchable(v)} for rid, v in values.items()],
        )
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_returns_search_trgm", table_name="returns", postgresql_using="gin")
    elif op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {SQLITE_INDEX}_{trigger}")
        op.execute(f"DROP TABLE {SQLITE_INDEX}")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE returns DROP COLUMN search_text")  # in place, as upgrade() added it
    else:
        op.drop_column("returns", "search_text")
