"""`returns-hub demo`: a busy port stops it before it touches any data; it serves on the port it checked;
a restart keeps the demo's data and --fresh replaces it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

import hub.cli.serve as serve_module
from hub.cli import main


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def run_demo(instance: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `returns-hub demo ARGS` in `instance`; it never starts a server or the scheduler here."""

    def no_server(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the demo must not start a server or the scheduler in this test")

    for name in ("_serve", "_serve_socket", "_start_scheduler"):
        monkeypatch.setattr(serve_module, name, no_server, raising=False)
    env = {"HUB_INSTANCE_DIR": str(instance), "HUB_CONFIG": "", "HUB_DATABASE_URL": "", "HUB_SMTP_URL": ""}

    def invoke(*args: str):
        return CliRunner().invoke(main, ["demo", *args], env=env)

    return invoke


@pytest.fixture
def busy_port():
    """A port some other process listens on (here: this test)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _count(db: Path, table: str) -> int:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(text(table))) or 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("no_serve", [False, True], ids=["serve", "no-serve"])
def test_a_busy_port_stops_the_demo_before_it_touches_the_demo_database(run_demo, instance, busy_port, no_serve):
    # a running demo's database: the default port's file and this port's own, with a WAL file
    for name in ("demo.sqlite3", "demo.sqlite3-wal", f"demo-{busy_port}.sqlite3", f"demo-{busy_port}.sqlite3-wal"):
        (instance / name).write_bytes(b"the running demo's data: " + name.encode())
    before = _snapshot(instance)

    result = run_demo("--port", str(busy_port), "--returns-per-stage", "1", *(["--no-serve"] if no_serve else []))

    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert f"port {busy_port} is in use (is a demo already running?); try --port " in result.stderr
    suggested = int(result.stderr.rsplit("try --port ", 1)[1].split()[0])
    assert suggested != busy_port
    assert "Traceback" not in result.output
    assert _snapshot(instance) == before  # nothing replaced, nothing added


def test_the_demo_serves_on_the_port_it_checked_and_says_how_to_reach_its_database(run_demo, instance, monkeypatch):
    port = _free_port()
    served: list[tuple[str, int]] = []

    def fake_serve(app, sock: socket.socket, threads: int) -> None:
        served.append(sock.getsockname())
        # it has listened since before the seeding: nobody can take the port meanwhile
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            assert client.connect_ex(("127.0.0.1", port)) == 0
        app.extensions["hub.core.runtime"].engine.dispose()

    monkeypatch.setattr(serve_module, "_serve_socket", fake_serve)
    monkeypatch.setattr(serve_module, "_start_scheduler", lambda runtime: None)

    result = run_demo("--port", str(port), "--returns-per-stage", "1")

    assert result.exit_code == 0, result.output
    assert served == [("127.0.0.1", port)]
    db = instance / f"demo-{port}.sqlite3"
    assert f"Demo database: {db}\n" in result.stdout
    assert f"HUB_DATABASE_URL=sqlite:///{db} returns-hub" in result.stdout
    assert f"http://127.0.0.1:{port}/board" in result.stdout
    assert _count(db, "returns") > 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:  # the port is given back
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_a_restart_keeps_the_demo_data_and_fresh_replaces_it(run_demo, instance):
    port = _free_port()
    db = instance / f"demo-{port}.sqlite3"
    first = run_demo("--port", str(port), "--returns-per-stage", "1", "--no-serve")
    assert first.exit_code == 0, first.output
    seeded = _count(db, "returns")
    assert seeded > 0
    assert "admin@demo.example" in first.stdout

    kept = run_demo("--port", str(port), "--no-serve")
    assert kept.exit_code == 0, kept.output
    assert "kept from the last start" in kept.stdout
    assert "Seeding" not in kept.stdout
    assert "admin@demo.example" in kept.stdout
    assert _count(db, "returns") == seeded

    fresh = run_demo("--port", str(port), "--returns-per-stage", "0", "--no-serve")
    assert fresh.exit_code == 0, fresh.output
    assert "kept" not in fresh.stdout
    assert _count(db, "returns") == 0


def test_the_default_port_keeps_the_documented_file_name(tmp_path):
    assert serve_module.demo_database(tmp_path, 5000) == tmp_path / "demo.sqlite3"
    assert serve_module.demo_database(tmp_path, 5001) == tmp_path / "demo-5001.sqlite3"
