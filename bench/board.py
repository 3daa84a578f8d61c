"""Benchmark the board: server time of GET /board, a move from the board, and an idle change-feed poll.

Run: .venv/bin/python bench/board.py [--sizes 1000,10000,100000] [--runs 30]
Builds a fresh SQLite database per size under a temp folder (rows bulk-inserted, not through the services,
so set-up stays quick), then times requests through the Flask app in-process: server time, no network.
Goals (DESIGN.md): board median < 60 ms and move < 25 ms at 10,000 open returns, and the board's cost
does not grow with returns outside the visible page.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import fill, fresh_runtime
from sqlalchemy import select

from hub.accounts.models import User
from hub.app import create_app
from hub.returns.models import Return


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
    rt = fresh_runtime(f"sqlite:///{folder / f'board-{n}.sqlite3'}")
    fill(rt, n)
    setup = time.perf_counter() - t0
    app = create_app(runtime=rt, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    with rt.session_factory() as s:
        session_id = s.scalars(select(User)).first().get_id()  # what a login stores (with its fingerprint)
        movable = list(s.scalars(select(Return.rma).where(Return.stage == "new").order_by(Return.id).limit(runs + 1)))
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
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
        r = client.post(
            f"/returns/{rma}/move",
            data={"to_stage": "approved", "version": "1", "view": "card"},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200, r.get_data(as_text=True)[:300]

    result = {
        "setup_s": setup,
        "board_ms": timed(get_board, runs),
        "filtered_ms": timed(get_filtered, runs),
        "move_ms": timed(move, runs - 1),
        "poll_ms": timed(poll, runs),
    }
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
            print(
                f"{n:>12,} {r['board_ms']:>11.1f} {r['filtered_ms']:>9.1f} {r['move_ms']:>8.1f} "
                f"{r['poll_ms']:>10.1f}   (set-up {r['setup_s']:.1f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
