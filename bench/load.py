"""Load test: K concurrent clients ask `returns-hub serve --workers N` for the board over loopback.

Run: .venv/bin/python bench/load.py [--workers N] [--clients 32] [--duration 20] [--open 10000]
                                    [--database-url URL [--reuse]]
Fills a database with --open open returns (a SQLite file in a temp folder, or the PostgreSQL database of
--database-url, which it empties first unless --reuse finds it filled with as many), starts
`returns-hub serve --workers N` on 127.0.0.1 as a subprocess, logs each client in (a login of the bench
user, as the login form would record it), then every client asks for GET /board over its own keep-alive
connection (http.client) for --duration seconds after a --warmup. Every response must be a 200 carrying the
board (its `id="board"` element): a redirect to /login, a 5xx or a dropped connection stops the run with an
error instead of printing figures.
Goal (issue 12): with 10,000 open, 32 clients and the default workers on this 2-core machine, at least
50 board requests per second, p99 under 1 s, 0 errors.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import common
from common import existing_runtime, fill, fresh_runtime
from sqlalchemy import select, text

from hub.accounts.logins import start_login
from hub.accounts.models import User
from hub.app import create_app
from hub.core.runtime import Runtime

SECRET = "bench"  # the runtime of bench/common.py signs with it; the server must too
MARKER = b'id="board"'
AGENT = "bench/load.py"


class BenchError(RuntimeError):
    """A response that is not the board: the run stops."""


@dataclass
class Results:
    """What the clients measured, shared between their threads."""

    latencies: list[float] = field(default_factory=list)  # seconds, of requests that began after the warm-up
    errors: list[str] = field(default_factory=list)
    answered: int = 0  # boards received, warm-up included
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def machine() -> str:
    """CPU model and cores."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def database_version(rt: Runtime) -> str:
    """The database engine and its version."""
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.connect() as conn:
            return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar())
    return f"SQLite {sqlite3.sqlite_version}"


def prepare(database_url: str, n: int, reuse: bool) -> Runtime:
    """A runtime on a database holding n open returns (filled now, or by an earlier run with --reuse)."""
    rt = existing_runtime(database_url, n) if reuse else None
    if rt is None:
        # the server runs on the real clock: the returns entered their stages in the last days, as in a live
        # shop (a share overdue), not all of them weeks ago
        common.NOW = datetime.now(UTC).replace(microsecond=0)
        t0 = time.perf_counter()
        rt = fresh_runtime(database_url)
        fill(rt, n)
        print(f"filled {n:,} open returns in {time.perf_counter() - t0:.1f} s", flush=True)
    return rt


