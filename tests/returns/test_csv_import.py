"""The CSV import: the form's rules per line, whole-file atomicity, re-imports, encodings.

(`returns-hub import`: tests/cli/test_imports.py.)
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from hub.returns.csv_import import COLUMNS, ImportFailed, import_csv
from hub.returns.models import Channel, Event, Return, ReturnItem
from hub.returns.permissions import Actor
from tests.factories import make_return
from tests.returns.support import DEFAULTS, count, row, to_csv

CSV_IMPORT = Actor.system("CSV import", Channel.CLI)


def run(session, workflow, now, text: str | bytes, **kwargs):
    """Import CSV text (or bytes) as if read from a file."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return import_csv(session, workflow, io.BytesIO(data), actor=CSV_IMPORT, now=now, **kwargs)


def failure(session, workflow, now, text: str | bytes, **kwargs) -> list[str]:
    """The error lines of an import that must fail."""
    with pytest.raises(ImportFailed) as info:
        run(session, workflow, now, text, **kwargs)
    return [str(e) for e in info.value.report.errors]


# --- a good file --------------------------------------------------------------------------------


def test_a_good_file_creates_each_return_with_its_items_stage_dates_and_created_event(session, workflow, now):
    text = to_csv(
        [
            row(rma="r-1", stage="approved", created_at="2026-03-04T10:00:00Z", priority="high"),
            row(
                rma="R-1",
                sku="JEANS-32",
                product_name="Jeans, slim 32",
                quantity="2",
                unit_price="59,95",
                reason_code="changed_mind",
                reason_note="Too long,\nreally",
                stage="approved",
                created_at="2026-03-04T10:00:00Z",
                priority="high",
            ),
            row(
                rma="R-2",
                order_number="ORD-2",
                customer_email="Tom@Example.NL",
                customer_locale="",
                delivered_on="",
                carrier="PostNL",
                tracking_number="3SABC123",
            ),
        ]
    )

    report = run(session, workflow, now, text)

    assert (report.rows, report.imported, report.imported_lines, report.bad_lines) == (3, 2, 3, 0)
    assert report.summary() == "Imported 2 returns (3 lines); 0 already imported; 0 bad lines"
    r1, r2 = session.scalars(select(Return).order_by(Return.id)).all()
    created = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Amsterdam
    assert (r1.rma, r1.stage, r1.priority) == ("R-1", "approved", 2)
    assert r1.created_at == r1.stage_entered_at == created
    # logistics works 08:00-17:00 Amsterdam: 6 hours on Wednesday, 3 on Thursday
    assert r1.stage_due_at == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    assert r1.promised_by == created + timedelta(days=workflow.promise_days)
    assert [(i.sku, i.quantity, i.unit_price, i.reason_note) for i in r1.items] == [
        ("TSHIRT-BLU-M", 1, Decimal("19.95"), None),
        ("JEANS-32", 2, Decimal("59.95"), "Too long,\nreally"),
    ]
    assert (r2.stage, r2.created_at, r2.customer_email, r2.customer_locale) == ("new", now, "tom@example.nl", "en")
    assert (r2.carrier, r2.tracking_number, r2.delivered_on) == ("PostNL", "3SABC123", None)
    # 1 business day of customer service (09:00-17:00): Thursday 10:00 -> Friday 10:00 in Amsterdam
    assert r2.stage_due_at == now + timedelta(days=1)
    events = session.scalars(select(Event).order_by(Event.id)).all()
    assert [(e.return_id, e.kind, e.to_stage, e.channel, e.actor_label, e.created_at) for e in events] == [
        (r1.id, "created", "approved", Channel.CLI, "CSV import", created),
        (r2.id, "created", "new", Channel.CLI, "CSV import", now),
    ]


def test_header_names_are_case_insensitive_trimmed_and_in_any_order(session, workflow, now):
    text = (
        " SKU ,Quantity,Unit Price,Reason_Code,Product_Name,RMA,Order_Number,Customer_Name,Customer_Email\n"
        "TSHIRT-BLU-M,1,19.95,too_small,T-shirt,R-1,ORD-1,Sanne,sanne@example.nl\n"
    )
    report = run(session, workflow, now, text)
    assert report.imported == 1
    assert session.scalar(select(Return.order_number)) == "ORD-1"


def test_duplicate_item_lines_of_one_rma_become_two_items(session, workflow, now):
    report = run(session, workflow, now, to_csv([row(), row()]))
    assert (report.imported, report.imported_lines) == (1, 2)
    assert count(session, ReturnItem) == 2


def test_the_return_window_counts_from_created_at_so_history_imports(session, workflow, now):
    old = row(delivered_on="2025-06-01", created_at="2025-06-10")
    report = run(session, workflow, now, to_csv([old]))
    assert report.imported == 1
    assert session.scalar(select(Return.created_at)) == datetime(2025, 6, 10, tzinfo=UTC)


def test_progress_is_reported_up_to_the_total(session, workflow, now, monkeypatch):
    monkeypatch.setattr("hub.returns.csv_import.FLUSH_EVERY", 2)
    calls = []
    run(
        session,
        workflow,
        now,
        to_csv([row(rma=f"R-{i}") for i in range(5)]),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]


