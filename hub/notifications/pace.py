"""A send pace shared by every dispatcher process: at most one message per interval per destination.

Slack allows about one message a second per channel. A pace kept in each process would let three
dispatchers send three a second; this one keeps the next free moment per destination in the database
(`send_pace`) and takes a slot with a single atomic statement, so processes on any host queue behind each
other. Times are wall-clock seconds: the dispatchers' hosts must keep their clocks in step (NTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, text

# one statement on both databases (SQLite 3.35+ has RETURNING): reserve the slot after the last one taken,
# or now when the destination has been quiet; what comes back is the end of the slot taken
_TAKE_SLOT = text(
    "INSERT INTO send_pace (key, next_at) VALUES (:key, :now + :interval) "
    "ON CONFLICT (key) DO UPDATE SET next_at = "
    "CASE WHEN send_pace.next_at > :now THEN send_pace.next_at ELSE :now END + :interval "
    "RETURNING next_at"
)


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
        """Reserve the key's next free slot; how many seconds from now it starts (0: at once)."""
        now = self._clock()
        with self.engine.begin() as conn:
            ends = conn.execute(
                _TAKE_SLOT, {"key": f"{self.prefix}{key}"[:300], "now": now, "interval": self.interval}
            ).scalar_one()
        return max(0.0, float(ends) - self.interval - now)

    def wait(self, key: str) -> float:
        """Wait for the key's next free slot and take it; returns how long it waited."""
        delay = self.take(key)
        if delay > 0:
            self._sleep(delay)
        return delay
