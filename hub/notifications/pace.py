"""A send pace shared by every dispatcher process: at most one message per interval per destination.

Slack allows about one message a second per channel. A pace kept in each process would let three
dispatchers send three a second; this one keeps the next free moment per destination in the database
(`send_pace`) and takes a slot under the row's lock, so processes on any host queue behind each other.
Times are wall-clock seconds: the dispatchers' hosts must keep their clocks in step (NTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, Executable, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.notifications.models import SendPace


class SharedPace:
    """At most one send per `interval` seconds per key, across every process using the same database."""

    def __init__(
        self,
        engine: Engine,
        interval: float = 1.0,
        *,
        prefix: str = "",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine, self.interval, self.prefix = engine, interval, prefix
        self._clock, self._sleep = clock, sleep

    def take(self, key: str) -> float:
        """Reserve the key's next free slot; how many seconds from now it starts (0: at once).

        The destination's row is locked first (SQLite: the write lock; PostgreSQL: the row), and the clock is
        read only then: time spent waiting for another dispatcher never shortens the gap after its slot.
        """
        start, now = self.reserve(key)
        return start - now

    def reserve(self, key: str) -> tuple[float, float]:
        """Reserve the key's next free slot: (when it starts, now), in seconds since the epoch."""
        key = f"{self.prefix}{key}"[:300]
        with self.engine.begin() as conn:
            conn.execute(_create(conn.dialect.name, key))
            taken = conn.execute(select(SendPace.next_at).where(SendPace.key == key).with_for_update()).scalar_one()
            now = self._clock()
            start = max(now, taken)
            conn.execute(update(SendPace).where(SendPace.key == key).values(next_at=start + self.interval))
        return start, now

    def wait(self, key: str) -> float:
        """Wait for the key's next free slot and take it; returns how long it waited."""
        delay = self.take(key)
        if delay > 0:
            self._sleep(delay)
        return delay


def _create(dialect: str, key: str) -> Executable:
    """Insert the destination's row unless it is there (an INSERT that never fails on a conflict)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(SendPace).values(key=key, next_at=0.0).on_conflict_do_nothing(index_elements=["key"])