# --- bad lines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"customer_email": "sanne@"}, "line 3: customer_email: “sanne@” is not an e-mail address."),
        ({"reason_code": "ugly"}, "line 3: reason_code: “ugly” is not a return reason; reasons are: too_small"),
        ({"sku": "giftcard"}, "line 3: sku: GIFTCARD cannot be returned: the return policy excludes it."),
        ({"category": "Swimwear"}, "line 3: category: swimwear items cannot be returned"),
        ({"quantity": "two"}, "line 3: quantity: The quantity “two” is not a whole number."),
        ({"quantity": "0"}, "line 3: quantity: The quantity must be at least 1 (got 0)."),
        ({"unit_price": "19.999"}, "line 3: unit_price: The unit price “19.999” has more than two decimals."),
        ({"stage": "limbo"}, "line 3: stage: unknown stage 'limbo'; open stages are: new, approved"),
        ({"stage": "resolved"}, "line 3: stage: 'resolved' is a closed stage"),
        ({"created_at": "05/03/2026"}, "line 3: created_at: expected a date like 2026-03-01"),
        ({"created_at": "2026-03-06"}, "line 3: created_at: 2026-03-06 is in the future"),
        ({"delivered_on": "2026-01-01"}, "line 3: delivered_on: Delivered 2026-01-01, 63 days ago: that is outside"),
        ({"priority": "asap"}, "line 3: priority: The priority “asap” is not one we know; use low, normal, high"),
        ({"rma": "R 1"}, "line 3: rma: The RMA “R 1” can only use letters, digits and - . _"),
        ({"rma": " "}, "line 3: rma: The RMA is required: every line names the return it belongs to."),
        ({"customer_name": ""}, "line 3: customer_name: The customer's name is required."),
        ({"category": "x" * 61}, "line 3: category: The category is 61 characters long; at most 60 fit."),
    ],
)
def test_each_bad_line_is_reported_with_its_line_number_column_and_reason(session, workflow, now, overrides, expected):
    text = to_csv([row(rma="R-0"), row(**overrides)])
    errors = failure(session, workflow, now, text)
    assert len(errors) == 1
    assert errors[0].startswith(expected)
    assert count(session, Return) == 0


def test_lines_of_one_rma_must_agree_on_the_return_columns(session, workflow, now):
    text = to_csv([row(), row(sku="JEANS-32"), row(customer_email="other@example.nl", stage="approved")])
    assert failure(session, workflow, now, text) == [
        "line 4: customer_email: 'other@example.nl' differs from 'sanne@example.nl' on line 2; "
        "every line of R-1 must repeat the same return details",
        "line 4: stage: 'approved' differs from '' on line 2; every line of R-1 must repeat the same return details",
    ]


def test_every_bad_line_is_listed_and_nothing_is_imported(session, workflow, now):
    text = to_csv([row(rma="R-1"), row(rma="R-2", quantity="-1"), row(rma="R-3"), row(rma="R-4", sku="GIFTCARD")])
    with pytest.raises(ImportFailed) as info:
        run(session, workflow, now, text)
    report = info.value.report
    assert [e.line for e in report.errors] == [3, 5]
    assert (report.imported, report.bad_lines) == (0, 2)
    assert info.value.bad_rows
    assert count(session, Return) == count(session, Event) == 0


def test_skip_bad_rows_imports_the_good_returns_and_skips_a_return_with_any_bad_line(session, workflow, now):
    text = to_csv(
        [
            row(rma="R-1"),
            row(rma="R-2"),
            row(rma="R-2", reason_code="meh"),
            row(rma="R-3", customer_email="x"),
            row(rma="R-4"),
        ]
    )
    report = run(session, workflow, now, text, skip_bad_rows=True)
    assert [str(e).split(":")[0] for e in report.errors] == ["line 4", "line 5"]
    assert (report.imported, report.imported_lines, report.skipped) == (2, 2, ["R-2", "R-3"])
    assert report.summary() == (
        "Imported 2 returns (2 lines); 0 already imported; 2 bad lines; skipped 2 returns with bad lines"
    )
    assert session.scalars(select(Return.rma).order_by(Return.rma)).all() == ["R-1", "R-4"]


def test_a_line_with_too_few_fields_or_a_value_in_an_unnamed_column_is_bad(session, workflow, now):
    good = to_csv([row()], columns=tuple(DEFAULTS))
    text = good.replace("\n", ",\n", 1) + "R-2,ORD-2\n" + good.splitlines()[1].replace("R-1", "R-3") + ",oops\n"
    errors = failure(session, workflow, now, text)
    assert errors == [
        "line 3: 2 fields where the header has 11; check the separators and quotes on this line",
        "line 4: a value in column 12, which has no name in the header",
    ]


# --- the header ----------------------------------------------------------------------------------


