"""Benchmark the board: server time of GET /board, a move from the board, an idle change-feed poll, and searches.

Run: .venv/bin/python bench/board.py [--sizes 1000,10000,100000] [--runs 30] [--closed N] [--database-url URL [--reuse]]
Builds a fresh database per size (a SQLite file under a temp folder, or the PostgreSQL database of
--database-url, which it empties first; rows bulk-inserted, not through the services, so set-up stays quick),
then times requests through the Flask app in-process: server time, no network. Sizes are open returns;
--closed adds that many returns closed at some time in the last two years (what search must also find).
Also weighs the board page on the wire: plain, gzip and brotli (what a browser gets), and times it compressed.
Every answer is checked: a status other than 200 (a redirect to the login, a 500) or a body without its marker
(the board's id="board", a card, the moved card, the feed's cursor, the searched text) stops the run with an
error and no times. --broken-login runs it with a login cookie the app refuses, to see it stop.
Goals (DESIGN.md): board median < 60 ms and move < 25 ms at 10,000 open returns, and the board's cost
does not grow with returns outside the visible page; a search over every return p95 < 50 ms at 1,000,000
on PostgreSQL and < 300 ms at 100,000 on SQLite. Issue 12: the board page under 60 KB on the wire at 10,000.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

import brotli
from common import (
    NOW,
    Refused,
    check,
    check_answer,
    database_version,
    existing_runtime,
    fill,
    fresh_runtime,
    machine_header,
    run,
    table,
    tracking_number,
)
from sqlalchemy import select

from hub.accounts.logins import start_login
from hub.accounts.models import User
from hub.app import create_app
from hub.returns import queries
from hub.returns.models import Return
from hub.returns.queries import BoardFilters


def samples_of(fn, runs: int) -> list[float]:
    """Milliseconds of each of runs calls of fn() (after one warm-up)."""
    fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


BOARD = ('id="board"', 'class="card')  # the board page, with cards on it (not the login page it redirects to)
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}


def log_in(rt, client, broken: bool) -> str:
    """Log the bench lead in as the login form does (a login row, its key in the cookie); returns the session's id.

    broken: the cookie carries a key that is not the login's, as after a password change: the app must refuse it."""
    with rt.session_factory() as s:
        user = s.scalars(select(User)).first()
        user.attach_login(start_login(s, user, remember=False, user_agent="bench/board.py", now=rt.now()))
        session_id = user.get_id()  # what a login's cookie carries: the user's id and the login's key
        s.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id.split(":")[0] + ":not-the-login-key" if broken else session_id
        sess["_fresh"] = True
    return session_id


def get_decoded(client, encoding: str) -> tuple[int, int]:
    """GET /board asked with this Accept-Encoding, checked once decoded: (bytes on the wire, bytes decoded)."""
    r = client.get("/board", headers={"Accept-Encoding": encoding})
    check_answer(f"GET /board ({encoding})", r.status_code, b"" if r.status_code == 200 else r.get_data())
    got = r.headers.get("Content-Encoding")
    expected = None if encoding == "identity" else encoding
    if got != expected:
        raise Refused(f"GET /board with Accept-Encoding {encoding}: Content-Encoding {got!r}, expected {expected!r}")
    body = r.get_data()
    html = DECODE[got](body)
    check_answer(f"GET /board ({encoding})", r.status_code, html, marker=BOARD)
    return len(body), len(html)


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


def search(client, q: str, expect: str):
    """A search as the board's search box sends it, checked for the text it must find."""

    def get() -> None:
        r = client.get("/board", query_string={"q": q}, headers={"HX-Request": "true", "HX-Target": "board"})
        check(r, marker=expect, what=f"search {q!r}")
        if "search-problem" in r.get_data(as_text=True):
            raise Refused(f"search {q!r}: the board says the search could not run")

    return get


def lookup(rt, session_id: str, q: str):
    """The search itself: every column's counts and first page of cards, without rendering them."""
    filters = BoardFilters(q=q)
    user_id = int(session_id.split(":")[0])

    def find() -> None:
        with rt.session_factory() as s:
            columns = queries.board(s, rt.workflow, filters, user_id=user_id, now=NOW)
        if not sum(c.count for c in columns):
            raise Refused(f"the search {q!r} found nothing in the database")

    return find


