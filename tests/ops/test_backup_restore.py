"""Backup and restore as docs/scaling.md describes them: pg_dump -Fc and pg_restore into another database on
PostgreSQL, SQLite's online backup on SQLite. The copy passes the schema check and holds the same rows."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hub.core.db import check_schema, make_engine, make_session_factory, unit_of_work
from hub.notifications.models import Notification
from hub.returns.models import Comment, Event, Return
from hub.returns.services import add_comment, close_return
from tests.factories import SYSTEM, make_return, make_user, move


@pytest.fixture
def history(session_factory, workflow, now) -> list[str]:
    """Returns made, moved, commented and closed through the services (with their events and outbox rows)."""
    with unit_of_work(session_factory) as s:
        make_user(s, team="warehouse", email="wim@shop.example", name="Wim Warehouse")
        rmas = [make_return(s, workflow, now=now).rma for _ in range(3)]
    move(session_factory, workflow, rmas[0], "approved", now=now)
    move(session_factory, workflow, rmas[1], "rejected", now=now, rejection_reason="outside_window")
    with unit_of_work(session_factory) as s:
        add_comment(s, workflow, SYSTEM, rmas[2], "Parcel expected Friday, @wim please look out for it", now=now)
    return rmas


def rows(session: Session) -> dict[str, list[tuple[object, ...]]]:
    """What a restore must bring back: every return, event, comment and outbox row, by id."""
    return {
        "returns": list(
            session.execute(
                select(
                    Return.id, Return.rma, Return.stage, Return.version, Return.stage_due_at, Return.status_token
                ).order_by(Return.id)
            ).tuples()
        ),
        "events": list(
            session.execute(
                select(Event.id, Event.return_id, Event.kind, Event.to_stage, Event.created_at, Event.payload).order_by(
                    Event.id
                )
            ).tuples()
        ),
        "comments": list(session.execute(select(Comment.id, Comment.body).order_by(Comment.id)).tuples()),
        "outbox": list(
            session.execute(
                select(
                    Notification.id,
                    Notification.channel,
                    Notification.kind,
                    Notification.recipient,
                    Notification.message_key,
                    Notification.status,
                    Notification.payload,
                ).order_by(Notification.id)
            ).tuples()
        ),
    }


def _assert_same_and_usable(original: Engine, restored: Engine, workflow, now) -> None:
    check_schema(restored)  # raises SchemaError unless the copy is at the newest migration
    with make_session_factory(original)() as s:
        before = rows(s)
    with make_session_factory(restored)() as s:
        after = rows(s)
    assert all(before.values()), {table: len(found) for table, found in before.items()}
    assert after == before
    # the copy takes new work: its id sequences (PostgreSQL) went along, so a new return gets a new id
    with unit_of_work(make_session_factory(restored)) as s:
        rma = make_return(s, workflow, now=now).rma
        close_return(s, workflow, SYSTEM, rma, "rejected", rejection_reason="outside_window", now=now)
    with make_session_factory(restored)() as s:
        newest = s.scalar(select(Return.id).where(Return.rma == rma))
    assert newest is not None
    assert newest > max(r[0] for r in before["returns"])


# --- PostgreSQL: pg_dump -Fc, pg_restore into a scratch database --------------------------------------------


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for the PostgreSQL command-line tools."""
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = {**os.environ, **({"PGPASSWORD": u.password} if u.password else {})}
    return args, env


@contextmanager
def scratch_database(db: Engine, database_url: str) -> Iterator[str]:
    """An empty PostgreSQL database next to the test database (dropped afterwards); its URL."""
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: the PostgreSQL client tools are needed on the PostgreSQL run")
    name = f"{make_url(database_url).database}_restore_{uuid.uuid4().hex[:8]}"
    admin = db.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_backup_brings_back_a_working_hub(db, database_url, history, workflow, now, tmp_path: Path):
    """pg_dump and pg_restore on the PostgreSQL run; SQLite's online backup on the SQLite run."""
    if db.dialect.name == "postgresql":
        with scratch_database(db, database_url) as scratch:
            _pg_dump_and_restore(db, database_url, scratch, workflow, now, tmp_path)
    else:
        _sqlite_backup_and_restore(db, workflow, now, tmp_path)


def _pg_dump_and_restore(db: Engine, database_url: str, scratch_database: str, workflow, now, tmp_path: Path) -> None:
    args, env = _libpq(database_url)
    dump = tmp_path / "returns-hub.dump"
    subprocess.run(
        ["pg_dump", *args, "-Fc", "--no-owner", "-f", str(dump), make_url(database_url).database or ""],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert dump.stat().st_size > 0
    restored_args, _ = _libpq(scratch_database)
    subprocess.run(
        [
            "pg_restore",
            *restored_args,
            "--no-owner",
            "--exit-on-error",
            "-d",
            make_url(scratch_database).database or "",
            str(dump),
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    restored = make_engine(scratch_database)
    try:
        _assert_same_and_usable(db, restored, workflow, now)
    finally:
        restored.dispose()


# --- SQLite: the online backup API (what `sqlite3 FILE ".backup COPY"` uses) ---------------------------------


def _sqlite_backup_and_restore(db: Engine, workflow, now, tmp_path: Path) -> None:
    source = make_url(db.url).database
    assert source
    copy = tmp_path / "backup.sqlite3"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # consistent while the hub writes: no need to stop it
    src.close()
    dst.close()
    restored = make_engine(f"sqlite:///{copy}")
    try:
        _assert_same_and_usable(db, restored, workflow, now)
    finally:
        restored.dispose()
