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
        summary = "; ".join(f"{k}: {v}" for k, v in field_errors.items())
        super().__init__(message or summary)
