"""`returns-hub import FILE`: create returns from a CSV file, with a progress bar and every bad line reported."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hub.cli.common import Context, fail
from hub.core.errors import DomainError
from hub.returns.csv_import import ImportFailed, ImportReport, import_csv
from hub.returns.models import Channel
from hub.returns.permissions import Actor

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar  # what click.progressbar returns (click does not export it)


class _ProgressBar:
    """Feeds the import's progress into a click progress bar on stderr, opened once the total is known."""

    def __init__(self) -> None:
        self._bar: ProgressBar[int] | None = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if not total:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="Importing", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _print_errors(report: ImportReport) -> None:
    for error in report.errors:
        click.secho(str(error), fg="red", err=True)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--skip-bad-rows",
    is_flag=True,
    help="Import the good returns and report the bad lines; a return with a bad line is skipped whole.",
)
@click.pass_context
def import_cmd(click_ctx: click.Context, file: Path, skip_bad_rows: bool) -> None:
    """Create returns from a CSV file, one line per returned item (see docs/csv-format.md).

    RMAs already in the database are skipped, so a file can be imported again safely. Without
    --skip-bad-rows, one bad line means nothing is imported.
    """
    rt = click_ctx.ensure_object(Context).ready_runtime()
    actor = Actor.system(f"CSV import {file.name}"[:120], Channel.CLI)
    bar = _ProgressBar()
    try:
        with rt.unit_of_work() as session:
            report = import_csv(
                session, rt.workflow, file, actor=actor, now=rt.now(), skip_bad_rows=skip_bad_rows, progress=bar
            )
            bar.close()
    except ImportFailed as exc:
        bar.close()
        _print_errors(exc.report)
        if exc.bad_rows:
            click.echo(exc.report.summary(), err=True)
            fail("Nothing was imported: fix the lines above, or pass --skip-bad-rows to import the rest.")
        fail("Nothing was imported.")
    except DomainError as exc:
        bar.close()
        fail(exc.message)
    _print_errors(report)
    click.echo(report.summary())