def bench(
    n: int, runs: int, folder: Path, closed: int, database_url: str | None, reuse: bool = False, broken: bool = False
) -> dict:
    """Server times (ms, each request) for one database size, each search's, and the board's bytes on the wire."""
    t0 = time.perf_counter()
    rt = existing_runtime(database_url, n + closed) if database_url and reuse else None
    if rt is None:
        rt = fresh_runtime(database_url or f"sqlite:///{folder / f'board-{n}.sqlite3'}")
        fill(rt, n, closed=closed)
    setup = time.perf_counter() - t0
    client = create_app(runtime=rt, WTF_CSRF_ENABLED=False).test_client()
    session_id = log_in(rt, client, broken)
    with rt.session_factory() as s:
        movable = list(s.scalars(select(Return.rma).where(Return.stage == "new").order_by(Return.id).limit(runs + 1)))

    def get_board() -> None:
        check(client.get("/board"), marker=BOARD)

    def get_board_br() -> None:
        get_decoded(client, "br")

    def get_filtered() -> None:
        # e-mails customer12@, customer120@ ...: the same returns "customer 12" found before names were realistic
        r = client.get("/board?q=customer12&overdue=1", headers={"HX-Request": "true", "HX-Target": "board"})
        check(r, marker='class="card')

    def poll() -> None:
        check(client.get("/board/changes?after=999999999"), marker='"cursor"')

    queue = iter(movable)

    def move() -> None:
        rma = next(queue)
        r = client.post(
            f"/returns/{rma}/move",
            data={"to_stage": "approved", "version": "1", "view": "card"},
            headers={"HX-Request": "true"},
        )
        check(r, marker=f'data-rma="{rma}"', what=f"move {rma}")

    get_board()  # the login is checked before anything is timed
    result = {
        "setup_s": setup,
        "database": database_version(rt.engine),
        "wire": {enc: get_decoded(client, enc) for enc in ("identity", "gzip", "br")},
        "timings": {
            "GET /board": samples_of(get_board, runs),
            "GET /board (br)": samples_of(get_board_br, runs),
            "filtered": samples_of(get_filtered, runs),
            "move": samples_of(move, runs - 1),
            "feed poll": samples_of(poll, runs),
        },
        "searches": {
            name: samples_of(search(client, q, expect), runs) for name, (q, expect) in searches(n, closed).items()
        },
        "lookups": {name: samples_of(lookup(rt, session_id, q), runs) for name, (q, _) in searches(n, closed).items()},
    }
    rt.engine.dispose()
    return result


def main() -> None:
    """Run the benchmark for each size and print the tables."""
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
    parser.add_argument("--broken-login", action="store_true", help="log in with a refused cookie: the run must stop")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = bench(n, args.runs, Path(tmp), args.closed, args.database_url, args.reuse, args.broken_login)
            found.append((n, r))
    print(
        machine_header(
            "bench/board.py: server time through the Flask test client (no network)",
            n=f"open returns {', '.join(f'{n:,}' for n in sizes)}; {args.closed:,} closed; {args.runs} runs each",
            database=found[0][1]["database"],
            extra=["set-up:   " + ", ".join(f"{r['setup_s']:.1f} s" for _, r in found)],
        )
    )
    rows = [(f"{name} @ {n:,}", samples) for n, r in found for name, samples in r["timings"].items()]
    print("\n" + table(rows))
    print(f"\n{'board page on the wire':<24} {'plain':>9} {'gzip':>9} {'brotli':>9}   (bytes; goal < 60 KB at 10,000)")
    for n, r in found:
        w = r["wire"]
        print(f"{f'@ {n:,} open':<24} {w['identity'][0]:>9,} {w['gzip'][0]:>9,} {w['br'][0]:>9,}")
    print(f"\nsearch, {args.runs} runs each; returns = open + {args.closed:,} closed")
    print("  request: GET /board?q=... (the htmx fragment, up to 50 cards rendered per column)")
    print("  search: the same counts and first pages of cards from the database, not rendered")
    rows = []
    for n, r in found:
        typed = searches(n, args.closed)
        for name, samples in r["searches"].items():
            rows.append((f"request {name} ({typed[name][0]}) @ {n + args.closed:,}", samples))
            rows.append((f"search  {name} ({typed[name][0]}) @ {n + args.closed:,}", r["lookups"][name]))
    print(table(rows))


if __name__ == "__main__":
    run(main)
