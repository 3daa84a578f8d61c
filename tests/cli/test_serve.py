"""`returns-hub serve`: N gunicorn worker processes on one port, the scheduler in exactly one, SIGTERM stops all."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli import serve as serve_module
from hub.cli import server

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads worker processes from /proc")

SCHEDULER_LINE = re.compile(r"Scheduled jobs run in this process \(pid (\d+)\)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    """The live processes whose parent is pid (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state, ppid, ...
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(what: str, check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _workers(srv: Server, n: int) -> set[int] | None:
    """The server's worker processes, once there are n of them."""
    found = _children(srv.proc.pid)
    return found if len(found) == n else None


def _healthz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return int(resp.status)
    except OSError:
        return None


class Server:
    """A `returns-hub serve` subprocess and its output file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("returns-hub")), "serve", "--port", str(self.port), *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_for("/healthz", lambda: self.proc.poll() is not None or _healthz(self.port) == 200)
        assert self.proc.poll() is None, self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=40)


@pytest.fixture
def start(db, database_url: str, tmp_path: Path) -> Iterator:
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_SECRET_KEY": "test-serve-secret",
        "HUB_CONFIG": "",
        "HUB_INSTANCE_DIR": str(tmp_path / "instance"),
        "HUB_SMTP_URL": "",
    }
    started: list[Server] = []

    def run(*args: str) -> Server:
        started.append(Server(list(args), env, tmp_path / f"serve-{len(started)}.log"))
        return started[-1]

    yield run
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def test_two_workers_answer_on_one_port_and_sigterm_stops_them_all(start):
    srv = start("--workers", "2", "--threads", "2")
    workers = _wait_for("two workers", lambda: _workers(srv, 2))
    assert all(_healthz(srv.port) == 200 for _ in range(6))
    booted = {int(p) for p in re.findall(r"Booting worker with pid: (\d+)", srv.output())}
    assert booted == workers
    assert "2 processes of 2 threads" in srv.output()
    assert not SCHEDULER_LINE.search(srv.output())  # no --with-scheduler: no jobs in the app servers

    assert srv.stop() == 0
    assert not any(_alive(pid) for pid in workers)
    assert "Shutting down: Master" in srv.output()


def test_with_scheduler_the_jobs_run_in_exactly_one_worker_and_move_on_when_it_dies(start):
    srv = start("--workers", "2", "--threads", "2", "--with-scheduler")
    workers = _wait_for("two workers", lambda: _workers(srv, 2))
    first = int(_wait_for("the scheduler", lambda: SCHEDULER_LINE.search(srv.output())).group(1))
    assert first in workers
    time.sleep(1.0)  # time for a second scheduler to start, were there one
    assert len(SCHEDULER_LINE.findall(srv.output())) == 1

    os.kill(first, signal.SIGKILL)  # the worker that holds it dies: its replacement takes it over, the other not
    second = _wait_for("the replacement's scheduler", lambda: SCHEDULER_LINE.findall(srv.output())[1:])
    assert [int(p) for p in second] == list(_children(srv.proc.pid) - workers)
    time.sleep(0.5)
    assert len(SCHEDULER_LINE.findall(srv.output())) == 2
    assert srv.stop() == 0


def test_an_idle_keep_alive_connection_stays_open_as_a_proxy_expects(start):
    srv = start("--workers", "2", "--threads", "2")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    for _ in range(2):  # gunicorn's own default closes a connection idle for 2 s: nginx would then get a reset
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        time.sleep(2.5)
    conn.close()
    assert srv.stop() == 0


def test_one_worker_serves_in_this_one_process(start):
    srv = start("--workers", "1", "--threads", "2", "--with-scheduler")
    assert _children(srv.proc.pid) == set()
    assert "one process of 2 threads" in srv.output()
    pids = [int(p) for p in SCHEDULER_LINE.findall(srv.output())]
    assert pids == [srv.proc.pid]
    srv.stop()
    assert not _alive(srv.proc.pid)


def test_without_gunicorn_it_says_so_and_serves_with_waitress(cli, monkeypatch):
    served = []
    monkeypatch.setenv("HUB_SECRET_KEY", "test-serve-secret")
    monkeypatch.setattr(server, "gunicorn_available", lambda: False)
    monkeypatch.setattr(serve_module, "_serve", lambda app, host, port, threads: served.append((host, port, threads)))
    result = cli("serve", "--workers", "4", "--port", "5999", "--threads", "3")
    assert result.exit_code == 0, result.output
    assert "serving with waitress in one process (--workers 4 ignored)" in result.output
    assert served == [("127.0.0.1", 5999, 3)]


def test_the_default_is_one_worker_per_core():
    assert server.workers_default() == len(os.sched_getaffinity(0))
