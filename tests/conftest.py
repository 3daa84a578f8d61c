"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via HUB_TEST_DATABASE_URL), cleaned per test."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import Settings
from hub.core.db import Base, make_engine, make_session_factory, upgrade
from hub.core.runtime import Runtime
from hub.workflow import Workflow, load_workflow

TEST_DB_ENV = "HUB_TEST_DATABASE_URL"
# Thursday 5 March 2026, 10:00 in Amsterdam: inside every team's working hours
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


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


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """A freshly migrated database for the whole run."""
    eng = make_engine(database_url)
    if eng.dialect.name == "postgresql":
        _reset_postgres(eng)
    upgrade(eng)
    yield eng
    eng.dispose()


def _clean(engine: Engine) -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        # DELETE, not TRUNCATE: a test leaves a handful of rows, and TRUNCATE's new files cost ~0.3 s
        # a test on PostgreSQL; ids are not reset, and no test may depend on them
        for t in tables:
            conn.execute(t.delete())


@pytest.fixture
def workflow() -> Workflow:
    """The built-in default workflow."""
    return load_workflow()


@pytest.fixture
def db(engine: Engine, workflow: Workflow) -> Iterator[Engine]:
    """The migrated database with the default teams, emptied again after the test."""
    from hub.accounts.services import sync_teams

    factory = make_session_factory(engine)
    with factory.begin() as session:
        sync_teams(session, workflow)
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
def settings(tmp_path, database_url: str) -> Settings:
    """Settings for an app or CLI run against the test database."""
    return Settings.from_env({}, instance_dir=tmp_path / "instance", database_url=database_url,
                             secret_key="test-secret-key")


@pytest.fixture
def runtime(settings: Settings, db: Engine, workflow: Workflow) -> Runtime:
    """A runtime wired to the test database and the default workflow."""
    return Runtime(settings, workflow, db, make_session_factory(db))


@pytest.fixture
def now() -> datetime:
    """A fixed moment inside working hours."""
    return NOW


# --- the web app --------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(runtime: Runtime):
    """The Flask app on the test database, with CSRF protection on as in production."""
    from hub.app import create_app

    return create_app(runtime=runtime, TESTING=True)


@pytest.fixture
def client(app):
    """A test client (not logged in)."""
    return app.test_client()


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email: str, password: str = "correct horse battery") -> str:
    """Log the client in; returns the session's CSRF token for later posts."""
    token = csrf_token(client)
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return csrf_token(client, "/board")
