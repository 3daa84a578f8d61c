"""Benchmark the delay scan: 100,000 open returns, 5% of them overdue, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/delay_scan.py [--returns 100000] [--overdue 0.05] [--runs 10] [--postgres URL]
Times two kinds of scan: the first raises an overdue alert for each overdue return (its event and its
notifications to the team's Slack channel and mailbox, in one go), once per database; the next ones, right
after, find nothing owed (the steady state, every 5 minutes), --runs times. Every scan's report is checked:
the first must raise exactly one overdue alert per overdue return and queue notifications, the others must
raise nothing; anything else stops the run with an error and no times.
Goal (DESIGN.md): under 1 s on both databases; issue 12: the first scan under 0.5 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import Refused, database_version, fill, fresh_runtime, machine_header, run, table
from sqlalchemy import func, select

from hub.notifications.models import Notification
from jobs.delays import run_delay_scan


def scan(rt) -> tuple[float, object]:
    """One scan: (milliseconds, its report)."""
    t = time.perf_counter()
    report = run_delay_scan(rt)
    return (time.perf_counter() - t) * 1000, report


def bench(url: str, n: int, overdue: float, runs: int) -> tuple[str, float, dict[str, list[float]]]:
    """Fill one database and time the scans: (database, set-up seconds, samples per scan kind)."""
    rt = fresh_runtime(url)
    t = time.perf_counter()
    fill(rt, n, overdue_share=overdue)
    setup = time.perf_counter() - t
    name = database_version(rt.engine)
    expected = n // round(1 / overdue)  # fill() makes every round(1/overdue)-th return overdue
    ms, first = scan(rt)
    raised = dict(first.raised)
    if raised.get("overdue", 0) != expected or sum(raised.values()) != expected or not first.notifications:
        raise Refused(f"{name}: the first scan should raise {expected:,} overdue alerts and queue notices: {first}")
    steady = []
    for _ in range(runs):
        ms_again, again = scan(rt)
        if sum(again.raised.values()):
            raise Refused(f"{name}: a scan right after the first should raise nothing: {again}")
        steady.append(ms_again)
    with rt.session_factory() as s:
        queued = s.scalar(select(func.count()).select_from(Notification))
    if queued != first.notifications:
        raise Refused(f"{name}: {queued:,} notifications in the outbox, the scan said {first.notifications:,}")
    rt.engine.dispose()
    return name, setup, {f"first scan ({expected:,} alerts)": [ms], "next scan (nothing owed)": steady}


def main() -> None:
    """Run on SQLite, and on PostgreSQL when a URL is given."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--returns", type=int, default=100_000)
    parser.add_argument("--overdue", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=10, help="timed steady-state scans after the first")
    parser.add_argument(
        "--postgres",
        default=None,
        help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench (its public schema is reset)",
    )
    args = parser.parse_args()
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        found.append(bench(f"sqlite:///{Path(tmp) / 'scan.sqlite3'}", args.returns, args.overdue, args.runs))
    if args.postgres:
        found.append(bench(args.postgres, args.returns, args.overdue, args.runs))
    print(
        machine_header(
            "bench/delay_scan.py: run_delay_scan() in process",
            n=f"{args.returns:,} open returns, {args.overdue:.0%} overdue; {args.runs} steady-state scans",
            database="; ".join(name for name, _, _ in found),
            extra=["set-up:   " + ", ".join(f"{name} {setup:.1f} s" for name, setup, _ in found)],
        )
    )
    rows = [(f"{label} on {name}", samples) for name, _, kinds in found for label, samples in kinds.items()]
    print("\n" + table(rows))


if __name__ == "__main__":
    run(main)
