"""Admin pages: notifications that failed or died, with their last error and "retry now"."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from hub.core.errors import DomainError
from hub.notifications.models import Notification, NotificationStatus
from hub.notifications.outbox import retry_notification
from hub.web.context import db, now, user

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
    """Failed (waiting to retry) and dead notifications, newest first, and counts by status."""
    session = db()
    problems = session.scalars(
        select(Notification)
        .where(
            or_(
                Notification.status == NotificationStatus.DEAD,
                (Notification.status == NotificationStatus.PENDING) & (Notification.attempts > 0),
            )
        )
        .order_by(Notification.id.desc())
        .limit(200)
    ).all()
    by_status = select(Notification.status, func.count()).group_by(Notification.status)
    counts = dict(session.execute(by_status).tuples().all())
    return render_template("admin/notifications.html", problems=problems, counts=counts, Status=NotificationStatus)


@bp.post("/notifications/<int:notification_id>/retry")
@leads_and_admins
def retry(notification_id: int) -> Response:
    """Put a failed or dead notification back in line now."""
    session = db()
    try:
        n = retry_notification(session, notification_id, now())
        session.commit()
    except DomainError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(f"Notification {n.id} ({n.kind} to {n.recipient}) will be sent on the next dispatch.", "success")
    return redirect(url_for("admin.notifications"))
