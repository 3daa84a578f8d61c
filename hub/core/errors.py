"""Domain errors: every rule violation raises one, with a message fit to show a user."""

from __future__ import annotations


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


class VersionConflict(DomainError):
    """Someone else changed the return since the actor loaded it."""

    status = 409


class ValidationFailed(DomainError):
    """Input is invalid; `field_errors` maps each field to what is wrong with it."""

    status = 422

    def __init__(self, field_errors: dict[str, str], message: str | None = None) -> None:
        self.field_errors = field_errors
        if len(field_errors) == 1:
            summary = next(iter(field_errors.values()))
        else:
            summary = "; ".join(f"{_field_label(k)}: {v}" for k, v in field_errors.items())
        super().__init__(message or summary)


def _field_label(key: str) -> str:
    """items[0].unit_price -> item 1 unit price."""
    if key.startswith("items[") and "]." in key:
        index, rest = key[6:].split("].", 1)
        if index.isdigit():
            return f"item {int(index) + 1} {rest.replace('_', ' ')}"
    return key.replace("_", " ")
