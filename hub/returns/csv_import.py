"""Import returns from a CSV file: one row per returned item, checked by the same rules as the board's form."""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.errors import DomainError, ValidationFailed
from hub.returns.drafts import CleanReturn, ItemDraft, ReturnDraft, validate_draft
from hub.returns.models import Return
from hub.returns.permissions import Actor, deny_create, may_create
from hub.returns.services import Imported, import_returns
from hub.workflow import Stage, Workflow

REQUIRED_COLUMNS = (
    "rma",
    "order_number",
    "customer_name",
    "customer_email",
    "sku",
    "product_name",
    "quantity",
    "unit_price",
    "reason_code",
)
OPTIONAL_COLUMNS = (
    "customer_locale",
    "delivered_on",
    "category",
    "reason_note",
    "stage",
    "created_at",
    "priority",
    "carrier",
    "tracking_number",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# every line of one RMA must repeat these; the item columns may differ from line to line
RETURN_COLUMNS = (
    "order_number",
    "customer_name",
    "customer_email",
    "customer_locale",
    "delivered_on",
    "stage",
    "created_at",
    "priority",
    "carrier",
    "tracking_number",
)
_CASE_INSENSITIVE = frozenset({"customer_email", "customer_locale", "stage", "priority"})
FLUSH_EVERY = 500  # returns per flush: large enough to batch the INSERTs, small enough to report progress
_IN_CHUNK = 500  # RMAs per IN (...) when looking for ones already imported

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LineError:
    """What is wrong on one line of the file (line 1 is the header); `column` is None for the whole line."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.column}: {self.message}" if self.column else f"{where}{self.message}"


@dataclass
class ImportReport:
    """What an import found and did."""

    source: str = ""
    rows: int = 0  # data lines read (blank lines not counted)
    imported: int = 0  # returns created
    imported_lines: int = 0  # item lines of the returns created
    already_imported: list[str] = field(default_factory=list)  # RMAs that were in the database before
    skipped: list[str] = field(default_factory=list)  # RMAs left out because a line of theirs is bad
    errors: list[LineError] = field(default_factory=list)

    @property
    def bad_lines(self) -> int:
        """How many lines have at least one error."""
        return len({e.line for e in self.errors})

    def summary(self) -> str:
        """One line for people: what was imported, what was there already, what was bad."""
        text = (
            f"Imported {_count(self.imported, 'return')} ({_count(self.imported_lines, 'line')}); "
            f"{self.already_imported_count:,} already imported; {_count(self.bad_lines, 'bad line')}"
        )
        if self.skipped:
            text += f"; skipped {_count(len(self.skipped), 'return')} with bad lines"
        return text

    @property
    def already_imported_count(self) -> int:
        """How many RMAs of the file were in the database already."""
        return len(self.already_imported)


class ImportFailed(DomainError):
    """The file cannot be imported as it is; `report.errors` lists every bad line and nothing was imported."""

    status = 422

    def __init__(self, report: ImportReport, *, bad_rows: bool = False) -> None:
        self.report = report
        self.bad_rows = bad_rows  # True: only rows are bad, and skip_bad_rows would import the rest
        lines = "\n".join(str(e) for e in report.errors)
        super().__init__(f"{report.source or 'the file'}: nothing was imported\n{lines}")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# --- reading the file ----------------------------------------------------------------------


def _fail(report: ImportReport, line: int, message: str) -> ImportFailed:
    report.errors.append(LineError(line, None, message))
    return ImportFailed(report)


def _read_text(source: str | os.PathLike[str] | IO[bytes] | IO[str], report: ImportReport) -> str:
    """The file's text, without a byte order mark; ImportFailed when it is not UTF-8 text."""
    if isinstance(source, str | os.PathLike):
        try:
            data: bytes | str = Path(source).read_bytes()
        except OSError as exc:
            raise _fail(report, 0, f"cannot read the file: {exc.strerror or exc}") from None
    else:
        data = source.read()
    if isinstance(data, str):
        text = data
    else:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise _fail(report, 1, "the file is UTF-16 text; save it as CSV in UTF-8 (“CSV UTF-8” in Excel)")
        if data.startswith(b"PK\x03\x04"):
            raise _fail(
                report,
                1,
                "this is a spreadsheet workbook (.xlsx or .ods), not a CSV file; "
                "save it as CSV in UTF-8 (“CSV UTF-8” in Excel)",
            )
        data = data.removeprefix(codecs.BOM_UTF8)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise _fail(
                report,
                line,
                f"the file is not UTF-8 text (byte 0x{data[exc.start]:02X} cannot be read); "
                f"save it as CSV in UTF-8 (“CSV UTF-8” in Excel)",
            ) from None
    # Windows line endings, also inside quoted fields: a note is stored with plain newlines
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise _fail(report, line, "the line contains a NUL character: this is not a CSV text file")
    return text


def _delimiter(text: str) -> str:
    """Comma, unless the header line clearly uses semicolons or tabs (as some spreadsheet exports do)."""
    first = next((ln for ln in io.StringIO(text, newline="") if ln.strip()), "")
    counts = {d: first.count(d) for d in ",;\t"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _records(text: str, report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank record with the physical line it starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=False)
    previous = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _fail(report, previous + 1, f"cannot read the CSV: {exc}") from None
        start, previous = previous + 1, reader.line_num
        if any(cell.strip() for cell in record):
            yield start, record


def _normalise_header(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _header(line: int, record: list[str], report: ImportReport) -> dict[str, int]:
    """Column name -> position; ImportFailed naming every unknown, missing or repeated column."""
    positions: dict[str, int] = {}
    problems: list[str] = []
    unknown: list[str] = []
    for i, raw in enumerate(record):
        name = _normalise_header(raw)
        if not name:
            continue  # an unnamed column; a value under it is reported on its line
        if name in positions:
            problems.append(f"column {name} appears twice (columns {positions[name] + 1} and {i + 1})")
        elif name in COLUMNS:
            positions[name] = i
        else:
            unknown.append(raw.strip())
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if unknown:
        problems.append(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the columns are: {', '.join(COLUMNS)}"
        )
    if missing:
        problems.append(f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if problems and not positions:
        problems.append("the first line must be the header row naming the columns")
    if problems:
        report.errors.extend(LineError(line, None, p) for p in problems)
        raise ImportFailed(report)
    return positions


# --- checking the rows -------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    values: dict[str, str]


@dataclass
class _Group:
    """The lines of one RMA, in file order."""

    rma: str
    rows: list[_Row] = field(default_factory=list)


@dataclass(frozen=True)
class _Ready:
    clean: CleanReturn
    stage: Stage
    created_at: datetime
    lines: int


def _row(line: int, record: list[str], header: dict[str, int], report: ImportReport) -> _Row | None:
    width = max(header.values()) + 1
    if len(record) < width:
        report.errors.append(
            LineError(
                line,
                None,
                f"{len(record)} fields where the header has {width}; check the separators and quotes on this line",
            )
        )
        return None
    named = set(header.values())
    stray = [i + 1 for i, cell in enumerate(record) if cell.strip() and i not in named]
    if stray:
        report.errors.append(
            LineError(line, None, f"a value in column {', '.join(map(str, stray))}, which has no name in the header")
        )
        return None
    return _Row(line, {name: record[i] for name, i in header.items()})


def _same(column: str, value: str) -> str:
    value = value.strip()
    return value.lower() if column in _CASE_INSENSITIVE else value


def _inconsistencies(group: _Group) -> list[LineError]:
    """Return columns in which a later line of the RMA differs from its first line."""
    first, errors = group.rows[0], []
    for row in group.rows[1:]:
        for column in RETURN_COLUMNS:
            if column not in row.values:
                continue
            here, there = row.values[column].strip(), first.values[column].strip()
            if _same(column, here) != _same(column, there):
                errors.append(
                    LineError(
                        row.line,
                        column,
                        f"{here!r} differs from {there!r} on line {first.line}; every line of {group.rma} "
                        "must repeat the same return details",
                    )
                )
    return errors


def _parse_created_at(value: str, now: datetime) -> datetime:
    """An ISO date or date-time (a date alone is midnight, a time without an offset is UTC); ValueError says why."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a date like 2026-03-01 or a time like 2026-03-01T14:30, got {value!r}") from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when > now:
        raise ValueError(f"{value} is in the future")
    return when


def _find_stage(value: str, workflow: Workflow) -> Stage:
    """An open stage by key or name (case-insensitive); ValueError names the choices."""
    open_keys = ", ".join(s.key for s in workflow.open_stages)
    try:
        stage = workflow.find_stage(value, prefixes=False)  # a file names its stages in full
    except KeyError:
        raise ValueError(f"unknown stage {value.strip()!r}; open stages are: {open_keys}") from None
    if stage.closed:
        raise ValueError(f"{stage.key!r} is a closed stage; an import opens returns in one of: {open_keys}")
    return stage


def _check_group(group: _Group, workflow: Workflow, now: datetime) -> tuple[list[LineError], _Ready | None]:
    """Validate one RMA's lines as the form would; errors point at the line and column at fault."""
    first = group.rows[0]
    values = first.values
    errors = _inconsistencies(group)
    created_at, stage = now, workflow.initial_stage
    if values.get("created_at", "").strip():
        try:
            created_at = _parse_created_at(values["created_at"].strip(), now)
        except ValueError as exc:
            errors.append(LineError(first.line, "created_at", str(exc)))
    if values.get("stage", "").strip():
        try:
            stage = _find_stage(values["stage"], workflow)
        except ValueError as exc:
            errors.append(LineError(first.line, "stage", str(exc)))
    draft = ReturnDraft(
        rma=group.rma,
        order_number=values["order_number"],
        customer_name=values["customer_name"],
        customer_email=values["customer_email"],
        customer_locale=values.get("customer_locale", ""),
        delivered_on=values.get("delivered_on") or None,
        priority=values.get("priority", ""),
        carrier=values.get("carrier", ""),
        tracking_number=values.get("tracking_number", ""),
        items=[
            ItemDraft(
                sku=r.values["sku"],
                product_name=r.values["product_name"],
                quantity=r.values["quantity"],
                unit_price=r.values["unit_price"],
                reason_code=r.values["reason_code"],
                reason_note=r.values.get("reason_note", ""),
                category=r.values.get("category", ""),
            )
            for r in group.rows
        ],
    )
    clean = None
    try:
        # the return window counts back from the day the return was requested, so history imports too
        clean = validate_draft(draft, workflow, workflow.today(created_at))
    except ValidationFailed as exc:
        for key, message in exc.field_errors.items():
            if key.startswith("items[") and "]." in key:
                index, column = key[len("items[") :].split("].", 1)
                errors.append(LineError(group.rows[int(index)].line, column, message))
            else:
                errors.append(LineError(first.line, key, message))
    if errors or clean is None:
        return errors, None
    return [], _Ready(clean, stage, created_at, len(group.rows))


def _groups(
    records: Iterator[tuple[int, list[str]]], header: dict[str, int], report: ImportReport
) -> dict[str, _Group]:
    """The file's lines grouped by RMA, in file order; lines that fit no RMA are reported."""
    groups: dict[str, _Group] = {}
    for line, record in records:
        report.rows += 1
        row = _row(line, record, header, report)
        if row is None:
            continue
        rma = row.values["rma"].strip().upper()
        if not rma:
            missing = "The RMA is required: every line names the return it belongs to."
            report.errors.append(LineError(line, "rma", missing))
        elif rma in groups:
            groups[rma].rows.append(row)
        else:
            groups[rma] = _Group(rma, [row])
    return groups


def _existing(session: Session, rmas: list[str]) -> dict[str, str]:
    """RMA -> order number of the RMAs already in the database, a few hundred per query."""
    found: dict[str, str] = {}
    for i in range(0, len(rmas), _IN_CHUNK):
        chunk = rmas[i : i + _IN_CHUNK]
        rows = session.execute(select(Return.rma, Return.order_number).where(Return.rma.in_(chunk)))
        found.update((rma, order) for rma, order in rows)
    return found


# --- the import --------------------------------------------------------------------------------


def import_csv(
    session: Session,
    workflow: Workflow,
    stream_or_path: str | os.PathLike[str] | IO[bytes] | IO[str],
    *,
    actor: Actor,
    now: datetime,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Create a return per new RMA of the file; ImportFailed lists every bad line unless `skip_bad_rows`."""
    source = (
        str(stream_or_path) if isinstance(stream_or_path, str | os.PathLike) else getattr(stream_or_path, "name", "")
    )
    report = ImportReport(source=str(source))
    if not may_create(actor, workflow):
        raise deny_create(actor, workflow)
    ready = _plan(session, workflow, stream_or_path, report, now)
    if report.errors and not skip_bad_rows:
        report.skipped = []
        raise ImportFailed(report, bad_rows=True)
    _apply(session, workflow, actor, ready, report, progress)
    return report


def _plan(
    session: Session,
    workflow: Workflow,
    stream_or_path: str | os.PathLike[str] | IO[bytes] | IO[str],
    report: ImportReport,
    now: datetime,
) -> list[_Ready]:
    """Read and check the whole file: the returns ready to create; every bad line goes to `report.errors`."""
    text = _read_text(stream_or_path, report)
    records = _records(text, report)
    first = next(records, None)
    if first is None:
        raise _fail(report, 1, f"the file is empty; the first line must be the header row: {', '.join(COLUMNS)}")
    header = _header(*first, report)
    groups = _groups(records, header, report)
    existing = _existing(session, list(groups))
    ready: list[_Ready] = []
    for rma, group in groups.items():
        if rma in existing:
            _already_there(rma, group, existing[rma], report)
            continue
        errors, result = _check_group(group, workflow, now)
        report.errors.extend(errors)
        if result is None:
            report.skipped.append(rma)
        else:
            ready.append(result)
    report.errors.sort(key=lambda e: (e.line, header.get(e.column or "", -1)))
    return ready


def _already_there(rma: str, group: _Group, stored_order: str, report: ImportReport) -> None:
    """An RMA of the file is in the database: the same return (skipped), or a clash with another order."""
    order = group.rows[0].values["order_number"].strip()
    if order and order != stored_order:
        report.errors.append(
            LineError(
                group.rows[0].line,
                "rma",
                f"{rma} already exists for order {stored_order}, not {order}; give this return another RMA",
            )
        )
    else:
        report.already_imported.append(rma)


def _apply(
    session: Session,
    workflow: Workflow,
    actor: Actor,
    ready: list[_Ready],
    report: ImportReport,
    progress: Progress | None,
) -> None:
    """Create the checked returns, flushing and reporting progress every FLUSH_EVERY returns."""
    total = len(ready)
    if progress:
        progress(0, total)
    try:
        for start in range(0, total, FLUSH_EVERY):
            chunk = ready[start : start + FLUSH_EVERY]
            import_returns(
                session, workflow, actor, [Imported(item.clean, item.created_at, item.stage.key) for item in chunk]
            )
            session.flush()
            report.imported += len(chunk)
            report.imported_lines += sum(item.lines for item in chunk)
            if progress:
                progress(start + len(chunk), total)
    except IntegrityError as exc:
        if "rma" not in str(exc.orig).lower():
            raise
        # another import or a person created one of these RMAs since we looked; the caller rolls back
        report.imported = report.imported_lines = 0
        report.errors.append(
            LineError(
                0,
                None,
                "another import or user created some of these RMAs meanwhile; "
                "nothing was imported: run the import again to skip them",
            )
        )
        raise ImportFailed(report) from None