def test_missing_required_columns_are_named_before_any_row_is_read(session, workflow, now):
    columns = tuple(c for c in DEFAULTS if c not in ("quantity", "customer_email"))
    text = to_csv([row()], columns=columns) + 'this line is not even valid,"\n'
    assert failure(session, workflow, now, text) == ["line 1: missing required columns customer_email, quantity"]


def test_unknown_and_repeated_columns_are_named(session, workflow, now):
    text = (
        "rma,order_number,customer_name,customer_email,sku,product_name,quantity,unit_price,reason_code,"
        "Colour,SKU,size\n"
    )
    assert failure(session, workflow, now, text) == [
        "line 1: column sku appears twice (columns 5 and 11)",
        "line 1: unknown columns Colour, size; the columns are: " + ", ".join(COLUMNS),
    ]


def test_a_file_without_a_header_row_says_so(session, workflow, now):
    errors = failure(session, workflow, now, "R-1,ORD-1,Sanne\n")
    assert errors[-1] == "line 1: the first line must be the header row naming the columns"
    assert failure(session, workflow, now, "\n\n") == [
        "line 1: the file is empty; the first line must be the header row: " + ", ".join(COLUMNS)
    ]


# --- re-imports ----------------------------------------------------------------------------------


def test_importing_the_same_file_again_creates_no_duplicates(session, workflow, now):
    text = to_csv([row(rma="R-1"), row(rma="R-1", sku="JEANS-32"), row(rma="R-2")])
    run(session, workflow, now, text)
    session.commit()

    report = run(session, workflow, now, text)
    session.commit()

    assert (report.imported, report.already_imported) == (0, ["R-1", "R-2"])
    assert report.summary() == "Imported 0 returns (0 lines); 2 already imported; 0 bad lines"
    assert (count(session, Return), count(session, ReturnItem), count(session, Event)) == (2, 3, 2)


def test_an_rma_that_exists_for_another_order_is_a_bad_line(session, workflow, now):
    make_return(session, workflow, rma="R-7", order_number="ORD-99", now=now)
    errors = failure(session, workflow, now, to_csv([row(rma="r-7")]))
    assert errors == ["line 2: rma: R-7 already exists for order ORD-99, not ORD-1; give this return another RMA"]


def test_an_rma_created_meanwhile_by_someone_else_fails_the_import_cleanly(session, workflow, now, monkeypatch):
    make_return(session, workflow, rma="R-1", order_number="ORD-1", now=now)
    session.commit()
    monkeypatch.setattr("hub.returns.csv_import._existing", lambda session, rmas: {})  # as if it came after the look-up
    errors = failure(session, workflow, now, to_csv([row(rma="R-0"), row(rma="R-1")]))
    session.rollback()
    assert errors == [
        "another import or user created some of these RMAs meanwhile; "
        "nothing was imported: run the import again to skip them"
    ]
    assert session.scalars(select(Return.rma)).all() == ["R-1"]


# --- encodings and line endings -------------------------------------------------------------------


def test_a_utf8_bom_windows_line_endings_quoted_newlines_and_blank_trailing_lines_are_read(session, workflow, now):
    text = to_csv(
        [
            row(rma="R-1", customer_name="Zoë Müller", reason_note="Seam torn,\nleft sleeve"),
            row(rma="R-2", quantity="x"),
        ]
    ).replace("\n", "\r\n")
    data = b"\xef\xbb\xbf" + (text + "\r\n\r\n").encode("utf-8")
    # line 2 spans two physical lines, so R-2 is on line 4
    assert failure(session, workflow, now, data) == ["line 4: quantity: The quantity “x” is not a whole number."]

    report = run(session, workflow, now, data.replace(b",x,", b",1,"))
    r = session.scalars(select(Return).where(Return.rma == "R-1")).one()
    assert report.imported == 2
    assert (r.customer_name, r.items[0].reason_note) == ("Zoë Müller", "Seam torn,\nleft sleeve")


def test_a_semicolon_separated_export_is_read(session, workflow, now):
    text = to_csv([row(unit_price="19,95")]).replace(",", ";").replace("19;95", "19,95")
    report = run(session, workflow, now, text)
    assert report.imported == 1
    assert session.scalar(select(ReturnItem.unit_price)) == Decimal("19.95")


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(session, workflow, now, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(to_csv([row(), row(rma="R-2", customer_name="Zoë")]).encode("latin-1"))
    with pytest.raises(ImportFailed) as info:
        import_csv(session, workflow, path, actor=CSV_IMPORT, now=now)
    assert [str(e) for e in info.value.report.errors] == [
        "line 3: the file is not UTF-8 text (byte 0xEB cannot be read); save it as CSV in UTF-8 (“CSV UTF-8” in Excel)"
    ]
    assert not info.value.bad_rows
    utf16 = to_csv([row()]).encode("utf-16")
    assert failure(session, workflow, now, utf16)[0].startswith("line 1: the file is UTF-16 text")
    workbook = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256))
    assert failure(session, workflow, now, workbook)[0].startswith("line 1: this is a spreadsheet workbook")
    assert failure(session, workflow, now, to_csv([row(), row(customer_name="A\x00B")])) == [
        "line 3: the line contains a NUL character: this is not a CSV text file"
    ]
