"""What every template can use: the workflow, time and SLA formatting, the team colours."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, render_template, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from hub.accounts.models import initials_of
from hub.returns.models import EVENT_WORDS
from hub.returns.queries import sla_state
from hub.returns.services import MENTION_RE
from hub.web.context import now, workflow
from hub.workflow import Workflow

bp = Blueprint("views", __name__)

SLA_LABELS = {"on_time": "On time", "due_soon": "Due soon", "overdue": "Overdue", "closed": "Closed"}


def init_app(app: Flask) -> None:
    """Register the template helpers and the generated stylesheet."""
    app.register_blueprint(bp)
    app.jinja_env.filters.update(
        duration=format_duration, local=format_local, ago=lambda dt: format_duration(now() - dt),
        until=lambda dt: format_duration(dt - now()), mentions=render_mentions, initials=initials_of,
        isotime=lambda iso: format_local(datetime.fromisoformat(iso)) if iso else "",
    )

    @app.context_processor
    def _globals() -> dict[str, object]:
        wf = workflow()
        return {
            "wf": wf, "now": now(), "sla_state": sla_state, "SLA_LABELS": SLA_LABELS,
            "EVENT_WORDS": EVENT_WORDS, "stage_name": lambda k: _stage_name(wf, k),
            "reason_label": lambda code: wf.reasons.get(code, code.replace("_", " ") if code else ""),
            "team_of": lambda k: wf.team_of(k) if k in wf.stages else None,
        }


def _stage_name(wf: Workflow, key: str | None) -> str:
    if not key:
        return ""
    stage = wf.stages.get(key)
    return stage.name if stage else f"{key} (no longer configured)"


def display_zone() -> ZoneInfo:
    """The zone times are shown in: the user's first team's, else the first team's."""
    wf = workflow()
    keys = sorted(current_user.team_keys) if getattr(current_user, "is_authenticated", False) else []
    for key in keys:
        if key in wf.teams:
            return wf.teams[key].timezone
    return next(iter(wf.teams.values())).timezone if wf.teams else ZoneInfo("UTC")


def format_local(dt: datetime | None, fmt: str = "%a %d %b %H:%M") -> str:
    """A UTC time in the display zone."""
    if dt is None:
        return ""
    return dt.astimezone(display_zone()).strftime(fmt)


def format_duration(delta: timedelta) -> str:
    """A compact duration: 45m, 5h, 3d 4h."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days}d {hours}h" if hours else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h {minutes}m" if minutes and hours < 10 else f"{sign}{hours}h"
    return f"{sign}{minutes}m"


def render_mentions(body: str) -> Markup:
    """A comment body, escaped, with @handles marked up as the services read them (a final dot ends the sentence)."""

    def mark(match: re.Match[str]) -> str:
        handle = match.group(1).rstrip(".")
        return f'<span class="mention">@{handle}</span>{match.group(1)[len(handle):]}'

    return Markup(MENTION_RE.sub(mark, str(escape(body))))


@bp.get("/theme.css")
def theme_css() -> Response:
    """Team colours as CSS classes (a stylesheet, since the CSP forbids inline styles)."""
    css = render_template("theme.css", teams=workflow().teams.values())
    resp = Response(css, mimetype="text/css")
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


@bp.get("/")
def index() -> Response:
    """The board is the home page."""
    from flask import redirect

    return redirect(url_for("board.board"))
