"""Benchmark SQLite under a burst: twenty people changing returns at once on a served app (issue 11, item 15).

Run: .venv/bin/python bench/sqlite_burst.py [--writers 20] [--posts 12] [--returns 2000] [--threads 8] [--servers 1]
Builds a fresh SQLite file (open returns bulk-inserted as for bench/board.py, and one user per writer on every
team), starts `returns-hub serve --workers 1` (waitress, --threads) on it in a process of its own (--servers:
that many, as several processes on one host, the writers taking turns), logs every writer in with its own
cookies and lets them all go at once. Each makes --posts changes in turn: a comment on any return (often one
another writer comments on too), a claim of one of a few returns everybody claims, at the version its panel
showed (so some are 409s), and a move of a return of its own; with a GET of the board before each, and of the
return's panel before a claim. Every answer's status is checked: a redirect (to the login), a 5xx or anything
unexpected stops the run. Afterwards the event log must hold every change that was answered 200 (none lost).
Prints p50/p95/max of POSTs and GETs, throughput and the machine's load (the 1-minute load average).
Goal: with 20 writers, POST p95 well under a second (it was 1.7 s while every POST held the write lock).
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from common import Refused, fill, fresh_runtime, machine_header, run, table
from sqlalchemy import func, select

from hub.accounts.models import Role
from hub.accounts.services import add_user
from hub.core.db import make_engine
from hub.returns.models import Event, Return

PASSWORD = "bench-password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'id="detail" data-rma="[^"]+" data-version="(\d+)"')
CONFLICT = re.compile(r"was changed by [^<]+ after you opened it; nothing was changed\.")
HOT = 10  # returns everybody claims
BOARD = 'id="board"'
ROOT = Path(__file__).resolve().parents[1]


Unexpected = Refused  # an answer the benchmark did not expect: the run stops


@dataclass
class Timings:
    """Milliseconds per request kind, and answers worth counting."""

    gets: list[float] = field(default_factory=list)
    posts: list[float] = field(default_factory=list)
    ok: dict[str, int] = field(default_factory=lambda: {"comment": 0, "claim": 0, "move": 0})
    conflicts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Person:
    """One writer's browser: its own cookies, redirects not followed (a 302 is an answer to check)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args: object, **_kwargs: object) -> None:
            return None

    def __init__(self, base: str, timings: Timings) -> None:
        self.base, self.timings, self.token = base, timings, ""
        jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), self._NoRedirect())

    def _send(self, path: str, form: dict[str, str] | None, htmx: bool) -> tuple[int, str, float]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data, headers={"HX-Request": "true"} if htmx else {})
        t = time.perf_counter()
        try:
            with self._opener.open(req, timeout=120) as resp:
                status, body = resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode()
        return status, body, (time.perf_counter() - t) * 1000

    def get(self, path: str, *, htmx: bool = False, marker: str = "") -> str:
        status, body, ms = self._send(path, None, htmx)
        if status != 200 or marker not in body:
            raise Unexpected(f"GET {path}: {status}, expected 200 with {marker!r}: {body[:300]!r}")
        with self.timings.lock:
            self.timings.gets.append(ms)
        return body

    def post(self, path: str, kind: str, form: dict[str, str], *, conflict_ok: bool = False) -> None:
        status, body, ms = self._send(path, {**form, "csrf_token": self.token}, True)
        refused = status == 409 and conflict_ok and CONFLICT.search(html.unescape(body))
        rma = path.split("/")[2]  # /returns/<rma>/...: every answer is a fragment of that return
        if (status != 200 or rma not in body) and not refused:
            raise Unexpected(f"POST {path}: {status}, expected 200 naming {rma}: {html.unescape(body)[:400]!r}")
        with self.timings.lock:
            self.timings.posts.append(ms)
            if refused:
                self.timings.conflicts += 1
            else:
                self.timings.ok[kind] += 1

    def log_in(self, email: str, password: str = PASSWORD) -> None:
        page = self.get("/login")
        token = CSRF.search(page)
        status, body, _ = self._send(
            "/login", {"email": email, "password": password, "csrf_token": _found(token)}, False
        )
        if status != 302 or "/login" in body:
            raise Unexpected(f"logging in {email}: {status} {body[:300]!r}")
        self.token = _found(CSRF.search(self.get("/board", marker=BOARD)))


def _found(match: re.Match[str] | None) -> str:
    if match is None:
        raise Unexpected("no CSRF token on the page")
    return match.group(1)


