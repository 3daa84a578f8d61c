"""The `returns-hub` command: set up the database, manage users, import returns, check the config.

Each command group is a module of this package that imports `hub.cli.common`, never this module;
this module only assembles them, so the imports run one way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hub.accounts import services as accounts
from hub.cli.common import Context, load_settings, pass_ctx
from hub.cli.demo import seed_demo_cmd
from hub.cli.imports import import_cmd
from hub.cli.jobs import dispatch_cmd, worker_cmd
from hub.cli.serve import demo_cmd, serve_cmd
from hub.cli.users import user
from hub.core.db import upgrade
from hub.workflow import ConfigError, load_workflow

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="returns-hub")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Returns Hub: coordinate e-commerce returns between customer service, logistics and the warehouse.

    Configured through the environment: HUB_DATABASE_URL, HUB_CONFIG, HUB_SECRET_KEY and the
    others listed in the README.
    """
    obj = ctx.ensure_object(Context)
    ctx.call_on_close(obj.close)


@main.command("init-db")
@pass_ctx
def init_db(ctx: Context) -> None:
    """Create or upgrade the database schema to the newest version, and sync the teams."""
    rt = ctx.runtime
    upgrade(rt.engine)
    with rt.unit_of_work() as session:
        accounts.sync_teams(session, rt.workflow)
    click.echo(f"Database ready: {rt.engine.url.render_as_string(hide_password=True)}")


@main.command("check-config")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def check_config(file: Path | None) -> None:
    """Validate a workflow file (default: HUB_CONFIG, else the built-in default) and list every error."""
    path = file or load_settings().config_path
    try:
        wf = load_workflow(path)
    except ConfigError as exc:
        click.secho(exc.describe(), fg="red", err=True)
        n = len(exc.errors)
        click.secho(f"{n} error{'s' if n != 1 else ''} in {exc.source}", fg="red", err=True)
        sys.exit(1)
    click.echo(
        f"{wf.source}: OK — {len(wf.teams)} teams, {len(wf.stages)} stages "
        f"({len(wf.open_stages)} open), {len(wf.reasons)} return reasons, "
        f"promise {wf.promise_days} days"
    )
    for warning in wf.warnings:
        click.secho(f"{wf.source}: warning: {warning}", fg="yellow", err=True)


main.add_command(user)
main.add_command(import_cmd, "import")
main.add_command(seed_demo_cmd, "seed-demo")
main.add_command(demo_cmd, "demo")
main.add_command(serve_cmd, "serve")
main.add_command(dispatch_cmd, "dispatch")
main.add_command(worker_cmd, "worker")
