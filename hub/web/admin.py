"""Admin pages: notifications that have not gone out after a failure, with their last error, "retry now" and
"retry all"."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from hub.core.errors import InvalidTransition
from hub.notifications.outbox import retry_all as retry_all_notifications
from hub.notifications.outbox import retry_notification
from hub.notifications.queries import State, outbox_overview
from hub.web.context import db, now, user, whole_number, writing

bp = Blueprint("admin", __name__, url_prefix="/admin")

_P = ParamSpec("_P")
_R = TypeVar("_R")


def leads_and_admins(view: Callable[_P, _R]) -> Callable[_P, _R]:
    """Only leads and admins see the admin pages."""

    @wraps(view)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not user().is_lead_or_admin:
            abort(403, "Only leads and admins can see the notification admin page.")
        return view(*args, **kwargs)

    return wrapped


@bp.get("/notifications")
@leads_and_admins
def notifications() -> str:
    """Failed, put back in line, dead and skipped notifications, newest first, and counts by state."""
    return render_template("admin/notifications.html", overview=outbox_overview(db(), now()), State=State)


@bp.post("/notifications/<notification_id>/retry")
@leads_and_admins
def retry(notification_id: str) -> Response:
    """Put a failed, dead or skipped notification back in line now (an id that names none is a 404; one that
    is no id, or past the column's range, a 400)."""
    nid = whole_number(notification_id, "the notification id", default=0)
    session = writing()
    try:
        n = retry_notification(session, nid, now())
    except InvalidTransition as exc:  # sent or being sent since the page was loaded: back to the page, which says so
        session.rollback()
        flash(exc.message, "error")
    else:
        session.commit()
        flash(f"Notification {n.id} ({n.kind} to {n.recipient}) will be sent on the next dispatch.", "success")
    return redirect(url_for("admin.notifications"))


@bp.post("/notifications/retry-all")
@leads_and_admins
def retry_all() -> Response:
    """Put every failed, dead and skipped notification back in line now, in one transaction."""
    session = writing()
    count = retry_all_notifications(session, now())
    session.commit()
    if count:
        words = "notification is back in line: it goes" if count == 1 else "notifications are back in line: they go"
        flash(f"{count} {words} out on the next dispatch.", "success")
    else:
        flash("Nothing to retry: no notification is waiting for a retry, dead or skipped.", "info")
    return redirect(url_for("admin.notifications"))