def build(path: Path, returns: int, writers: int) -> tuple[list[str], list[list[str]], list[str], list[str]]:
    """The database: (writers' e-mails, each writer's returns to move, the returns everybody claims, all RMAs)."""
    rt = fresh_runtime(f"sqlite:///{path}")
    fill(rt, returns)
    teams = list(rt.workflow.teams)
    emails = [f"writer{i:02d}@bench.example" for i in range(writers)]
    with rt.unit_of_work() as s:
        for i, email in enumerate(emails):
            add_user(s, email=email, name=f"Writer {i:02d}", password=PASSWORD, role=Role.MEMBER, team_keys=teams)
        fresh = list(s.scalars(select(Return.rma).where(Return.stage == "new").order_by(Return.id)))
        hot = list(s.scalars(select(Return.rma).where(Return.stage == "approved").order_by(Return.id).limit(HOT)))
        every = list(s.scalars(select(Return.rma)))
    rt.engine.dispose()
    return emails, [fresh[i::writers] for i in range(writers)], hot, every


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db: Path, folder: Path, port: int, threads: int) -> tuple[subprocess.Popen[bytes], Path]:
    """`returns-hub serve` of this checkout (PYTHONPATH) on the file; waits for /healthz."""
    log = folder / f"server-{port}.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HUB_DATABASE_URL": f"sqlite:///{db}",
        "HUB_SECRET_KEY": "bench-secret-key-bench-secret-key",
        "HUB_INSTANCE_DIR": str(folder),
    }
    command = [
        str(Path(sys.executable).parent / "returns-hub"),
        "serve",
        "--port",
        str(port),
        "--workers",
        "1",  # one process per --servers: what the figures before `serve --workers` measured
        "--threads",
        str(threads),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return proc, log
        except OSError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.terminate()
    raise Unexpected(f"the server did not start:\n{log.read_text()[-2000:]}")


def work(person: Person, rng: random.Random, posts: int, own: list[str], hot: list[str], every: list[str]) -> None:
    """One writer's turns: the board, then a comment, a claim at the version shown, or a move of its own."""
    mine = iter(own)
    for k in range(posts):
        person.get("/board", marker=BOARD)
        if k % 3 == 0:
            rma = rng.choice(hot + rng.sample(every, 3))
            person.post(f"/returns/{rma}/comment", "comment", {"body": f"Checked the parcel ({k})."})
        elif k % 3 == 1:
            rma = rng.choice(hot)
            version = VERSION.search(person.get(f"/returns/{rma}", htmx=True, marker=f'data-rma="{rma}"'))
            form = {"version": _found(version)}
            person.post(f"/returns/{rma}/claim", "claim", form, conflict_ok=True)
        else:
            rma = next(mine)
            person.post(f"/returns/{rma}/move", "move", {"to_stage": "approved", "version": "1", "view": "card"})


def burst(
    bases: list[str],
    emails: list[str],
    posts: int,
    own: list[list[str]],
    hot: list[str],
    every: list[str],
    password: str = PASSWORD,
) -> tuple[Timings, float]:
    """Every writer logged in (to the servers in turn), then all at once; (timings, wall seconds)."""
    timings = Timings()
    people = [Person(bases[i % len(bases)], timings) for i in range(len(emails))]
    for person, email in zip(people, emails, strict=True):
        person.log_in(email, password)
    timings.gets.clear()
    start, errors = threading.Barrier(len(people) + 1), []

    def run(i: int) -> None:
        start.wait()
        try:
            work(people[i], random.Random(i), posts, own[i], hot, every)
        except Exception as exc:  # reported below: the run stops
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(people))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return timings, wall


def check_nothing_lost(db: Path, timings: Timings) -> None:
    """Every change answered 200 is in the event log (a claim of a return one already holds writes nothing)."""
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(Event.kind, func.count()).where(Event.actor_label.like("Writer %")).group_by(Event.kind)
        )
        kinds: dict[str, int] = {kind: n for kind, n in rows}
    engine.dispose()
    if kinds.get("commented", 0) != timings.ok["comment"] or kinds.get("moved", 0) != timings.ok["move"]:
        raise Unexpected(f"lost changes: answered {timings.ok}, in the event log {kinds}")
    if kinds.get("claimed", 0) > timings.ok["claim"]:
        raise Unexpected(f"more claims in the event log than answered: {timings.ok}, {kinds}")


def main() -> None:
    """Build, serve, burst, check, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=20, help="people writing at once")
    parser.add_argument("--posts", type=int, default=12, help="changes each writer makes")
    parser.add_argument("--returns", type=int, default=2000, help="open returns in the database")
    parser.add_argument("--threads", type=int, default=8, help="each server's worker threads (serve's default: 8)")
    parser.add_argument("--servers", type=int, default=1, help="server processes on the file (writers take turns)")
    parser.add_argument("--wrong-password", action="store_true", help="log in with a wrong password: the run must stop")
    args = parser.parse_args()
    password = "not-the-password" if args.wrong_password else PASSWORD

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "burst.sqlite3"
        emails, own, hot, every = build(db, args.returns, args.writers)
        if min(len(o) for o in own) * 3 < args.posts:
            parser.error("too few new returns for every writer's moves: raise --returns")
        ports = [free_port() for _ in range(args.servers)]
        servers = [start_server(db, folder, port, args.threads) for port in ports]
        load_before = os.getloadavg()[0]
        try:
            bases = [f"http://127.0.0.1:{p}" for p in ports]
            timings, wall = burst(bases, emails, args.posts, own, hot, every, password)
        except Unexpected as exc:
            logs = "".join(f"--- {log.name} ---\n{log.read_text()[-3000:]}\n" for _, log in servers)
            print(f"stopped: {exc}\n{logs}", file=sys.stderr)
            raise SystemExit(1) from None
        finally:
            load_after = os.getloadavg()[0]
            for proc, _ in servers:
                proc.terminate()
                proc.wait(timeout=20)
        check_nothing_lost(db, timings)

    print(
        machine_header(
            "bench/sqlite_burst.py: writers at once on `returns-hub serve` over loopback",
            n=f"{args.writers} writers x {args.posts} changes, {args.returns:,} open returns, "
            f"{args.servers} x returns-hub serve --workers 1 --threads {args.threads}",
            database=f"SQLite {sqlite3.sqlite_version} (WAL)",
            extra=[f"load:     1-minute load average {load_before:.2f} before the burst, {load_after:.2f} after"],
        )
    )
    print("\n" + table([("POST", timings.posts), ("GET", timings.gets)], label="request"))
    total = len(timings.posts) + len(timings.gets)
    print(
        f"wall {wall:.1f} s: {total / wall:.1f} requests/s, {len(timings.posts) / wall:.1f} POSTs/s; "
        f"answered 200: {timings.ok}, 409 conflicts: {timings.conflicts}; nothing lost"
    )


if __name__ == "__main__":
    run(main)
