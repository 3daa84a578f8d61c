"""The logged-in user's own settings: the time zone they read times in, and where they are logged in."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from werkzeug.wrappers import Response

from hub.accounts.logins import end_all_logins, list_logins
from hub.accounts.services import set_time_zone, team_zone
from hub.core.errors import ValidationFailed
from hub.core.timefmt import short_time, zone_names
from hub.web.context import db, now, user, workflow, writing
from hub.web.htmx import htmx
from hub.web.login import logout_user

bp = Blueprint("account", __name__)


@bp.route("/account", methods=["GET", "POST"])
def settings() -> Response | tuple[str, int]:
    """Your settings: pick a time zone (empty: your team's)."""
    me, errors, status = user(), {}, 200
    chosen = me.time_zone or ""
    if request.method == "POST":
        chosen = request.form.get("time_zone", "").strip()
        session = writing()
        try:
            set_time_zone(session, me.email, chosen or None)
            session.commit()
        except ValidationFailed as exc:
            session.rollback()
            errors, status = exc.field_errors, 422
        else:
            zone = me.time_zone or f"{team_zone(me, workflow()).key} (your team's)"
            flash(f"Saved: times are shown in {zone}.", "success")
            if htmx():
                resp = Response("", status=204)
                resp.headers["HX-Redirect"] = url_for("account.settings")
                return resp
            return redirect(url_for("account.settings"))
    default = team_zone(me, workflow())
    return render_template(
        "account/settings.html",
        chosen=chosen,
        default_zone=default.key,
        zones=zone_names(),
        errors=errors,
        sample=short_time(now(), default, named=True),
        logins=list_logins(db(), me.id, current_key=me.login_key, now=now()),
    ), status


@bp.post("/account/logout-everywhere")
def logout_everywhere() -> Response:
    """End every login of this user, on every browser and device, this one included."""
    me_id = user().id
    session = writing()
    end_all_logins(session, me_id)
    session.commit()
    logout_user()
    cookie_session.clear()
    flash("You are logged out everywhere: every browser and device has to log in again.", "info")
    return _to(url_for("auth.login"))


def _to(location: str) -> Response:
    """Go to `location`: a redirect, or for htmx an HX-Redirect (a 302 would be followed inside the page)."""
    if htmx():
        resp = Response("", status=204)
        resp.headers["HX-Redirect"] = location
        return resp
    return redirect(location)
