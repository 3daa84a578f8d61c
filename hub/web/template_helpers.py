"""What every template can use: the workflow, time and SLA formatting, the team colours."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, g, render_template, url_for
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as WerkzeugResponse

from hub.accounts.models import User, initials_of
from hub.accounts.services import zone_of
from hub.core.timefmt import short_date, short_time, zone_name
from hub.returns import queries
from hub.returns.mentions import MENTION_RE
from hub.returns.models import Event
from hub.returns.queries import sla_state
from hub.returns.timeline import EventText, describe_event, format_duration, stage_label
from hub.web.context import now, workflow
from hub.web.login import current_user
from hub.workflow import Workflow

bp = Blueprint("views", __name__)

SLA_LABELS = {"on_time": "On time", "due_soon": "Due soon", "overdue": "Overdue", "closed": "Closed"}


def init_app(app: Flask) -> None:
    """Register the template helpers and the generated stylesheet."""
    app.register_blueprint(bp)
    app.jinja_env.filters.update(
        duration=format_duration,
        local=format_local,
        ago=lambda dt: format_duration(now() - dt),
        until=lambda dt: format_duration(dt - now()),
        mentions=render_mentions,
        initials=initials_of,
        isotime=format_iso,
        day=format_day,
    )

    @app.context_processor
    def _globals() -> dict[str, object]:
        wf = workflow()
        return {
            "wf": wf,
            "now": now(),
            "sla_state": sla_state,
            "SLA_LABELS": SLA_LABELS,
            "describe": lambda e: describe(wf, e),
            "stage_name": lambda k: stage_label(wf, k),
            "reason_label": lambda code: reason_label(wf, code),
            "team_of": lambda k: wf.team_of(k) if k in wf.stages else None,
            "zone_label": lambda: zone_name(now().astimezone(display_zone())),
            "search_limit": queries.SEARCH_LIMIT,
        }


def display_zone() -> ZoneInfo:
    """The zone this user reads times in: their own setting, else their team's (see `zone_of`)."""
    if "display_zone" not in g:  # once a request: a board formats hundreds of times
        me = current_user._get_current_object()
        g.display_zone = zone_of(me, workflow()) if isinstance(me, User) else workflow().shop_zone
    zone: ZoneInfo = g.display_zone
    return zone


def reason_label(wf: Workflow, code: str | None) -> str:
    """A return reason as the workflow names it (a code it no longer has, in words)."""
    return wf.reasons.get(code or "", code.replace("_", " ") if code else "")


def format_iso(iso: str | None) -> str:
    """An ISO time (as events store them) in the display zone."""
    return format_local(datetime.fromisoformat(iso)) if iso else ""


def describe(wf: Workflow, e: Event) -> EventText:
    """A timeline entry in the one wording the page, Slack and e-mail share."""
    return describe_event(
        e.kind, e.payload or {}, wf, from_stage=e.from_stage, to_stage=e.to_stage, format_time=format_iso
    )


def format_local(dt: datetime | None, named: bool = False) -> str:
    """A UTC time in the user's zone, the one short way ("Tue 1 Dec 14:05"; "… 14:05 CET" when `named`)."""
    return short_time(dt, display_zone(), named=named) if dt is not None else ""


def format_day(value: date | datetime | None) -> str:
    """A date the one way ("1 Dec 2026"); a moment's date in the user's zone."""
    if value is None:
        return ""
    return short_date(value.astimezone(display_zone()).date() if isinstance(value, datetime) else value)


def render_mentions(body: str) -> Markup:
    """A comment body, escaped, with @handles marked up as the services read them (a final dot ends the sentence)."""

    def mark(match: re.Match[str]) -> str:
        handle = match.group(1).rstrip(".")
        return f'<span class="mention">@{handle}</span>{match.group(1)[len(handle) :]}'

    return Markup(MENTION_RE.sub(mark, str(escape(body))))


@bp.get("/theme.css")
def theme_css() -> Response:
    """Team colours as CSS classes (a stylesheet, since the CSP forbids inline styles)."""
    css = render_template("theme.css", teams=workflow().teams.values())
    resp = Response(css, mimetype="text/css")
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


@bp.get("/")
def index() -> WerkzeugResponse:
    """The board is the home page."""
    from flask import redirect

    return redirect(url_for("board.board"))
