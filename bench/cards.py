"""Benchmark per-card rendering: the same 250 board cards (five columns of 50) rendered N times.

Run: .venv/bin/python bench/cards.py [--open 1000] [--runs 200]
Fills a SQLite file under a temp folder (bench/common.py), loads the board's columns once, then times rendering
their cards as the board does (board/_more.html per column, the per-request card context included) inside one
request context of the bench lead: template work only, no SQL, no HTTP. Prints median and p95 per card and per
250 cards. Goal (issue 12, item 2): per card at least 2.4x faster than before the change (2x faster than
Kanboard's on the same cards, which was 1.2x faster than ours).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import NOW, fill, fresh_runtime
from flask import g, render_template
from sqlalchemy import select

from hub.accounts.models import User
from hub.app import create_app
from hub.returns import queries
from hub.returns.queries import BoardFilters
from hub.web.context import db
from hub.web.fragments import card_context


def main() -> None:
    """Render the cards `runs` times and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=1000, help="open returns in the database")
    parser.add_argument("--runs", type=int, default=200, help="timed renderings of all the cards")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rt = fresh_runtime(f"sqlite:///{Path(tmp) / 'cards.sqlite3'}")
        fill(rt, args.open)
        app = create_app(runtime=rt, WTF_CSRF_ENABLED=False)
        with app.test_request_context("/board"):
            me = db().scalars(select(User).where(User.email == "lead@bench.example")).one()
            g._login_user = me  # flask-login's current user, without a login row: nothing here checks it
            columns = queries.board(db(), rt.workflow, BoardFilters(), user_id=me.id, now=NOW)
            cards = sum(len(c.cards) for c in columns)

            def render() -> int:
                ctx = card_context()  # per request, so timed with the cards
                size = 0
                for col in columns:
                    html = render_template("board/_more.html", cards=col.cards, has_more=False, **ctx)
                    if col.cards and html.count('<li class="card') != len(col.cards):
                        sys.exit(f"bench/cards.py: the {col.stage.key} column did not render its cards")
                    size += len(html)
                return size

            size = render()  # warm-up: templates compiled
            samples = []
            for _ in range(args.runs):
                t = time.perf_counter()
                render()
                samples.append((time.perf_counter() - t) * 1000)
        rt.engine.dispose()
    med, p95 = statistics.median(samples), statistics.quantiles(samples, n=20, method="inclusive")[18]
    print(f"python {platform.python_version()} on {platform.machine()}, {args.open:,} open, {args.runs} runs")
    print(f"{'cards':>6} {'HTML bytes':>11} {'median ms':>10} {'p95 ms':>8} {'median µs/card':>15} {'p95 µs/card':>12}")
    print(f"{cards:>6} {size:>11,} {med:>10.2f} {p95:>8.2f} {med * 1000 / cards:>15.1f} {p95 * 1000 / cards:>12.1f}")


if __name__ == "__main__":
    main()
