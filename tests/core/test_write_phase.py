"""The write phase of a session made for reading (hub.core.db): it reads without a lock, and writes only after
begin_write, which on SQLite takes the write lock right before the write; check_then_write and write_unless_busy."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.accounts.models import User
from hub.core.db import (
    WriteWithoutBegin,
    begin_write,
    check_then_write,
    make_session_factory,
    write_unless_busy,
)
from hub.core.errors import ValidationFailed
from tests.core.support import Call, another_writer, answered_at_once
from tests.factories import make_user


@pytest.fixture
def reading(db: Engine) -> sessionmaker[Session]:
    """Sessions made for reading, as a web request's."""
    return make_session_factory(db, read_only=True)


@pytest.fixture
def sqlite_reading(sqlite_db: Engine) -> sessionmaker[Session]:
    """Sessions made for reading on an SQLite database (the test database, or a private one on the PostgreSQL
    pass): the only engine with a database-wide write lock."""
    return make_session_factory(sqlite_db, read_only=True)


def _names(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as s:
        return list(s.scalars(select(User.name).order_by(User.name)))


def _write_lock_free(engine: Engine) -> bool:
    """Whether another connection could take SQLite's write lock this moment."""
    raw = sqlite3.connect(engine.url.database or "", timeout=0, isolation_level=None)
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    finally:
        raw.close()
    return True


# --- a write without begin_write --------------------------------------------------------------------------


def test_a_read_session_that_flushes_a_new_row_without_begin_write_raises(reading, session_factory):
    with reading() as s, pytest.raises(WriteWithoutBegin, match="must call begin_write"):
        make_user(s, name="Never written")
    assert _names(session_factory) == []


def test_a_read_session_that_flushes_a_changed_row_without_begin_write_raises(reading, session_factory):
    with session_factory.begin() as w:
        make_user(w, name="Before")
    with reading() as s:
        s.scalars(select(User)).one().name = "After"
        with pytest.raises(WriteWithoutBegin, match="1 changed"):
            s.flush()
    assert _names(session_factory) == ["Before"]


def test_a_read_session_that_runs_an_update_statement_without_begin_write_raises(reading, session_factory):
    # a statement passes no flush: it is caught where it is executed
    with session_factory.begin() as w:
        make_user(w, name="Before")
    with reading() as s, pytest.raises(WriteWithoutBegin, match="Update"):
        s.execute(update(User).values(name="After"))
    assert _names(session_factory) == ["Before"]


def test_after_begin_write_it_writes_and_after_the_commit_it_reads_again(reading, session_factory):
    with reading() as s:
        begin_write(s)
        make_user(s, name="Written")
        s.commit()
        with pytest.raises(WriteWithoutBegin):
            s.execute(update(User).values(name="Written again"))
        s.rollback()
        begin_write(s)  # a rollback ends the write phase just as well; the next one begins it again
        s.execute(update(User).values(name="Written again"))
        s.commit()
    assert _names(session_factory) == ["Written again"]


def test_begin_write_after_a_change_is_refused(reading, session_factory):
    with session_factory.begin() as w:
        make_user(w, name="Before")
    with reading() as s:
        s.scalars(select(User)).one().name = "After"
        with pytest.raises(WriteWithoutBegin, match="comes before the first change"):
            begin_write(s)
    assert _names(session_factory) == ["Before"]


def test_a_session_made_for_writing_needs_no_begin_write(session_factory):
    # jobs, the CLI and Slack's units of work: their whole transaction writes
    with session_factory() as s:
        make_user(s, name="Job")
        s.commit()
    assert _names(session_factory) == ["Job"]


# --- check_then_write --------------------------------------------------------------------------------------


def _rename(s: Session, calls: list[str]):
    """A service-like change: read, check, then write (refused when the name is taken)."""

    def change() -> User:
        calls.append("run")
        user = s.scalars(select(User)).one()
        if user.name == "Taken":
            raise ValidationFailed({"name": "that name is taken"})
        user.name = "Renamed"
        s.add(User(email=f"copy{len(calls)}@shop.example", name="Copy", password_hash="x"))
        s.flush()
        return user

    return change


def test_check_then_write_runs_once_when_no_other_writer_holds_the_lock(reading, session_factory, db):
    with session_factory.begin() as w:
        make_user(w, name="Before")
    calls: list[str] = []
    with reading() as s:
        user = check_then_write(s, _rename(s, calls))
        s.commit()
    assert user.name == "Renamed"
    assert calls == ["run"]  # SQLite: the lock was free, taken at once; PostgreSQL: no database-wide lock
    assert _names(session_factory) == ["Copy", "Renamed"]


def test_check_then_write_refuses_from_the_read_without_the_write_lock(reading, session_factory, db):
    with session_factory.begin() as w:
        make_user(w, name="Taken")
    calls: list[str] = []
    with reading() as s, another_writer(db):
        with pytest.raises(ValidationFailed):
            answered_at_once(lambda: check_then_write(s, _rename(s, calls)))
        assert calls == ["run"]


def test_check_then_write_waits_for_the_write_lock_only_to_write(sqlite_reading, sqlite_session_factory, sqlite_db):
    with sqlite_session_factory.begin() as w:
        make_user(w, name="Before")
    calls: list[str] = []
    with sqlite_reading() as s:
        with another_writer(sqlite_db):
            call = Call(lambda: check_then_write(s, _rename(s, calls)))
            assert call.waiting_after(0.5), "the write did not wait for the other writer"
            assert calls == ["run"]  # checked without the lock; waiting for it to write
        call.result(within=10)
        s.commit()
    assert calls == ["run", "run"]  # checked in the read, checked again and written under the lock
    assert _names(sqlite_session_factory) == ["Copy", "Renamed"]  # one copy: the first run's was undone


# --- on SQLite: who waits for the write lock ----------------------------------------------------------------


def test_a_read_session_reads_while_another_writer_holds_the_write_lock(
    sqlite_reading, sqlite_session_factory, sqlite_db
):
    with sqlite_session_factory.begin() as w:
        make_user(w, name="Before")
    with another_writer(sqlite_db), sqlite_reading() as s:
        assert answered_at_once(lambda: s.scalar(select(func.count()).select_from(User))) == 1


def test_begin_write_takes_the_write_lock_until_the_transaction_ends(sqlite_reading, sqlite_session_factory, sqlite_db):
    with sqlite_session_factory.begin() as w:
        make_user(w, name="Before")
    with sqlite_reading() as s:
        s.scalars(select(User)).one()
        assert _write_lock_free(sqlite_db), "a read took the write lock"
        begin_write(s)
        assert not _write_lock_free(sqlite_db)
        s.execute(update(User).values(name="After"))
        s.commit()
        assert _write_lock_free(sqlite_db)
    assert _names(sqlite_session_factory) == ["After"]


# --- write_unless_busy --------------------------------------------------------------------------------------


def _rename_all(name: str):
    return lambda s: s.execute(update(User).values(name=name))


def test_write_unless_busy_ends_the_read_writes_and_reads_on(reading, session_factory):
    with session_factory.begin() as w:
        make_user(w, name="Before")
    with reading() as s:
        user = s.scalars(select(User)).one()
        assert write_unless_busy(s, _rename_all("After")) is True
        assert user.name == "After"  # loaded again, in the next transaction: a read one
        with pytest.raises(WriteWithoutBegin):
            s.execute(update(User).values(name="Unasked"))
    assert _names(session_factory) == ["After"]


def test_write_unless_busy_does_nothing_at_once_while_another_writer_holds_the_lock(
    sqlite_reading, sqlite_session_factory, sqlite_db
):
    with sqlite_session_factory.begin() as w:
        make_user(w, name="Before")
    with sqlite_reading() as s:
        s.scalars(select(User)).one()
        with another_writer(sqlite_db):
            started = time.perf_counter()
            assert write_unless_busy(s, _rename_all("After")) is False
            assert time.perf_counter() - started < 1
            assert s.scalars(select(User.name)).one() == "Before"  # the session reads on
        assert _names(sqlite_session_factory) == ["Before"]
        # the lock free again, it writes; and its connection waits as long as before for the next writer
        assert write_unless_busy(s, _rename_all("After")) is True
        assert s.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
    assert _names(sqlite_session_factory) == ["After"]


def test_write_unless_busy_with_a_sessionmaker_uses_a_session_of_its_own(session_factory, db):
    with session_factory.begin() as w:
        make_user(w, name="Before")
    assert write_unless_busy(session_factory, _rename_all("After")) is True
    assert _names(session_factory) == ["After"]
    if db.dialect.name == "sqlite":
        with another_writer(db):
            assert answered_at_once(lambda: write_unless_busy(session_factory, _rename_all("Later"))) is False
        assert _names(session_factory) == ["After"]
