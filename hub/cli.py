"""The `returns-hub` command: set up the database, manage users, import returns, check the config."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hub.accounts import services as accounts
from hub.accounts.models import Role
from hub.config import Settings, SettingsError
from hub.db import upgrade
from hub.errors import DomainError, ValidationFailed
from hub.runtime import Runtime, StartupError
from hub.workflow import ConfigError, load_workflow


class Context:
    """Builds the runtime lazily, so `--help` and `check-config` need no database."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            try:
                self._runtime = Runtime.from_settings(load_settings())
            except ConfigError as exc:
                fail(exc.describe())
        return self._runtime

    def close(self) -> None:
        """Release the database connections when the command ends."""
        if self._runtime is not None:
            self._runtime.engine.dispose()

    def ready_runtime(self) -> Runtime:
        """The runtime, after checking the schema and the stages in the database."""
        rt = self.runtime
        try:
            rt.check_ready()
        except StartupError as exc:
            fail(str(exc))
        return rt


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def load_settings() -> Settings:
    """The environment's settings, or exit naming the variable that is wrong."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


def fail(message: str, code: int = 1) -> None:
    """Print an error to stderr and exit non-zero."""
    click.secho(message, fg="red", err=True)
    sys.exit(code)


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


# --- users ----------------------------------------------------------------------


@main.group()
def user() -> None:
    """Add users, list them, set passwords."""


@user.command("add")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", required=True, help="Full name, as shown on the board.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="member", show_default=True)
@click.option("--team", "teams", multiple=True, help="Team key (repeat for several teams).")
@click.option("--slack-user-id", default=None, help="Slack member id (U…), to act from Slack.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
@pass_ctx
def user_add(ctx: Context, email: str, name: str, role: str, teams: tuple[str, ...],
             slack_user_id: str | None, password: str) -> None:
    """Add a user."""
    rt = ctx.ready_runtime()
    try:
        with rt.unit_of_work() as session:
            u = accounts.add_user(session, email=email, name=name, password=password, role=role,
                                  team_keys=teams, slack_user_id=slack_user_id)
            click.echo(f"Added {u.name} <{u.email}> ({u.role.value}; teams: {', '.join(teams) or 'none'})")
    except ValidationFailed as exc:
        fail("\n".join(f"--{k.replace('_', '-')}: {v}" for k, v in exc.field_errors.items()))


@user.command("list")
@pass_ctx
def user_list(ctx: Context) -> None:
    """List users with their role and teams."""
    rt = ctx.ready_runtime()
    with rt.session_factory() as session:
        users = accounts.list_users(session)
        if not users:
            click.echo("No users yet: add one with `returns-hub user add`.")
        for u in users:
            state = "" if u.is_active else "  (deactivated)"
            teams = ", ".join(t.key for t in u.teams) or "-"
            click.echo(f"{u.email:<36} {u.name:<28} {u.role.value:<7} {teams}{state}")


@user.command("set-slack")
@click.argument("email")
@click.argument("slack_user_id", required=False)
@click.option("--clear", is_flag=True, help="Unlink the user from Slack.")
@pass_ctx
def user_set_slack(ctx: Context, email: str, slack_user_id: str | None, clear: bool) -> None:
    """Link a user to their Slack member id (Slack: profile → ⋮ → Copy member ID), or --clear it."""
    if not clear and not slack_user_id:
        fail("give the Slack member id (e.g. U012AB3CD), or --clear to unlink")
    rt = ctx.ready_runtime()
    try:
        with rt.unit_of_work() as session:
            u = accounts.set_slack_user_id(session, email, None if clear else slack_user_id)
            link = f"linked to Slack user {u.slack_user_id}" if u.slack_user_id else "not linked to Slack"
            click.echo(f"{u.email} is {link}")
    except ValidationFailed as exc:
        fail("\n".join(exc.field_errors.values()))
    except DomainError as exc:
        fail(exc.message)


@user.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
@pass_ctx
def user_set_password(ctx: Context, email: str, password: str) -> None:
    """Set a user's password."""
    rt = ctx.ready_runtime()
    try:
        with rt.unit_of_work() as session:
            u = accounts.set_password(session, email, password)
            click.echo(f"Password changed for {u.email}")
    except DomainError as exc:
        fail(exc.message)


from hub.cli_import import import_cmd  # noqa: E402 - registers `import`; imported last, it imports from here

main.add_command(import_cmd, "import")

from hub.cli_demo_data import seed_demo_cmd  # noqa: E402

main.add_command(seed_demo_cmd, "seed-demo")

from hub.cli_web import demo_cmd, serve_cmd  # noqa: E402

main.add_command(demo_cmd, "demo")
main.add_command(serve_cmd, "serve")

from hub.cli_jobs import dispatch_cmd, worker_cmd  # noqa: E402

main.add_command(dispatch_cmd, "dispatch")
main.add_command(worker_cmd, "worker")