def login_cookies(rt: Runtime, clients: int) -> list[str]:
    """One login per client, recorded as the login form records it, as the Cookie header of its browser."""
    app = create_app(runtime=rt)
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    name = app.config["SESSION_COOKIE_NAME"]
    cookies = []
    with rt.session_factory() as s:
        user = s.scalars(select(User).where(User.email == "lead@bench.example")).one()
        for _ in range(clients):
            # the server runs on the real clock (the data's NOW is in the past): the login starts now
            user.attach_login(start_login(s, user, remember=False, user_agent=AGENT, now=datetime.now(UTC)))
            cookies.append(f"{name}={serializer.dumps({'_user_id': user.get_id(), '_fresh': True})}")
        s.commit()
    return cookies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, workers: int, threads: int, folder: Path) -> tuple[subprocess.Popen, int, Path]:
    """`returns-hub serve` on a free loopback port, once its /healthz answers 200."""
    port = free_port()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_CONFIG": "",
        "HUB_INSTANCE_DIR": str(folder / "instance"),
        "HUB_BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = folder / "serve.log"
    command = [str(Path(sys.executable).with_name("returns-hub")), "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"returns-hub serve stopped (exit {proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port, log
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise BenchError("returns-hub serve did not answer /healthz within 60 s")


def _cpu_of(wanted) -> float:
    """CPU seconds (user + system) used so far by the processes for which wanted(pid, ppid, cmdline) holds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()  # state, ppid, ..., utime, stime
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if wanted(int(entry.name), int(fields[1]), cmdline):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def server_cpu(pid: int) -> float:
    """CPU seconds of the server: its master and workers."""
    return _cpu_of(lambda p, ppid, _cmd: pid in (p, ppid))


def postgres_cpu(database: str | None) -> float:
    """CPU seconds of the PostgreSQL backends serving this database on this machine (0 for SQLite)."""
    if database is None:
        return 0.0
    return _cpu_of(lambda _p, _ppid, cmd: cmd.startswith("postgres: ") and f" {database} " in cmd)


def board(conn: http.client.HTTPConnection, cookie: str) -> None:
    """One GET /board; raises BenchError unless the board itself came back."""
    conn.request("GET", "/board", headers={"Cookie": cookie, "User-Agent": AGENT})
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        where = resp.getheader("Location")
        raise BenchError(f"GET /board answered {resp.status}" + (f" (to {where})" if where else ""))
    if MARKER not in body:
        raise BenchError(f"GET /board answered 200 without the board ({len(body)} bytes)")


def client(port: int, cookie: str, warm_until: float, end: float, limit: int | None, results: Results) -> None:
    """Ask for the board until the end time (or the run's request count), recording each request's time."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        while not results.stop.is_set():
            started = time.perf_counter()
            if started >= end:
                break
            try:
                board(conn, cookie)
            except (BenchError, OSError, http.client.HTTPException) as exc:
                with results.lock:
                    results.errors.append(f"{type(exc).__name__}: {exc}")
                results.stop.set()
                break
            elapsed = time.perf_counter() - started
            with results.lock:
                results.answered += 1
                if started >= warm_until:
                    results.latencies.append(elapsed)
                if limit is not None and len(results.latencies) >= limit:
                    results.stop.set()
    finally:
        conn.close()


def run(port: int, cookies: list[str], warmup: float, duration: float, limit: int | None) -> tuple[Results, float]:
    """All clients at once; the results and the measured seconds."""
    results = Results()
    begin = time.perf_counter()
    warm_until, end = begin + warmup, begin + warmup + duration
    threads = [
        threading.Thread(target=client, args=(port, c, warm_until, end, limit, results), daemon=True) for c in cookies
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - warm_until


def percentile(samples: list[float], p: int) -> float:
    """The p-th percentile (inclusive method), in ms."""
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1] * 1000


def report(rows: list[tuple[str, str]]) -> None:
    """A two-column table."""
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def main() -> None:
    """Fill, serve, load, print one table; exit 1 on any response that is not the board."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=10000, help="open returns in the database")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="returns-hub serve --workers")
    parser.add_argument("--threads", type=int, default=8, help="returns-hub serve --threads (per worker)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients, one connection each")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    parser.add_argument("--requests", type=int, help="stop after this many measured requests")
    parser.add_argument("--database-url", help="a database to use (PostgreSQL: emptied!) instead of a SQLite file")
    parser.add_argument("--reuse", action="store_true", help="keep a database an earlier run filled as much")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'load.sqlite3'}"
        rt = prepare(url, args.open, args.reuse)
        version = database_version(rt)
        database = rt.engine.url.database if rt.engine.dialect.name == "postgresql" else None
        cookies = login_cookies(rt, args.clients)
        rt.engine.dispose()
        proc, port, _log = start_server(url, args.workers, args.threads, folder)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            board(conn, cookies[0])  # a login the server refuses stops here, before any figure
            conn.close()
            load_before = os.getloadavg()
            cpu = (server_cpu(proc.pid), time.process_time(), postgres_cpu(database))
            wall = time.perf_counter()
            results, seconds = run(port, cookies, args.warmup, args.duration, args.requests)
            wall = time.perf_counter() - wall
            cpu = (server_cpu(proc.pid) - cpu[0], time.process_time() - cpu[1], postgres_cpu(database) - cpu[2])
            load_after = os.getloadavg()
        except BenchError as exc:
            sys.exit(f"error: {exc}")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
        if results.errors:
            sys.exit(f"error: {len(results.errors)} bad response(s), the first: {results.errors[0]}")
        samples = results.latencies
        if len(samples) < 2:
            sys.exit("error: fewer than 2 requests measured; lengthen --duration")
        import gunicorn  # type: ignore[import-untyped]

        print(f"\nGET /board over loopback, {args.open:,} open returns")
        report(
            [
                ("machine", machine()),
                ("versions", f"Python {platform.python_version()}, {version}, gunicorn {gunicorn.__version__}"),
                ("server", f"returns-hub serve --workers {args.workers} --threads {args.threads}"),
                ("clients", f"{args.clients} (keep-alive), {seconds:.1f} s measured after {args.warmup:.0f} s"),
                ("requests", f"{len(samples):,}"),
                ("requests/s", f"{len(samples) / seconds:.1f}"),
                ("p50 / p95 / p99 / max", " / ".join(f"{v:.0f}" for v in _spread(samples)) + " ms"),
                ("errors", "0"),
                (
                    "CPU per request",
                    f"server {cpu[0] / results.answered * 1000:.0f} ms, "
                    f"PostgreSQL {cpu[2] / results.answered * 1000:.0f} ms, "
                    f"load client {cpu[1] / results.answered * 1000:.0f} ms",
                ),
                # how much of the machine the run had: on a machine shared with other work, less than its cores
                ("cores busy", f"server {cpu[0] / wall:.2f}, PostgreSQL {cpu[2] / wall:.2f}, of {os.cpu_count()}"),
                ("load average 1/5/15 min", "before " + _load(load_before) + ", after " + _load(load_after)),
            ]
        )


def _spread(samples: list[float]) -> list[float]:
    return [percentile(samples, 50), percentile(samples, 95), percentile(samples, 99), max(samples) * 1000]


def _load(avg: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in avg)


if __name__ == "__main__":
    main()
