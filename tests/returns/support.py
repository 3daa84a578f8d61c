"""CSV lines for the import tests (tests/returns/test_csv_import.py, tests/cli/test_imports.py)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from hub.returns.csv_import import COLUMNS

DEFAULTS = {
    "rma": "R-1",
    "order_number": "ORD-1",
    "customer_name": "Sanne de Vries",
    "customer_email": "sanne@example.nl",
    "customer_locale": "nl",
    "delivered_on": "2026-03-01",
    "sku": "TSHIRT-BLU-M",
    "product_name": "T-shirt blue M",
    "quantity": "1",
    "unit_price": "19.95",
    "reason_code": "too_small",
}


def row(**overrides: str) -> dict[str, str]:
    """One valid CSV line as a dict, with overrides."""
    return {**DEFAULTS, **overrides}


def to_csv(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    """CSV text with a header row, as a spreadsheet would export it."""
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n", restval="", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def count(session, model) -> int:
    """Rows of a model."""
    return session.scalar(select(func.count()).select_from(model))
