"""Benchmark the delay scan: 100,000 open returns, 5% of them overdue, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/delay_scan.py [--returns 100000] [--overdue 0.05] [--postgres URL]
Times two scans: the first raises an overdue alert for each overdue return (its event and its
notifications to the team's Slack channel and mailbox, in one go); the second, right after, finds
nothing owed (the steady state, every 5 minutes). Goal (DESIGN.md): under 1 s on both databases.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import fill, fresh_runtime
from sqlalchemy import func, select

from hub.notifications.models import Notification
from jobs.delays import run_delay_scan


def bench(url: str, n: int, overdue: float) -> None:
    """Fill one database and time the scans."""
    rt = fresh_runtime(url)
    t = time.perf_counter()
    fill(rt, n, overdue_share=overdue)
    setup = time.perf_counter() - t
    name = rt.engine.dialect.name
    print(f"{name}: {n:,} open returns, {overdue:.0%} overdue (set-up {setup:.1f} s)")
    for label in ("first scan", "second scan"):
        t = time.perf_counter()
        report = run_delay_scan(rt)
        ms = (time.perf_counter() - t) * 1000
        print(f"  {label:<12} {ms:8.0f} ms   {report}")
    with rt.session_factory() as s:
        queued = s.scalar(select(func.count()).select_from(Notification))
    print(f"  notifications queued in all: {queued:,}")
    rt.engine.dispose()


def main() -> None:
    """Run on SQLite, and on PostgreSQL when a URL is given."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--returns", type=int, default=100_000)
    parser.add_argument("--overdue", type=float, default=0.05)
    parser.add_argument(
        "--postgres",
        default=None,
        help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench (its public schema is reset)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{Path(tmp) / 'scan.sqlite3'}", args.returns, args.overdue)
    if args.postgres:
        bench(args.postgres, args.returns, args.overdue)


if __name__ == "__main__":
    main()
