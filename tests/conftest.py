"""Fixtures every test folder may use: a migrated database (SQLite, or PostgreSQL via HUB_TEST_DATABASE_URL)
cleaned per test, the runtime and the web app on it, a clock moved by hand, an SMTP server, cheap passwords;
and for tests of SQLite's write lock, an SQLite database with its runtime and app on both passes (`sqlite_*`).

A folder's own fixtures live in its conftest.py; helpers that are no fixtures live in tests/factories.py
and the folders' support.py modules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import generate_password_hash

from hub.core.config import Settings
from hub.core.db import Base, make_engine, make_session_factory, upgrade
from hub.core.runtime import Runtime
from hub.workflow import Workflow, load_workflow
from tests.email.support import SmtpServer
from tests.factories import NOW, Clock

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

TEST_DB_ENV = "HUB_TEST_DATABASE_URL"


# --- passwords -----------------------------------------------------------------------------------------

CHEAP_HASH_METHOD = "pbkdf2:sha256:1"


def _cheap_password_hash(password: str, *_args: Any, **_kwargs: Any) -> str:
    return generate_password_hash(password, method=CHEAP_HASH_METHOD)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[dict[str, Any]]:
    """Every password the run sets (factories, the CLI, the demo seeder) and the stand-in hash that unknown
    e-mails are checked against get one round of PBKDF2 instead of scrypt (~75 ms a hash; the suite makes
    and checks thousands). Yields the real ones, for `real_password_hashing`."""
    import hub.accounts.services as accounts

    real = {"generate_password_hash": accounts.generate_password_hash, "_DUMMY_HASH": accounts._DUMMY_HASH}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "generate_password_hash", _cheap_password_hash)
        mp.setattr(accounts, "_DUMMY_HASH", _cheap_password_hash("not a password of anyone"))
        yield real


@pytest.fixture
def real_password_hashing(cheap_password_hashing: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The product's own password hashing, for a test about it."""
    import hub.accounts.services as accounts

    for name, value in cheap_password_hashing.items():
        monkeypatch.setattr(accounts, name, value)


# --- the database --------------------------------------------------------------------------------------


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database: PostgreSQL when HUB_TEST_DATABASE_URL is set, else a fresh SQLite file."""
    url = os.environ.get(TEST_DB_ENV)
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def _migrated(url: str) -> Engine:
    """An engine on the database at `url`, emptied (PostgreSQL) and migrated to the newest revision."""
    eng = make_engine(url)
    if eng.dialect.name == "postgresql":
        _reset_postgres(eng)
    upgrade(eng)
    return eng


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """A freshly migrated database for the whole run."""
    eng = _migrated(database_url)
    yield eng
    eng.dispose()


def _clean(engine: Engine) -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        # DELETE, not TRUNCATE: a test leaves a handful of rows, and TRUNCATE's new files cost ~0.3 s
        # a test on PostgreSQL; ids are not reset, and no test may depend on them
        for t in tables:
            conn.execute(t.delete())


@pytest.fixture(scope="session")
def empty_database(engine: Engine) -> Callable[[], None]:
    """Empties every table of the test database (the teams too): for a fixture that fills it for several tests."""
    return lambda: _clean(engine)


@pytest.fixture(scope="session")
def workflow() -> Workflow:
    """The built-in default workflow (frozen: a test that needs another builds it, see tests/factories.py)."""
    return load_workflow()


def _add_teams(engine: Engine, workflow: Workflow) -> None:
    from hub.accounts.services import sync_teams

    with make_session_factory(engine).begin() as session:
        sync_teams(session, workflow)


@pytest.fixture
def db(engine: Engine, workflow: Workflow) -> Iterator[Engine]:
    """The migrated database with the default teams, emptied again after the test."""
    _add_teams(engine, workflow)
    yield engine
    _clean(engine)


@pytest.fixture
def session_factory(db: Engine) -> sessionmaker[Session]:
    """Sessions on the test database."""
    return make_session_factory(db)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session; the test commits when it needs to."""
    with session_factory() as s:
        yield s


@pytest.fixture
def sqlite_db(db: Engine, workflow: Workflow, tmp_path: Path) -> Iterator[Engine]:
    """A database with SQLite's database-wide write lock, for a test about that lock: the test database on the
    SQLite pass; on the PostgreSQL pass a private SQLite file, migrated and with the default teams as `db` is."""
    if db.dialect.name == "sqlite":
        yield db
        return
    private = _migrated(f"sqlite:///{tmp_path / 'write-lock.sqlite3'}")
    _add_teams(private, workflow)
    yield private
    private.dispose()


@pytest.fixture
def sqlite_session_factory(sqlite_db: Engine) -> sessionmaker[Session]:
    """Sessions on `sqlite_db`."""
    return make_session_factory(sqlite_db)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A fresh SQLite file nobody has touched (not the test database)."""
    return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"


# --- settings, runtime, clock ------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:
    """Settings for an app or CLI run against the test database."""
    return Settings.from_env(
        {}, instance_dir=tmp_path / "instance", database_url=database_url, secret_key="test-secret-key"
    )


@pytest.fixture
def runtime(settings: Settings, db: Engine, workflow: Workflow) -> Runtime:
    """A runtime wired to the test database and the default workflow (on the real clock: a folder whose
    tests move time puts it on `clock` in its conftest.py)."""
    return Runtime(settings, workflow, db, make_session_factory(db))


@pytest.fixture
def sqlite_runtime(runtime: Runtime, sqlite_db: Engine) -> Runtime:
    """The runtime on `sqlite_db`, on the test runtime's clock (a fixture that freezes or moves it moves this one)."""
    return replace(
        runtime,
        settings=replace(runtime.settings, database_url=sqlite_db.url.render_as_string(hide_password=False)),
        engine=sqlite_db,
        session_factory=make_session_factory(sqlite_db),
        clock=runtime.now,
    )


@pytest.fixture
def now() -> datetime:
    """A fixed moment inside working hours."""
    return NOW


@pytest.fixture
def clock(now: datetime) -> Clock:
    """A clock moved by hand, starting at the suite's fixed moment (Thursday 5 March 2026, 09:00 UTC)."""
    return Clock(now)


# --- e-mail ------------------------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A running SMTP server that records every message; `smtp.stop()` / `smtp.start()` take it away and back."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_runtime(runtime: Runtime, smtp: SmtpServer) -> Runtime:
    """The runtime, sending e-mail through the test SMTP server."""
    return replace(runtime, settings=replace(runtime.settings, smtp_url=smtp.url))


# --- the web app -------------------------------------------------------------------------------------------


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates shared by every app of the test run (keyed by the template's source checksum)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _MemoryBytecodeCache()


def _test_app(runtime: Runtime) -> Flask:
    from hub.app import create_app

    app = create_app(runtime=runtime, TESTING=True)
    app.jinja_env.bytecode_cache = _TEMPLATES
    return app


@pytest.fixture
def app(runtime: Runtime):
    """The Flask app on the test database, with CSRF protection on as in production; it compiles each
    template once per run, not once per test's app."""
    return _test_app(runtime)


@pytest.fixture
def client(app):
    """A test client (not logged in)."""
    return app.test_client()


@pytest.fixture
def sqlite_app(sqlite_runtime: Runtime) -> Flask:
    """The Flask app on `sqlite_db`, built as `app` is (another app than `app`, on the SQLite pass too)."""
    return _test_app(sqlite_runtime)


@pytest.fixture
def sqlite_client(sqlite_app: Flask) -> FlaskClient:
    """A test client of `sqlite_app` (not logged in)."""
    return sqlite_app.test_client()
