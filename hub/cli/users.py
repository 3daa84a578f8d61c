"""`returns-hub user ...`: add users, list them, set passwords and time zones, link them to Slack, log them out."""

from __future__ import annotations

import click

from hub.accounts import services as accounts
from hub.accounts.models import Role
from hub.cli.common import Context, fail, pass_ctx
from hub.core.errors import DomainError, ValidationFailed


@click.group()
def user() -> None:
    """Add users, list them, set passwords."""


@user.command("add")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", required=True, help="Full name, as shown on the board.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="member", show_default=True)
@click.option("--team", "teams", multiple=True, help="Team key (repeat for several teams).")
@click.option("--slack-user-id", default=None, help="Slack member id (U…), to act from Slack.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted for when not given.")
@pass_ctx
def user_add(
    ctx: Context, email: str, name: str, role: str, teams: tuple[str, ...], slack_user_id: str | None, password: str
) -> None:
    """Add a user."""
    rt = ctx.ready_runtime()
    try:
        with rt.unit_of_work() as session:
            u = accounts.add_user(
                session,
                email=email,
                name=name,
                password=password,
                role=role,
                team_keys=teams,
                slack_user_id=slack_user_id,
            )
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


@user.command("set-zone")
@click.argument("email")
@click.argument("time_zone", required=False)
@click.option("--team-default", is_flag=True, help="Show times in the user's team's zone again.")
@pass_ctx
def user_set_zone(ctx: Context, email: str, time_zone: str | None, team_default: bool) -> None:
    """Set the time zone a user reads times in (an IANA name like America/New_York), or --team-default."""
    if team_default == bool(time_zone):
        fail("give a time zone (e.g. Europe/Amsterdam), or --team-default for the team's zone")
    rt = ctx.ready_runtime()
    try:
        with rt.unit_of_work() as session:
            u = accounts.set_time_zone(session, email, None if team_default else time_zone)
            zone = u.time_zone or f"{accounts.team_zone(u, rt.workflow).key} (the team's)"
            click.echo(f"{u.email} reads times in {zone}")
    except ValidationFailed as exc:
        fail("\n".join(f"time zone: {v}" for v in exc.field_errors.values()))
    except DomainError as exc:
        fail(exc.message)


@user.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted for when not given.")
@pass_ctx
def user_set_password(ctx: Context, email: str, password: str) -> None:
    """Set a user's password (this logs them out everywhere)."""
    rt = ctx.ready_runtime()
    try:
        with rt.unit_of_work() as session:
            u = accounts.set_password(session, email, password)
            click.echo(f"Password changed for {u.email}; they are logged out everywhere.")
    except DomainError as exc:
        fail(exc.message)


@user.command("logout")
@click.argument("email")
@pass_ctx
def user_logout(ctx: Context, email: str) -> None:
    """Log a user out on every browser and device (a lost laptop); they log in again with their password."""
    rt = ctx.ready_runtime()
    try:
        with rt.unit_of_work() as session:
            u, ended = accounts.log_out_user(session, email)
            logins = "1 login" if ended == 1 else f"{ended} logins"
            click.echo(f"Logged out {u.email} everywhere: ended {logins}.")
    except DomainError as exc:
        fail(exc.message)
