"""A dispatcher killed mid-batch strands at most the row it was sending, and only for a short lease: a worker
started after it delivers the rest within 30 seconds, none twice. Real processes (`returns-hub dispatch`, then
`returns-hub worker`) and a real, slow SMTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hub.notifications.models import NotificationStatus
from hub.returns.services import move_return
from tests.email.support import BASE_URL, MAIL_FROM, outbox
from tests.factories import SYSTEM, make_return

RETURNS_HUB = str(Path(sys.executable).with_name("returns-hub"))


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.05)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([RETURNS_HUB, *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def test_a_worker_started_after_a_killed_dispatcher_delivers_the_rest_within_30_seconds_none_twice(
    session, session_factory, workflow, smtp, clock, database_url, tmp_path
):
    for i in range(6):
        r = make_return(session, workflow, now=clock(), customer_email=f"customer{i}@example.nl")
        move_return(session, workflow, SYSTEM, r.rma, "approved", now=clock())
    session.commit()
    emails = outbox(session_factory, channel="email")
    assert len(emails) == 12
    smtp.handler.rcpt_delay = 0.5  # a slow server: half a second before it answers each RCPT
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_INSTANCE_DIR": str(tmp_path / "instance"),
        "HUB_CONFIG": "",
        "HUB_SMTP_URL": smtp.url,
        "HUB_BASE_URL": BASE_URL,
        "HUB_MAIL_FROM": MAIL_FROM,
        "HUB_SECRET_KEY": "test-secret-key",
        "SLACK_BOT_TOKEN": "",
        "SLACK_SIGNING_SECRET": "",
    }

    first = _start(["dispatch"], env, tmp_path / "dispatch.log")
    try:
        # three delivered, the fourth in its RCPT: kill it there (before the server has the message)
        _wait_for(lambda: smtp.handler.rcpts >= 4 or first.poll() is not None, 60, "the fourth message's RCPT")
        assert first.poll() is None, (tmp_path / "dispatch.log").read_text()
        first.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert len(smtp.received) == 3
    rows = outbox(session_factory, channel="email")
    # one claim at a time: only the row being sent is stranded
    assert sorted(n.status.value for n in rows) == ["pending"] * 8 + ["sending"] + ["sent"] * 3

    first_twelve = {n.id for n in emails}
    # the worker also runs the delay scan on start: these returns are long overdue by the wall clock, so its
    # alerts join the outbox; what is checked here is the twelve the killed dispatcher left
    worker = _start(["worker"], env, tmp_path / "worker.log")
    try:
        _wait_for(
            lambda: (
                all(
                    n.status is NotificationStatus.SENT
                    for n in outbox(session_factory, channel="email")
                    if n.id in first_twelve
                )
                or worker.poll() is not None
            ),
            40,
            "every e-mail to be sent",
        )
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        delivered_in = time.monotonic() - killed_at
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
    assert delivered_in < 30, f"the rest took {delivered_in:.1f} s"
    counts = smtp.count_by_message_id()
    keys = {f"<{n.message_key}@mail.shop.example>" for n in emails}
    assert {key: counts.get(key) for key in keys} == dict.fromkeys(keys, 1)
    assert set(counts.values()) == {1}  # the alerts too: nothing twice
