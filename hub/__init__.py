"""Returns Hub: coordinate e-commerce returns between customer service, logistics and the warehouse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """Build the Flask app (so `flask --app hub` works); see hub.app.create_app."""
    from hub.app import create_app as _create_app

    return _create_app(*args, **kwargs)
