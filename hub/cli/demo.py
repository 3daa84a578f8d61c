"""The `returns-hub seed-demo` command: fill an empty database with demo users and returns."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from hub.cli.common import Context, fail
from hub.core.errors import DomainError
from hub.demo.seed import DemoSummary, seed_demo

if TYPE_CHECKING:
    from hub.workflow import Workflow


@click.command("seed-demo")
@click.option(
    "--returns-per-stage",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="How many returns to put in every stage, open and closed.",
)
@click.option(
    "--seed", type=int, default=42, show_default=True, help="Random seed: the same seed makes the same demo data."
)
@click.pass_obj
def seed_demo_cmd(ctx: Context, returns_per_stage: int, seed: int) -> None:
    """Fill an empty database with demo users and realistic returns in every stage."""
    rt = ctx.ready_runtime()
    started = time.perf_counter()
    try:
        with rt.unit_of_work() as session:
            summary = seed_demo(session, rt.workflow, now=rt.now(), returns_per_stage=returns_per_stage, seed=seed)
    except DomainError as exc:
        fail(f"seed-demo: {exc.message}")
    for line in describe(summary, rt.workflow, time.perf_counter() - started):
        click.echo(line)


def describe(summary: DemoSummary, workflow: Workflow, seconds: float) -> list[str]:
    """The lines seed-demo prints: what it made, per stage, and the logins."""
    lines = [
        f"Seeded {summary.returns} returns ({summary.items} items, {summary.comments} comments, "
        f"{summary.events} events) and {len(summary.logins)} users in {seconds:.1f} s.",
        "",
        f"  {'stage':<32} {'returns':>7} {'overdue':>8} {'blocked':>8} {'assigned':>9}",
    ]
    for key, stage in workflow.stages.items():
        lines.append(
            f"  {stage.name:<32} {summary.returns_by_stage[key]:>7} {summary.overdue_by_stage[key]:>8} "
            f"{summary.blocked_by_stage[key]:>8} {summary.assigned_by_stage[key]:>9}"
        )
    lines += ["", "Demo logins:"]
    for login in summary.logins:
        team = workflow.teams[login.team].name if login.team else "all teams"
        lines.append(f"  {login.email:<40} {login.password:<15} {login.role:<7} {team}")
    return lines
