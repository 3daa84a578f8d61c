"""Benchmark the board: server time of GET /board, a move from the board, and an idle change-feed poll.

Run: .venv/bin/python bench/board.py [--sizes 1000,10000,100000] [--runs 30]
Builds a fresh SQLite database per size under a temp folder (rows bulk-inserted, not through the services,
so set-up stays quick), then times requests through the Flask app in-process: server time, no network.
Goals (DESIGN.md): board median < 60 ms and move < 25 ms at 10,000 open returns, and the board's cost
does not grow with returns outside the visible page.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from hub.accounts.models import Role, User  # noqa: E402
from hub.accounts.services import add_user, sync_teams  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.db import upgrade  # noqa: E402
from hub.returns.models import Channel, Event, Return, ReturnItem  # noqa: E402
from hub.runtime import Runtime  # noqa: E402
from hub.sla import due_at  # noqa: E402
from hub.workflow import load_workflow  # noqa: E402

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
SKUS = [f"SKU-{i:04d}" for i in range(300)]


def build(path: Path, n: int) -> Runtime:
    """A migrated SQLite database with n open returns spread over the open stages, and one lead."""
    wf = load_workflow()
    settings = Settings.from_env({}, instance_dir=path.parent, database_url=f"sqlite:///{path}", secret_key="bench")
    rt = Runtime.from_settings(settings, wf)
    rt.clock = lambda: NOW
    upgrade(rt.engine)
    rng = random.Random(7)
    stages = wf.open_stages
    with rt.unit_of_work() as s:
        sync_teams(s, wf)
        add_user(s, email="lead@bench.example", name="Bench Lead", password="bench-password", role=Role.LEAD,
                 team_keys=["warehouse"])
    returns, items, events = [], [], []
    for i in range(1, n + 1):
        stage = stages[i % len(stages)] if i > 5 else stages[0]
        entered = NOW - timedelta(minutes=rng.randint(5, 60 * 24 * 6))
        team = wf.teams[stage.team]
        due = due_at(entered, stage.sla, team)
        returns.append(dict(
            id=i, rma=f"RMA-{100000 + i}", order_number=f"ORD-{500000 + i}", customer_name=f"Customer {i}",
            customer_email=f"customer{i}@example.com", customer_locale="en", stage=stage.key,
            stage_entered_at=entered, stage_due_at=due, stage_warn_at=entered + (due - entered) * 0.75,
            promised_by=entered + timedelta(days=14), priority=1, is_blocked=False, status_token=f"tok{i}",
            version=1, created_at=entered,
        ))
        items.append(dict(return_id=i, sku=rng.choice(SKUS), product_name="Product", quantity=1, unit_price=10,
                          reason_code="too_small"))
        events.append(dict(return_id=i, actor_label="bench", channel=Channel.CLI, kind="created", to_stage=stage.key,
                           created_at=entered, payload={}))
    with rt.engine.begin() as conn:
        for table, rows in ((Return.__table__, returns), (ReturnItem.__table__, items), (Event.__table__, events)):
            for k in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[k:k + 5000])
    return rt


def timed(fn, runs: int) -> float:
    """Median milliseconds of fn() over runs (after one warm-up)."""
    fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def bench(n: int, runs: int, folder: Path) -> dict[str, float]:
    """Median server times for one database size."""
    t0 = time.perf_counter()
    rt = build(folder / f"board-{n}.sqlite3", n)
    setup = time.perf_counter() - t0
    app = create_app(runtime=rt, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    with rt.session_factory() as s:
        uid = s.scalar(select(User.id))
        movable = list(s.scalars(select(Return.rma).where(Return.stage == "new").order_by(Return.id).limit(runs + 1)))
    with client.session_transaction() as sess:
        sess["_user_id"] = str(uid)
        sess["_fresh"] = True

    def get_board() -> None:
        r = client.get("/board")
        assert r.status_code == 200, r.status_code

    def get_filtered() -> None:
        r = client.get("/board?q=customer 12&overdue=1", headers={"HX-Request": "true", "HX-Target": "board"})
        assert r.status_code == 200, r.status_code

    def poll() -> None:
        r = client.get("/board/changes?after=999999999")
        assert r.status_code == 200

    queue = iter(movable)

    def move() -> None:
        rma = next(queue)
        r = client.post(f"/returns/{rma}/move", data={"to_stage": "approved", "version": "1", "view": "card"},
                        headers={"HX-Request": "true"})
        assert r.status_code == 200, r.get_data(as_text=True)[:300]

    result = {"setup_s": setup, "board_ms": timed(get_board, runs), "filtered_ms": timed(get_filtered, runs),
              "move_ms": timed(move, runs - 1), "poll_ms": timed(poll, runs)}
    rt.engine.dispose()
    return result


def main() -> None:
    """Run the benchmark for each size and print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="open returns per run, comma-separated")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per measurement")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"{'open returns':>12} {'GET /board':>11} {'filtered':>9} {'move':>8} {'feed poll':>10}   (median ms)")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = bench(n, args.runs, Path(tmp))
            print(f"{n:>12,} {r['board_ms']:>11.1f} {r['filtered_ms']:>9.1f} {r['move_ms']:>8.1f} "
                  f"{r['poll_ms']:>10.1f}   (set-up {r['setup_s']:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
