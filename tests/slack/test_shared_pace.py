"""Slack's one message a second per channel holds across dispatcher processes: the next free moment per
channel is kept in the database (send_pace), not in each process."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from hub.core.db import make_engine, make_session_factory
from hub.notifications.models import NotificationStatus, SendPace
from hub.notifications.pace import SharedPace
from integrations.slack.delivery import SlackDelivery
from jobs.dispatch import channel_adapters, dispatch
from tests.slack.test_delivery import _handoff, slack_outbox


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def engines(database_url: str, db: Engine) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on the test database: two dispatcher processes' connections."""
    first, second = make_engine(database_url), make_engine(database_url)
    yield first, second
    first.dispose()
    second.dispose()


def test_two_processes_share_one_pace_per_channel(engines):
    t = FakeTime()
    one, two = (SharedPace(e, 1.0, prefix="slack:", clock=t.clock, sleep=t.sleep) for e in engines)
    assert one.take("#a") == 0
    assert two.take("#a") == pytest.approx(1.0)  # another process: it waits behind the first
    assert one.take("#a") == pytest.approx(2.0)
    assert two.take("#b") == 0  # another channel is not held up
    t.now += 0.5
    assert two.wait("#a") == pytest.approx(2.5)  # slots 1, 2 and 3 s from the start are taken
    assert t.slept == [pytest.approx(2.5)]
    t.now += 60
    assert one.take("#a") == 0  # a quiet channel starts at once
    with make_session_factory(engines[0], read_only=True)() as s:
        assert set(s.scalars(select(SendPace.key))) == {"slack:#a", "slack:#b"}


def test_two_dispatchers_posting_to_one_channel_keep_the_pace_between_them(
    slack_runtime, session_factory, workflow, new_return, clock, slack_api, engines
):
    interval = 0.5
    for _ in range(6):
        _handoff(session_factory, workflow, new_return, clock)  # six messages to #returns-warehouse
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    slots: list[float] = []

    class Recording(SharedPace):
        def reserve(self, key: str) -> tuple[float, float]:
            start, now = super().reserve(key)
            slots.append(start)
            return start, now

    def dispatcher(engine: Engine, name: str) -> None:
        try:
            adapter = SlackDelivery(slack_runtime.settings, workflow, throttle=Recording(engine, interval))
            barrier.wait(10)
            dispatch(
                make_session_factory(engine),
                {"slack": adapter},
                clock=clock,
                worker=name,
                unavailable={"email": "e-mail is not tested here"},
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher, args=(e, f"host-{i}:1")) for i, e in enumerate(engines)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    # the two processes took six slots at least one interval apart (a pace per process would let them take the
    # same moments: gaps of about 0)
    slots.sort()
    assert len(slots) == 6
    assert min(b - a for a, b in zip(slots, slots[1:], strict=False)) >= interval - 1e-6, slots
    # and Slack got them spread out so: the sixth no sooner than five intervals after the first, give or take a
    # busy machine's wake-up (a pace per process would post all six within two intervals)
    posts = sorted(c.at for c in slack_api.calls_to("chat.postMessage") if c["channel"] == "#returns-warehouse")
    assert len(posts) == 6
    assert posts[-1] - posts[0] >= 4 * interval, posts
    rows = slack_outbox(session_factory, kind="handoff")
    assert {n.claimed_by for n in rows} == {None}
    assert {n.status for n in rows} == {NotificationStatus.SENT}
    assert len({n.delivery_ref for n in rows}) == 6


def test_the_dispatcher_paces_slack_through_the_database(slack_runtime):
    adapters, _ = channel_adapters(slack_runtime.settings, slack_runtime.workflow, slack_runtime.engine)
    throttle = adapters["slack"].throttle  # type: ignore[attr-defined]
    assert isinstance(throttle, SharedPace)
    assert (throttle.interval, throttle.prefix) == (1.0, "slack:")
    assert throttle.engine is slack_runtime.engine
