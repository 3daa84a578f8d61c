"""Domain errors: every rule violation raises one, with a message fit to show a user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class DomainError(Exception):
    """A request that breaks a rule; nothing was changed."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The return (or user) does not exist."""

    status = 404


class PermissionDenied(DomainError):
    """The actor may not do this."""

    status = 403


class InvalidTransition(DomainError):
    """The workflow does not allow this move."""

    status = 409


@dataclass(frozen=True)
class LastChange:
    """Who changed a record last, what they did (an event kind like "moved") and when (UTC)."""

    who: str
    what: str
    at: datetime


class VersionConflict(DomainError):
    """Someone else changed the return since the actor loaded it: `rma` and `last_change` say which and how,
    as data, for each door to word in its reader's time zone."""

    status = 409

    def __init__(self, message: str, *, rma: str | None = None, last_change: LastChange | None = None) -> None:
        super().__init__(message)
        self.rma = rma
        self.last_change = last_change


class ValidationFailed(DomainError):
    """Input is invalid; `field_errors` maps each field to what is wrong with it."""

    status = 422

    def __init__(self, field_errors: dict[str, str], message: str | None = None) -> None:
        self.field_errors = field_errors
        if len(field_errors) == 1:
            summary = next(iter(field_errors.values()))
        else:
            summary = " ".join(_summary_part(k, v) for k, v in field_errors.items())
        super().__init__(message or summary)


def _summary_part(key: str, error: str) -> str:
    """One field's error in a summary of several: a sentence that names its field stays as it is (with the
    item it is about); a short one ("at most 500 characters") gets the field's name in front."""
    item, field = _item_and_field(key)
    if error[:1].isupper():
        part = f"Item {item}: {error}" if item else error
    else:
        part = f"{field.capitalize()}: {error}" if not item else f"Item {item} {field}: {error}"
    return part if part.endswith((".", "?", "!")) else part + "."


def _item_and_field(key: str) -> tuple[int | None, str]:
    """items[0].unit_price -> (1, "unit price"); customer_name -> (None, "customer name")."""
    if key.startswith("items[") and "]." in key:
        index, rest = key[6:].split("].", 1)
        if index.isdigit():
            return int(index) + 1, rest.replace("_", " ").replace("sku", "SKU")
    return None, key.replace("_", " ")
