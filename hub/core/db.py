"""Database plumbing: declarative base, engines, sessions, the unit of work and the schema check."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# the largest id, event id or version: they are INTEGER columns (32 bits, signed) on both databases
MAX_INTEGER = 2**31 - 1

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every model, with a constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def enum_values(cls: type[enum.Enum]) -> list[str]:
    """Store an enum by its value (what the CHECK constraint lists)."""
    return [m.value for m in cls]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; SQLite files get WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 15})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # let SQLAlchemy, not pysqlite, decide when transactions begin
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # SQLite's lower() folds ASCII only; search must find "Özlem" by "özlem", as PostgreSQL does
            dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # writers take the write lock up front, so two of them queue instead of deadlocking;
            # readers (WAL) need no lock at all and never wait for a writer
            options = conn.get_execution_options()
            if options.get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            elif options.get(NO_WAIT):
                _begin_immediate_now(conn)
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _begin_immediate_now(conn: Any) -> None:
    """BEGIN IMMEDIATE without waiting: "database is locked" at once when another writer holds the lock."""
    waits = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    conn.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(waits)}")


READ_ONLY = "hub_read_only"
NO_WAIT = "hub_no_wait"  # SQLite: take the write lock only if it is free this moment (write_unless_busy)
WRITING = "hub_writing"  # Session.info: begin_write() was called in this transaction
T = TypeVar("T")


class WriteWithoutBegin(RuntimeError):
    """A session made for reading was about to write without begin_write()."""


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit.

    `read_only` ones read first: on SQLite they take no write lock (a reader never waits for a writer), and
    they write only after begin_write(), which starts the transaction the write goes in.
    """
    if not read_only:
        return sessionmaker(engine, expire_on_commit=False)
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False, info={READ_ONLY: True})


def begin_write(session: Session) -> None:
    """From here on this transaction writes: call it after reading and validating, right before the change.

    On SQLite it ends the read snapshot and takes the write lock at once (BEGIN IMMEDIATE), so the lock is
    held only around the write, and what is read from here on (the return and its version, checked again)
    is current; objects loaded before are reloaded when next used. On PostgreSQL the transaction goes on:
    rows are locked as they are written, and a return's version catches a lost update.
    """
    _start_writing(session, wait=True)


def _start_writing(session: Session, *, wait: bool) -> bool:
    """Make the session's transaction a writing one (begin_write); with `wait=False`, only if SQLite's write lock
    is free this moment: False, the session reading on, when another writer holds it."""
    if session.info.get(WRITING):
        return True
    if session.new or session.dirty or session.deleted:
        raise WriteWithoutBegin("begin_write() comes before the first change, not after it")
    if session.get_bind().dialect.name == "sqlite":
        session.rollback()  # a snapshot's reads cannot turn into a write once another writer committed
        try:
            session.connection(execution_options={READ_ONLY: False, NO_WAIT: not wait})
        except OperationalError as exc:
            session.rollback()
            if not wait and getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
                return False
            raise
    session.info[WRITING] = True
    return True


def check_then_write(session: Session, change: Callable[[], T]) -> T:
    """Run `change` (a service call on `session`) in a writing transaction, without waiting for SQLite's write
    lock to find out that it is refused.

    On SQLite, when the lock is free it is taken at once and `change` runs once. When another writer holds it,
    `change` first runs in the read transaction up to its first write (WriteWithoutBegin) and is undone: a
    refusal (no such return, a stale version, a wrong field) comes from that run without waiting. Otherwise it
    waits for the lock and runs again, loading the rows anew and checking everything on what is current. So a
    service called here must do nothing but database work before its first write (it may run twice).
    On PostgreSQL, where reads wait for no lock, it runs once.
    """
    if session.get_bind().dialect.name != "sqlite":  # no database-wide lock to spare: one run, reading as it goes
        begin_write(session)
        return change()
    if _start_writing(session, wait=False):
        return change()
    with suppress(WriteWithoutBegin):  # raised at the first write: every check before it passed
        change()
    session.rollback()
    begin_write(session)
    return change()


def write_unless_busy(session: Session | sessionmaker[Session], work: Callable[[Session], object]) -> bool:
    """Do `work` in a transaction of its own and commit it, unless that means waiting: then do nothing, and False.

    For a write a page can do without (the board's "seen" mark), rather than wait while another request holds
    SQLite's write lock; on PostgreSQL, which has no database-wide lock, it just writes. Given a request's
    session, it ends that session's transaction first (objects loaded before reload when used) and the session
    reads on afterwards: the request never holds two pooled connections at once. Given a sessionmaker, it
    uses a session of its own.
    """
    if not isinstance(session, Session):
        with session() as own:
            return write_unless_busy(own, work)
    if not _start_writing(session, wait=False):
        return False
    work(session)
    session.commit()
    return True


def _may_write(session: Session) -> bool:
    return not session.info.get(READ_ONLY) or bool(session.info.get(WRITING))


@event.listens_for(Session, "before_flush")
def _writes_need_begin(session: Session, _flush_context: Any, _instances: Any) -> None:
    if not _may_write(session):
        raise WriteWithoutBegin(
            "a session made for reading must call begin_write() before it changes anything "
            f"({len(session.new)} new, {len(session.dirty)} changed, {len(session.deleted)} deleted)"
        )


@event.listens_for(Session, "do_orm_execute")
def _statements_need_begin(state: ORMExecuteState) -> None:
    # an INSERT, UPDATE or DELETE statement passes no flush: on SQLite it would turn the read into a write
    # inside the old snapshot (waiting for the lock, or "database is locked" once another writer committed)
    if (state.is_insert or state.is_update or state.is_delete) and not _may_write(state.session):
        raise WriteWithoutBegin(
            f"a session made for reading must call begin_write() before it runs {type(state.statement).__name__}"
        )


@event.listens_for(Session, "after_transaction_end")
def _reads_again(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the transaction ended (not a savepoint): the next one reads until told
        session.info.pop(WRITING, None)


@contextmanager
def unit_of_work(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back when it raises."""
    session = session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --- schema: Alembic --------------------------------------------------------------


class SchemaError(RuntimeError):
    """The database schema is missing or behind the code."""


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest migration this code ships."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return script.get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None when it has none."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to `revision`."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def check_schema(engine: Engine) -> None:
    """Raise SchemaError unless the schema is at the newest migration: saying to run init-db when it is behind,
    to install the newer version when another host's init-db took it further than this code knows."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        has_tables = bool(set(inspect(engine).get_table_names()) - {"alembic_version"})
        what = "has tables but no migration record" if has_tables else "is empty"
        raise SchemaError(f"The database {what}: run `returns-hub init-db` to create the schema.")
    if not _known_revision(current):
        raise SchemaError(
            f"The database schema is at revision {current}, newer than this version of Returns Hub knows "
            f"(it needs {head}): another host upgraded it; install the version it runs here too."
        )
    raise SchemaError(
        f"The database schema is at revision {current}, this version needs {head}: "
        "run `returns-hub init-db` to upgrade it."
    )


def _known_revision(revision: str) -> bool:
    """Whether this code ships the migration `revision` (an older one), rather than a newer version's."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision) is not None
    except CommandError:  # "Can't locate revision": written by a newer version
        return False


def ping(engine: Engine) -> None:
    """Raise if the database cannot be reached."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
