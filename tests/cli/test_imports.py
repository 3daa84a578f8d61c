"""`returns-hub import FILE`: a summary, every bad line, --skip-bad-rows, and what is already there is skipped."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from hub.returns.models import Channel, Event, Return
from tests.returns.support import count, row, to_csv


def recent(**overrides: str) -> dict[str, str]:
    """A line delivered a few days before today (the CLI runs on the real clock)."""
    return row(delivered_on=(date.today() - timedelta(days=3)).isoformat(), **overrides)


def test_cli_import_prints_a_summary_and_skips_what_is_already_there(cli, session_factory, tmp_path):
    path = tmp_path / "returns.csv"
    path.write_text(to_csv([recent(rma="R-1"), recent(rma="R-1", sku="JEANS-32"), recent(rma="R-2")]), "utf-8")

    first = cli("import", str(path))
    again = cli("import", str(path))

    assert first.exit_code == 0, first.output
    assert first.stdout == "Imported 2 returns (3 lines); 0 already imported; 0 bad lines\n"
    assert again.exit_code == 0, again.output
    assert again.stdout == "Imported 0 returns (0 lines); 2 already imported; 0 bad lines\n"
    with session_factory() as s:
        assert count(s, Return) == 2
        assert {e.channel for e in s.scalars(select(Event))} == {Channel.CLI}


def test_cli_import_exits_1_and_lists_every_bad_line_when_any_line_is_bad(cli, session_factory, tmp_path):
    path = tmp_path / "returns.csv"
    path.write_text(
        to_csv([recent(rma="R-1"), recent(rma="R-2", customer_email="nope"), recent(rma="R-3", sku="GIFTCARD")]),
        "utf-8",
    )

    result = cli("import", str(path))

    assert result.exit_code == 1
    assert "line 3: customer_email: “nope” is not an e-mail address." in result.stderr
    assert "line 4: sku: GIFTCARD cannot be returned" in result.stderr
    assert "Imported 0 returns (0 lines); 0 already imported; 2 bad lines" in result.stderr
    assert "pass --skip-bad-rows" in result.stderr
    with session_factory() as s:
        assert count(s, Return) == 0


def test_cli_import_with_skip_bad_rows_imports_the_rest(cli, session_factory, tmp_path):
    path = tmp_path / "returns.csv"
    path.write_text(to_csv([recent(rma="R-1"), recent(rma="R-2", quantity="0")]), "utf-8")

    result = cli("import", "--skip-bad-rows", str(path))

    assert result.exit_code == 0, result.output
    assert "line 3: quantity: The quantity must be at least 1 (got 0)." in result.stderr
    assert result.stdout == (
        "Imported 1 return (1 line); 0 already imported; 1 bad line; skipped 1 return with bad lines\n"
    )
    with session_factory() as s:
        assert s.scalars(select(Return.rma)).all() == ["R-1"]


def test_cli_import_refuses_a_bad_header_even_with_skip_bad_rows(cli, tmp_path):
    path = tmp_path / "returns.csv"
    path.write_text("rma,sku,colour\nR-1,X,red\n", "utf-8")

    result = cli("import", "--skip-bad-rows", str(path))

    assert result.exit_code == 1
    assert "line 1: unknown column colour" in result.stderr
    assert "line 1: missing required columns order_number" in result.stderr
    assert result.stderr.rstrip().endswith("Nothing was imported.")


def test_cli_import_needs_an_existing_file(cli, tmp_path):
    result = cli("import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
