"""/healthz: is the app up and its database reachable (no login)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from hub.core.db import current_revision, head_revision, ping
from hub.web.context import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 with the schema revision when the database answers, 503 when it does not."""
    rt = runtime()
    try:
        ping(rt.engine)
        revision = current_revision(rt.engine)
    except SQLAlchemyError as exc:
        return jsonify(status="error", database=f"unreachable: {type(exc).__name__}"), 503
    ok = revision == head_revision()
    body = {
        "status": "ok" if ok else "error",
        "database": "ok" if ok else f"schema at {revision}, needs {head_revision()}",
        "slack": "configured" if rt.settings.slack_bot_token and rt.settings.slack_signing_secret else "off",
        "email": "smtp" if rt.settings.smtp_url else "files",
    }
    return jsonify(body), 200 if ok else 503
