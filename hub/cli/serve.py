"""The `demo` and `serve` commands: run the web app (a demo on a fresh SQLite file, or for real)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from hub.accounts.services import sync_teams
from hub.cli.common import fail, load_settings
from hub.core.db import upgrade
from hub.core.runtime import Runtime, StartupError
from hub.workflow import ConfigError, load_workflow

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # /healthz reads the schema revision
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # each job logs its own line


def _start_scheduler(runtime: Runtime) -> None:
    from jobs.scheduler import build_scheduler

    scheduler = build_scheduler(runtime)
    scheduler.start()
    click.echo("Scheduled jobs run in this process: " + ", ".join(j.id for j in scheduler.get_jobs()))


def _serve(app: Flask, host: str, port: int, threads: int) -> None:
    from waitress import serve

    serve(app, host=host, port=port, threads=threads, ident="returns-hub")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="Also run the scheduled jobs in this process (instead of a separate `returns-hub worker`).",
)
def serve_cmd(host: str, port: int, threads: int, with_scheduler: bool) -> None:
    """Run the web app under the production WSGI server (waitress)."""
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
    click.echo(f"Returns Hub on http://{host}:{port}/ (public URL {settings.base_url})")
    if with_scheduler:
        _start_scheduler(app.extensions["hub.core.runtime"])
    _serve(app, host, port, threads)


@click.command("demo")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--returns-per-stage",
    default=100,
    show_default=True,
    type=click.IntRange(0, 2000),
    help="Demo returns in every stage.",
)
@click.option("--no-serve", is_flag=True, help="Only create the demo database; do not start the web app.")
def demo_cmd(port: int, returns_per_stage: int, no_serve: bool) -> None:
    """Seed demo data in a fresh SQLite file and run the app on 127.0.0.1 (no other service needed)."""
    from hub.app import create_app
    from hub.cli.demo import describe
    from hub.demo.seed import seed_demo

    base = load_settings()
    path = base.instance_dir / "demo.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    settings = replace(
        base,
        database_url=f"sqlite:///{path}",
        secret_key=base.secret_key or secrets.token_urlsafe(32),
        base_url=f"http://127.0.0.1:{port}",
    )
    try:
        rt = Runtime.from_settings(settings, load_workflow(settings.config_path))
    except ConfigError as exc:
        fail(exc.describe())
    upgrade(rt.engine)
    with rt.unit_of_work() as session:
        sync_teams(session, rt.workflow)
        summary = seed_demo(session, rt.workflow, now=rt.now(), returns_per_stage=returns_per_stage)
    lines = describe(summary, rt.workflow, 0.0)
    click.echo(f"Demo database: {path}")
    click.echo("\n".join(lines[lines.index("Demo logins:") :]))
    if no_serve:
        return
    app = create_app(runtime=rt)
    _logging()
    _start_scheduler(rt)
    mail = settings.smtp_url or f"files in {settings.instance_dir / 'mail'} (set HUB_SMTP_URL to send them)"
    click.echo(f"E-mail: {mail}")
    click.secho(f"\nReturns Hub demo: http://127.0.0.1:{port}/board  (Ctrl+C to stop)", fg="green", bold=True)
    _serve(app, "127.0.0.1", port, 8)
