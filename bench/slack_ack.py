"""Benchmark the Slack app: how fast a signed `/returns <RMA>` slash command is acknowledged.

Run: .venv/bin/python bench/slack_ack.py [--returns 10000] [--runs 50] [--database-url URL]
Builds a fresh SQLite database (or the PostgreSQL one given, whose public schema is dropped first) with
that many open returns, starts the app with Slack configured against a local server playing Slack's Web
API (tests/slack/fake_api.py), and posts requests signed as Slack signs them through the Flask test
client. "ack" is server time until the HTTP answer Slack waits for (it allows 3 s); "reply" is until the
ephemeral answer has reached the response_url, i.e. the whole command. Every answer is checked: the ack
must be a 200, and the reply must reach the response_url and name the return (or team) asked about; a
refused signature (--wrong-secret signs with another secret, to see it), a 500 or a reply about something
else stops the run with an error and no times.
Goal (DESIGN.md): ack median under 100 ms with 10,000 open returns.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from common import Refused, check_answer, database_version, fill, fresh_runtime, machine_header, run, table
from sqlalchemy import select, update

from hub.accounts.models import User
from hub.app import create_app
from tests.slack.fake_api import FakeSlackApi

TOKEN, SECRET = "xoxb-bench", "bench-signing-secret"


def signed_post(client, body: str, secret: str = SECRET):
    """POST /slack/events, signed as Slack signs it."""
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        "/slack/events",
        data=body.encode(),
        headers={
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def main() -> None:
    """Build, start, time, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--returns", type=int, default=10_000, help="open returns in the database")
    parser.add_argument("--runs", type=int, default=50, help="timed commands per measurement")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder")
    parser.add_argument("--wrong-secret", action="store_true", help="sign with another secret: the run must stop")
    args = parser.parse_args()
    secret = "not-the-signing-secret" if args.wrong_secret else SECRET

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rt = fresh_runtime(args.database_url or f"sqlite:///{Path(tmp) / 'slack.sqlite3'}")
        fill(rt, args.returns)
        with rt.unit_of_work() as s:
            s.execute(update(User).values(slack_user_id="UBENCH"))
            lead = s.scalar(select(User.name))
        setup = time.perf_counter() - t0

        api = FakeSlackApi(TOKEN)
        try:
            settings = replace(
                rt.settings,
                slack_bot_token=TOKEN,
                slack_signing_secret=SECRET,
                slack_api_url=api.url,
                instance_dir=Path(tmp),
            )
            runtime = replace(rt, settings=settings)
            app = create_app(runtime=runtime)
            ctx = app.extensions["hub.slack"]
            client = app.test_client()
            rng = random.Random(11)
            seq = iter(range(10**9))

            def command(text: str) -> tuple[float, float]:
                n = next(seq)
                expect = text.split()[-1] if text.split()[0] != "note" else text.split()[1]
                body = urlencode(
                    {
                        "command": "/returns",
                        "text": text,
                        "user_id": "UBENCH",
                        "team_id": "T1",
                        "channel_id": "C1",
                        "trigger_id": f"t{n}",
                        "response_url": api.response_url(f"r{n}"),
                    }
                )
                start = time.perf_counter()
                resp = signed_post(client, body, secret)
                acked = time.perf_counter()
                check_answer(f"/returns {text}", resp.status_code, resp.get_data())
                if not ctx.wait_idle(10):
                    raise Refused(f"/returns {text}: no reply within 10 s")
                done = time.perf_counter()
                last = api.calls[-1] if api.calls else None
                if last is None or last.path != f"/respond/r{n}":
                    raise Refused(f"/returns {text}: the reply did not reach its response_url: {last}")
                check_answer(f"/returns {text} (reply)", 200, json.dumps(last.args, ensure_ascii=False), marker=expect)
                return (acked - start) * 1000, (done - start) * 1000

            def measure(make_text) -> tuple[list[float], list[float]]:
                command(make_text())  # warm-up
                samples = [command(make_text()) for _ in range(args.runs)]
                return [a for a, _ in samples], [r for _, r in samples]

            def show() -> str:
                return f"RMA-{100000 + rng.randint(1, args.returns)}"

            def note() -> str:
                return f"note RMA-{100000 + rng.randint(1, args.returns)} bench note"

            results = {
                "/returns <RMA>": measure(show),
                "/returns note <RMA> …": measure(note),
                "/returns queue warehouse": measure(lambda: "queue warehouse"),
            }
            ctx.close()
        finally:
            api.stop()
        database = database_version(rt.engine)
        rt.engine.dispose()

    print(
        machine_header(
            "bench/slack_ack.py: signed slash commands, server time through the Flask test client",
            n=f"{args.returns:,} open returns; {args.runs} signed requests per command; acting as {lead}",
            database=database,
            extra=[f"set-up:   {setup:.1f} s"],
        )
    )
    rows = []
    for name, (acks, replies) in results.items():
        rows += [(f"{name}: ack", acks), (f"{name}: reply", replies)]
    print("\n" + table(rows, label="command"))


if __name__ == "__main__":
    run(main)
