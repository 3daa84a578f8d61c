"""A new return as typed (form, CSV row, Slack modal), and its validation against the rules and the policy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from hub.core.addresses import MAX_ADDRESS, address_problem
from hub.core.errors import ValidationFailed
from hub.returns.models import Priority
from hub.workflow import Policy, Workflow

LOCALE_RE = re.compile(r"^[a-z]{2}(?:[-_][A-Za-z]{2})?$")
RMA_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")  # no "/": an RMA is a path segment of its page
MAX_QUANTITY = 10_000
# the longest text each field takes: the validator enforces them, the form's and the Slack modal's inputs show them
MAX_LENGTH = {
    "rma": 40,
    "order_number": 60,
    "customer_name": 200,
    "customer_email": MAX_ADDRESS,
    "carrier": 60,
    "tracking_number": 80,
}
MAX_ITEM_LENGTH = {"sku": 64, "product_name": 200, "category": 60, "reason_note": 2000}
MAX_PRICE = Decimal("100000000")


@dataclass
class ItemDraft:
    """A product line as typed in a form or a CSV row."""

    sku: str = ""
    product_name: str = ""
    quantity: str | int = 1
    unit_price: str | Decimal = "0"
    reason_code: str = ""
    reason_note: str = ""
    category: str = ""


@dataclass
class ReturnDraft:
    """A new return as typed in a form, a CSV file or a Slack modal."""

    order_number: str = ""
    customer_name: str = ""
    customer_email: str = ""
    customer_locale: str = "en"
    delivered_on: str | date | None = None
    items: list[ItemDraft] = field(default_factory=list)
    rma: str = ""
    priority: str | int = "normal"
    carrier: str = ""
    tracking_number: str = ""


@dataclass(frozen=True)
class CleanItem:
    """A validated product line."""

    sku: str
    product_name: str
    quantity: int
    unit_price: Decimal
    reason_code: str
    reason_note: str | None
    category: str | None


@dataclass(frozen=True)
class CleanReturn:
    """A validated new return."""

    rma: str | None
    order_number: str
    customer_name: str
    customer_email: str
    customer_locale: str
    delivered_on: date | None
    priority: int
    carrier: str | None
    tracking_number: str | None
    items: tuple[CleanItem, ...]


def _parse_priority(value: str | int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value in {p.value for p in Priority} else None
    text = str(value).strip().lower() or "normal"
    try:
        return Priority[text.upper()].value
    except KeyError:
        return None


class _Errors(dict[str, str]):
    """Field errors collected while cleaning a draft, keyed by field path."""

    def text(self, name: str, value: str | None, limit: int, what: str, *, required: bool = True) -> str:
        """A stripped text field, checked for presence and length; `what` names it to people ("Customer name")."""
        value = (value or "").strip()
        if required and not value:
            self[name] = f"{what} is required."
        elif len(value) > limit:
            self[name] = f"{what} is {len(value)} characters long; at most {limit} fit."
        return value


def validate_draft(draft: ReturnDraft, workflow: Workflow, today: date) -> CleanReturn:
    """Check a new return against the rules and the return policy; ValidationFailed names each bad field."""
    errors = _Errors()
    rma = errors.text("rma", draft.rma, MAX_LENGTH["rma"], "The RMA", required=False).upper()
    if rma and not RMA_RE.match(rma):
        errors["rma"] = f"The RMA “{rma}” can only use letters, digits and - . _"
    order = errors.text("order_number", draft.order_number, MAX_LENGTH["order_number"], "The order number")
    name = errors.text("customer_name", draft.customer_name, MAX_LENGTH["customer_name"], "The customer's name")
    email = errors.text(
        "customer_email", draft.customer_email, MAX_LENGTH["customer_email"], "The customer's e-mail address"
    ).lower()
    problem = address_problem(email) if email and "customer_email" not in errors else None
    if problem:
        errors["customer_email"] = problem
    locale = (draft.customer_locale or "en").strip()
    if not LOCALE_RE.match(locale):
        errors["customer_locale"] = f"The language “{locale}” is not a language code like en or nl."
    delivered = _clean_delivered_on(draft.delivered_on, workflow.policy, today, errors)
    priority = _parse_priority(draft.priority)
    if priority is None:
        names = ", ".join(p.label for p in Priority)
        errors["priority"] = f"The priority “{draft.priority}” is not one we know; use {names}."
    carrier = errors.text("carrier", draft.carrier, MAX_LENGTH["carrier"], "The carrier", required=False)
    tracking = errors.text(
        "tracking_number", draft.tracking_number, MAX_LENGTH["tracking_number"], "The tracking number", required=False
    )
    if not draft.items:
        errors["items"] = "Add at least one item: a return needs something to return."
    items = [_clean_item(f"items[{i}].", item, workflow, errors) for i, item in enumerate(draft.items)]
    if errors:
        raise ValidationFailed(dict(errors))
    return CleanReturn(
        rma or None,
        order,
        name,
        email,
        locale.replace("_", "-"),
        delivered,
        int(Priority.NORMAL) if priority is None else priority,  # (never None here: low is 0, not "unset")
        carrier or None,
        tracking or None,
        tuple(items),
    )


def _clean_delivered_on(value: str | date | None, policy: Policy, today: date, errors: _Errors) -> date | None:
    """The delivery date, which must lie inside the return window."""
    delivered: date | None = None
    if isinstance(value, date):
        delivered = value
    elif value and str(value).strip():
        try:
            delivered = date.fromisoformat(str(value).strip())
        except ValueError:
            errors["delivered_on"] = f"The delivery date “{value}” is not a date like 2026-03-01."
    if delivered is not None:
        age = (today - delivered).days
        if age < 0:
            errors["delivered_on"] = f"The delivery date {delivered.isoformat()} is in the future."
        elif age > policy.return_window_days:
            errors["delivered_on"] = (
                f"Delivered {delivered.isoformat()}, {age} days ago: that is outside the "
                f"{policy.return_window_days}-day return window."
            )
    return delivered


def _clean_item(p: str, item: ItemDraft, workflow: Workflow, errors: _Errors) -> CleanItem:
    """One product line; its errors are keyed `items[i].field`."""
    policy = workflow.policy
    limit = MAX_ITEM_LENGTH
    sku = errors.text(p + "sku", item.sku, limit["sku"], "The SKU").upper()
    product = errors.text(p + "product_name", item.product_name, limit["product_name"], "The product name")
    category = errors.text(p + "category", item.category, limit["category"], "The category", required=False).lower()
    if sku and sku in policy.non_returnable_skus:
        errors[p + "sku"] = f"{sku} cannot be returned: the return policy excludes it."
    if category and category in policy.non_returnable_categories:
        errors[p + "category"] = f"{category} items cannot be returned: the return policy excludes them."
    qty = _clean_quantity(p, item.quantity, errors)
    price = _clean_price(p, item.unit_price, errors)
    reason = (item.reason_code or "").strip().lower()
    if not reason:
        errors[p + "reason_code"] = "The return reason is required."
    elif reason not in workflow.reasons:
        errors[p + "reason_code"] = f"“{reason}” is not a return reason; reasons are: {', '.join(workflow.reasons)}"
    note = errors.text(
        p + "reason_note", item.reason_note, limit["reason_note"], "The customer's words", required=False
    )
    return CleanItem(sku, product, qty, price, reason, note or None, category or None)


def _clean_quantity(p: str, value: str | int, errors: _Errors) -> int:
    if not str(value).strip():
        errors[p + "quantity"] = "The quantity is required."
        return 0
    try:
        qty = int(str(value).strip())
    except ValueError:
        errors[p + "quantity"] = f"The quantity “{value}” is not a whole number."
        return 0
    if qty <= 0:
        errors[p + "quantity"] = f"The quantity must be at least 1 (got {qty})."
    elif qty > MAX_QUANTITY:
        errors[p + "quantity"] = f"The quantity is at most {MAX_QUANTITY} per line (got {qty})."
    return qty


def _clean_price(p: str, value: str | Decimal, errors: _Errors) -> Decimal:
    if not str(value).strip():
        errors[p + "unit_price"] = "The unit price is required (0 for an item that was free)."
        return Decimal(0)
    try:
        price = Decimal(str(value).strip().replace(",", "."))
        if not price.is_finite() or price < 0:
            raise InvalidOperation
        cents = price.quantize(Decimal("0.01"))  # InvalidOperation past the context's precision
    except InvalidOperation:
        errors[p + "unit_price"] = f"The unit price “{value}” is not an amount like 19.95."
        return Decimal(0)
    if price != cents:
        errors[p + "unit_price"] = f"The unit price “{value}” has more than two decimals."
    elif price >= MAX_PRICE:
        errors[p + "unit_price"] = f"The unit price “{value}” is too large."
    return price
