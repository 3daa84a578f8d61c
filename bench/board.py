"""Benchmark the board: server time of GET /board, a move from the board, an idle change-feed poll, and searches.

Run: .venv/bin/python bench/board.py [--sizes 1000,10000,100000] [--runs 30] [--closed N] [--database-url URL [--reuse]]
Builds a fresh database per size (a SQLite file under a temp folder, or the PostgreSQL database of
--database-url, which it empties first; rows bulk-inserted, not through the services, so set-up stays quick),
then times requests through the Flask app in-process: server time, no network. Sizes are open returns;
--closed adds that many returns closed at some time in the last two years (what search must also find).
Goals (DESIGN.md): board median < 60 ms and move < 25 ms at 10,000 open returns, and the board's cost
does not grow with returns outside the visible page; a search over every return p95 < 50 ms at 1,000,000
on PostgreSQL and < 300 ms at 100,000 on SQLite.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import NOW, existing_runtime, fill, fresh_runtime, tracking_number
from sqlalchemy import select

from hub.accounts.logins import start_login
from hub.accounts.models import User
from hub.app import create_app
from hub.returns import queries
from hub.returns.models import Return
from hub.returns.queries import BoardFilters


def timed(fn, runs: int) -> float:
    """Median milliseconds of fn() over runs (after one warm-up)."""
    return statistics.median(samples_of(fn, runs))


def samples_of(fn, runs: int) -> list[float]:
    """Milliseconds of each of runs calls of fn() (after one warm-up)."""
    fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def p95(samples: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def searches(n: int, closed: int) -> dict[str, tuple[str, str]]:
    """What the search benchmark types, and a text each answer must contain."""
    total = n + closed
    middle = total // 2 + 1  # closed when there are closed returns
    parcel = next(i for i in range(total // 3, total + 1) if i > n or (i % 5) in (2, 3, 4))  # a tracked one
    return {
        "surname": ("muller", "Müller"),  # typed without its accent
        "first + surname": ("anna muller", "Anna Müller"),
        "RMA": (f"RMA-{100000 + middle}", f"RMA-{100000 + middle}"),
        "tracking no.": (tracking_number(parcel), f"RMA-{100000 + parcel}"),
        "product word": ("kettle", "Gooseneck kettle"),
        "common product": ("jeans", "Slim-fit jeans"),  # 16% of returns: the worst case, not the budget's
    }


def bench(n: int, runs: int, folder: Path, closed: int, database_url: str | None, reuse: bool = False) -> dict:
    """Median server times for one database size, and median and p95 of each search."""
    t0 = time.perf_counter()
    rt = existing_runtime(database_url, n + closed) if database_url and reuse else None
    if rt is None:
        rt = fresh_runtime(database_url or f"sqlite:///{folder / f'board-{n}.sqlite3'}")
        fill(rt, n, closed=closed)
    setup = time.perf_counter() - t0
    app = create_app(runtime=rt, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    with rt.session_factory() as s:
        user = s.scalars(select(User)).first()
        user.attach_login(start_login(s, user, remember=False, user_agent="bench/board.py", now=rt.now()))
        session_id = user.get_id()  # what a login's cookie carries: the user's id and the login's key
        s.commit()
        movable = list(s.scalars(select(Return.rma).where(Return.stage == "new").order_by(Return.id).limit(runs + 1)))
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True

    def get_board() -> None:
        r = client.get("/board")
        assert r.status_code == 200, r.status_code

    def get_filtered() -> None:
        # e-mails customer12@, customer120@ ...: the same returns "customer 12" found before names were realistic
        r = client.get("/board?q=customer12&overdue=1", headers={"HX-Request": "true", "HX-Target": "board"})
        assert r.status_code == 200, r.status_code
        assert 'class="card' in r.get_data(as_text=True)

    def search(q: str, expect: str):
        def get() -> None:
            r = client.get("/board", query_string={"q": q}, headers={"HX-Request": "true", "HX-Target": "board"})
            assert r.status_code == 200, r.status_code
            html = r.get_data(as_text=True)
            assert expect in html, (q, expect)
            assert "search-problem" not in html

        return get

    def lookup(q: str):
        """The search itself: every column's counts and first page of cards, without rendering them."""
        filters = BoardFilters(q=q)
        user_id = int(session_id.split(":")[0])

        def find() -> None:
            with rt.session_factory() as s:
                columns = queries.board(s, rt.workflow, filters, user_id=user_id, now=NOW)
            assert sum(c.count for c in columns) > 0, q

        return find

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
        "searches": {name: samples_of(search(q, expect), runs) for name, (q, expect) in searches(n, closed).items()},
        "lookups": {name: samples_of(lookup(q), runs) for name, (q, _) in searches(n, closed).items()},
    }
    rt.engine.dispose()
    return result


def main() -> None:
    """Run the benchmark for each size and print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="open returns per run, comma-separated")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per measurement")
    parser.add_argument("--closed", type=int, default=0, help="closed returns besides the open ones")
    parser.add_argument("--database-url", help="a PostgreSQL database to use (emptied!) instead of SQLite files")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --database-url: keep a database an earlier run filled with as many returns (its moves included)",
    )
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"{'open returns':>12} {'GET /board':>11} {'filtered':>9} {'move':>8} {'feed poll':>10}   (median ms)")
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = bench(n, args.runs, Path(tmp), args.closed, args.database_url, args.reuse)
            print(
                f"{n:>12,} {r['board_ms']:>11.1f} {r['filtered_ms']:>9.1f} {r['move_ms']:>8.1f} "
                f"{r['poll_ms']:>10.1f}   (set-up {r['setup_s']:.1f} s)",
                flush=True,
            )
            found.append((n, r["searches"], r["lookups"]))
    print(f"\nsearch, {args.runs} runs each; returns = open + {args.closed:,} closed")
    print("  request: GET /board?q=... (the htmx fragment, up to 50 cards rendered per column)")
    print("  search: the same counts and first pages of cards from the database, not rendered")
    head = f"{'request median':>15} {'p95':>7} {'search median':>14} {'p95':>7}"
    print(f"{'returns':>12} {'search':<16} {'typed':<20} {head}")
    for n, results, lookups in found:
        typed = searches(n, args.closed)
        for name, samples in results.items():
            bare = lookups[name]
            print(
                f"{n + args.closed:>12,} {name:<16} {typed[name][0]:<20} "
                f"{statistics.median(samples):>15.1f} {p95(samples):>7.1f} "
                f"{statistics.median(bare):>14.1f} {p95(bare):>7.1f}"
            )


if __name__ == "__main__":
    main()
