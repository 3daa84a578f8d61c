"""The `demo` and `serve` commands: run the web app (a demo on its own SQLite file, or for real)."""

from __future__ import annotations

import errno
import logging
import os
import secrets
import socket
from dataclasses import replace
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource
from sqlalchemy import select

from hub.accounts.models import User
from hub.accounts.services import sync_teams
from hub.cli import server
from hub.cli.common import fail, load_settings
from hub.cli.demo import describe
from hub.core.db import upgrade
from hub.core.runtime import Runtime, StartupError
from hub.demo.seed import DemoSummary, demo_logins, seed_demo
from hub.workflow import ConfigError, load_workflow

if TYPE_CHECKING:
    from pathlib import Path

    from flask import Flask

    from hub.core.config import Settings
    from hub.workflow import Workflow

log = logging.getLogger(__name__)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # /healthz reads the schema revision
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # each job logs its own line


def _start_scheduler(runtime: Runtime) -> None:
    from jobs.scheduler import build_scheduler

    scheduler = build_scheduler(runtime)
    scheduler.start()
    jobs = ", ".join(j.id for j in scheduler.get_jobs())
    click.echo(f"Scheduled jobs run in this process (pid {os.getpid()}): {jobs}")


def _serve(app: Flask, host: str, port: int, threads: int) -> None:
    server.serve_waitress(app, host, port, threads)


