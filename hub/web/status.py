"""The customer's status page: where the return is, in plain words and the customer's language (no login)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date
from flask import Blueprint, Flask, g, render_template, request
from flask_babel import Babel
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.core.config import CUSTOMER_LANGUAGES, customer_language, translations_dir
from hub.returns.models import Event, Return
from hub.web.context import db, now, workflow
from hub.workflow import RejectionReason, Stage

bp = Blueprint("status", __name__)


@dataclass(frozen=True)
class Step:
    """A step of the return as the customer sees it: when, into which stage, and the note it carried."""

    at: datetime
    stage: Stage
    note: str | None
    reason: RejectionReason | None = None  # why it was not accepted (None for older rejections: the note says)

    @property
    def status(self) -> str | None:
        """What the stage means to the customer (the key of its wording), never its configurable key."""
        return self.stage.customer_status


babel = Babel()


def init_app(app: Flask) -> None:
    """Flask-Babel: the staff pages are English; the status page speaks the return's language."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(translations_dir()))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    babel.init_app(app, locale_selector=lambda: g.get("locale", "en"))
    app.register_blueprint(bp)


# the customer's pages are neither indexed, nor cached, nor named to other sites (the token is the key)
HEADERS = {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")  # what a status token can look like (secrets.token_urlsafe)


def _asked() -> str | None:
    """The language the customer picked with a language link (?lang=), when we write in it."""
    asked = request.args.get("lang")
    return asked if asked in CUSTOMER_LANGUAGES else None


def _locale(r: Return) -> str:
    return _asked() or customer_language(r.customer_locale)


def _visitor_locale() -> str:
    """With no return to go by: the language picked, else the browser's best among ours, else English."""
    return _asked() or request.accept_languages.best_match(list(CUSTOMER_LANGUAGES)) or "en"


def _not_found() -> tuple[str, int, dict[str, str]]:
    """A status link that leads to no return: a plain page for the customer in their language, the same for
    every wrong link (it tells a near miss from a wild guess no more than it shows the staff's pages)."""
    g.locale = _visitor_locale()
    html = render_template("status_not_found.html", lang=g.locale, langs=CUSTOMER_LANGUAGES)
    return html, 404, {**HEADERS, "Vary": "Accept-Language"}


# every address under /status/ is the customer's (one public endpoint): a token, or anything else a link became
@bp.get("/status/", defaults={"token": ""})
@bp.get("/status/<token>")
@bp.get("/status/<path:token>")
def status(token: str) -> tuple[str, int, dict[str, str]]:
    """The status of the return this token belongs to; any other link gets the customer's not-found page."""
    if not TOKEN.fullmatch(token):
        return _not_found()
    r = db().scalar(select(Return).where(Return.status_token == token).options(selectinload(Return.items)))
    if r is None:
        return _not_found()
    g.locale = _locale(r)
    wf = workflow()
    events = (
        db()
        .scalars(
            select(Event)
            .where(Event.return_id == r.id, Event.kind.in_(("created", "moved", "closed", "reopened")))
            .order_by(Event.id)
        )
        .all()
    )
    steps = [
        Step(
            e.created_at,
            wf.stages[e.to_stage],
            (e.payload or {}).get("note"),
            wf.rejection_reasons.get(str((e.payload or {}).get("rejection_reason"))),
        )
        for e in events
        if e.to_stage in wf.stages
    ]
    stage = wf.stages.get(r.stage)
    html = render_template(
        "status.html",
        r=r,
        steps=steps,
        stage=stage,
        return_address=wf.shop.return_address,
        zone=wf.shop_zone,
        now=now(),
        lang=g.locale,
        langs=CUSTOMER_LANGUAGES,
        format_date=lambda d, fmt: format_date(d, fmt, locale=g.locale),
    )
    return html, 200, dict(HEADERS)
