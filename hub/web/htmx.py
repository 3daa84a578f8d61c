"""This request's htmx headers, typed: `request.htmx` (htmx-flask) is unknown to the type checker."""

from __future__ import annotations

from typing import Any, Protocol

from flask import request


class HtmxDetails(Protocol):
    """The htmx headers of a request (htmx_flask's HtmxHeaders); false when it is no htmx request."""

    def __bool__(self) -> bool: ...

    @property
    def boosted(self) -> bool: ...

    @property
    def current_url(self) -> str | None: ...

    @property
    def history_restore_request(self) -> bool: ...

    @property
    def target(self) -> str | None: ...

    @property
    def trigger(self) -> str | None: ...


def htmx() -> HtmxDetails:
    """`request.htmx`: every request is an htmx_flask HtmxAwareRequest once hub.app's Htmx() is set up."""
    req: Any = request  # htmx-flask ships no type hints, so its request class is unknown here
    details: HtmxDetails = req.htmx
    return details