def _serve_socket(app: Flask, sock: socket.socket, threads: int) -> None:
    from waitress import serve

    serve(app, sockets=[sock], threads=threads, ident="returns-hub")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--workers",
    default=server.workers_default,
    show_default="the number of cores",
    type=click.IntRange(min=1),
    help="Processes serving requests (gunicorn); 1 serves in this one process (waitress).",
)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Threads in each process.")
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="Also run the scheduled jobs (in one process only) instead of a separate `returns-hub worker`.",
)
def serve_cmd(host: str, port: int, workers: int, threads: int, with_scheduler: bool) -> None:
    """Run the web app under the production WSGI server: gunicorn with --workers processes, or waitress."""
    from hub.app import create_app

    settings = load_settings()
    if not settings.secret_key:
        fail(
            "HUB_SECRET_KEY is not set: set it to a long random string, e.g. the output of\n"
            "  python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    try:
        app = create_app(settings)
    except (ConfigError, StartupError) as exc:
        fail(exc.describe() if isinstance(exc, ConfigError) else str(exc))
    _logging()
    if workers > 1 and not server.gunicorn_available():
        click.echo(server.describe_fallback(workers))
        workers = 1
    where = f"{workers} processes of {threads} threads" if workers > 1 else f"one process of {threads} threads"
    click.echo(f"Returns Hub on http://{host}:{port}/ (public URL {settings.base_url}), {where}")
    runtime: Runtime = app.extensions["hub.core.runtime"]
    if workers == 1:
        if with_scheduler:
            _start_scheduler(runtime)
        try:
            _serve(app, host, port, threads)
        finally:
            runtime.engine.dispose()
        return
    # the app above only checked the config and the schema: each worker builds its own, with its own engine
    runtime.engine.dispose()
    del app, runtime
    server.serve_gunicorn(
        settings,
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        start_scheduler=_start_scheduler if with_scheduler else None,
    )


DEMO_PORT = 5000


def demo_database(instance_dir: Path, port: int) -> Path:
    """The demo's SQLite file: one per port, so a second demo on another port leaves the first one's data alone."""
    return instance_dir / ("demo.sqlite3" if port == DEMO_PORT else f"demo-{port}.sqlite3")


def _bind(port: int, *, listen: bool) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:port (and listening, if asked); raises OSError when the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name == "posix":  # a port a stopped demo left in TIME_WAIT is free (on Windows this would share it)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        if listen:
            sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def _port_free(port: int) -> bool:
    try:
        _bind(port, listen=False).close()
    except OSError:
        return False
    return True


def _claim_port(port: int) -> socket.socket:
    """Listen on 127.0.0.1:port before anything is touched, or exit saying the port is taken.

    The demo serves on this very socket, so nothing can take the port while the data is being seeded."""
    try:
        return _bind(port, listen=True)
    except OSError as exc:
        if exc.errno not in {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}:
            fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
        others = [p for p in range(port + 1, min(port + 20, 65535) + 1) if _port_free(p)]
        suggestion = others[0] if others else (port + 1 if port < 65535 else port - 1)
        fail(f"port {port} is in use (is a demo already running?); try --port {suggestion}")


def _open_demo(settings: Settings, *, fresh: bool, returns_per_stage: int) -> tuple[Runtime, DemoSummary | None]:
    """The runtime on the demo database, with its schema current; seeds it unless it holds the demo already.

    Returns the summary of what was seeded, or None when the data of the last start was kept."""
    try:
        rt = Runtime.from_settings(settings, load_workflow(settings.config_path))
    except ConfigError as exc:
        fail(exc.describe())
    try:
        upgrade(rt.engine)
        with rt.unit_of_work() as session:
            sync_teams(session, rt.workflow)
            admin = demo_logins(rt.workflow)[0].email
            if session.scalar(select(User.id).where(User.email == admin)) is not None:
                return rt, None
            click.echo(f"Seeding demo data ({returns_per_stage} returns per stage) ...")
            return rt, seed_demo(session, rt.workflow, now=rt.now(), returns_per_stage=returns_per_stage)
    except Exception as exc:
        rt.engine.dispose()
        if fresh:
            raise
        fail(f"the demo database of the last start cannot be used ({exc}); start with --fresh for new demo data")


def _logins(summary: DemoSummary | None, workflow: Workflow) -> list[str]:
    """The 'Demo logins:' lines, for a seeded demo or a kept one."""
    if summary is None:
        none = dict.fromkeys(workflow.stages, 0)
        summary = DemoSummary(demo_logins(workflow), none, none, none, none)
    lines = describe(summary, workflow, 0.0)
    return lines[lines.index("Demo logins:") :]


@click.command("demo")
@click.option("--port", default=DEMO_PORT, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--fresh",
    is_flag=True,
    help="Replace the demo data with newly seeded data (by default a restart keeps the last start's data).",
)
@click.option(
    "--returns-per-stage",
    default=100,
    show_default=True,
    type=click.IntRange(0, 2000),
    help="Demo returns in every stage (given, it implies --fresh).",
)
@click.option("--no-serve", is_flag=True, help="Only create the demo database; do not start the web app.")
@click.pass_context
def demo_cmd(ctx: click.Context, port: int, fresh: bool, returns_per_stage: int, no_serve: bool) -> None:
    """Run the app on 127.0.0.1 with demo data in its own SQLite file (no other service needed).

    The first start seeds the data; a restart keeps it (--fresh seeds it again). A port in use stops the
    command before it touches any data."""
    from hub.app import create_app

    base = load_settings()
    path = demo_database(base.instance_dir, port)
    sock = _claim_port(port)  # first: a demo already running on this port keeps its data
    try:
        fresh = fresh or ctx.get_parameter_source("returns_per_stage") is not ParameterSource.DEFAULT
        if fresh or not path.exists():
            fresh = True
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        settings = replace(
            base,
            database_url=f"sqlite:///{path}",
            secret_key=base.secret_key or secrets.token_urlsafe(32),
            base_url=f"http://127.0.0.1:{port}",
        )
        rt, summary = _open_demo(settings, fresh=fresh, returns_per_stage=returns_per_stage)
        kept = "" if summary is not None else " (kept from the last start; --fresh seeds new data)"
        click.echo(f"Demo database: {path}{kept}")
        click.echo(f"The CLI on it: HUB_DATABASE_URL={settings.database_url} returns-hub ...")
        click.echo("\n".join(_logins(summary, rt.workflow)))
        if no_serve:
            rt.engine.dispose()
            return
        try:
            app = create_app(runtime=rt)
        except StartupError as exc:
            fail(f"{exc}\nStart with --fresh for new demo data.")
        _logging()
        _start_scheduler(rt)
        mail = settings.smtp_url or f"files in {settings.instance_dir / 'mail'} (set HUB_SMTP_URL to send them)"
        click.echo(f"E-mail: {mail}")
        click.secho(f"\nReturns Hub demo: http://127.0.0.1:{port}/board  (Ctrl+C to stop)", fg="green", bold=True)
        _serve_socket(app, sock, 8)
    finally:
        sock.close()
