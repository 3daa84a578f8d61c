"""Fragments the board and the return pages share: the filters in the URL, a card and what it offers."""

from __future__ import annotations

from flask import render_template, request, url_for

from hub.returns import queries
from hub.returns.models import Return
from hub.returns.queries import BoardFilters
from hub.web.cards import CardRenderer
from hub.web.context import actor, db, now, user, whole_number, workflow
from hub.web.template_helpers import display_zone, reason_label


def current_filters() -> BoardFilters:
    """The board filters of this request's query string (an assignee id past the column's range is a 400)."""
    assignee = (request.args.get("assignee") or "").strip()
    if assignee.isascii() and assignee.isdigit():
        whole_number(assignee, "assignee")
    return BoardFilters.from_args(request.args, workflow())


def card_context() -> dict[str, object]:
    """What the board's templates need to render cards: `card_html(card)`, built once per request."""
    return {"card_html": card_renderer()}


def card_renderer() -> CardRenderer:
    """This request's card renderer: its user's permissions and zone, its moment, its URLs."""
    wf = workflow()
    return CardRenderer(wf, actor(), now(), display_zone(), url_for, reason_label=lambda code: reason_label(wf, code))


def render_card_response(
    r: Return, status: int = 200, message: str | None = None, level: str = "success"
) -> tuple[str, int]:
    """A card after a change from the board, with fresh column headers (and a toast) out of band."""
    session = db()
    filters = current_filters()
    card = queries.card_for(session, r.id)
    columns = queries.board(session, workflow(), filters, user_id=user().id, now=now(), with_cards=False)
    html = render_template(
        "board/_card_response.html",
        card=card,
        columns=columns,
        filters=filters,
        message=message,
        level=level,
        **card_context(),
    )
    return html, status
