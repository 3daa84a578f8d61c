"""Helpers for tests of the write phase: another connection in the middle of a write, and a call with a deadline."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.core.db import make_session_factory
from hub.returns.models import Return


@contextmanager
def another_writer(engine: Engine, rma: str | None = None) -> Iterator[Session]:
    """A session of another request in the middle of its write until the block ends (then rolled back, unless
    the test committed it): on SQLite it holds the database's write lock (BEGIN IMMEDIATE); on PostgreSQL,
    which has no such lock, it holds return `rma`'s row (FOR UPDATE)."""
    with make_session_factory(engine)() as session:
        if engine.dialect.name == "sqlite":
            session.execute(select(1))  # a write session's first statement takes the write lock
        elif rma is not None:
            session.execute(select(Return.id).where(Return.rma == rma).with_for_update())
        try:
            yield session
        finally:
            session.rollback()


class Call:
    """A call running on a thread of its own, so a test can see it wait (and fail, not hang, when it does)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn, self._result, self._error = fn, None, None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._fn()
        except BaseException as exc:  # handed to the test by result()
            self._error = exc

    def waiting_after(self, seconds: float) -> bool:
        """Whether the call is still running `seconds` from now."""
        self._thread.join(timeout=seconds)
        return self._thread.is_alive()

    def result(self, within: float) -> Any:
        """The call's return value, raising its exception; fails the test when it takes longer than `within`."""
        self._thread.join(timeout=within)
        assert not self._thread.is_alive(), f"the call was still running after {within} s: it waited for a lock"
        if self._error is not None:
            raise self._error
        return self._result


def answered_at_once(fn: Callable[[], Any], within: float = 3.0) -> Any:
    """fn()'s value, when it comes within `within` seconds (SQLite's busy timeout is 15 s: a wait shows)."""
    return Call(fn).result(within)
