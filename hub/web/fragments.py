"""Fragments the board and the return pages share: the filters in the URL, a card and what it offers."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from flask import render_template, request, url_for

from hub.returns import queries
from hub.returns.models import Return
from hub.returns.permissions import may_act_on, stages_reachable
from hub.returns.queries import BoardFilters
from hub.web.context import actor, db, now, user, whole_number, workflow


def current_filters() -> BoardFilters:
    """The board filters of this request's query string (an assignee id past the column's range is a 400)."""
    assignee = (request.args.get("assignee") or "").strip()
    if assignee.isascii() and assignee.isdigit():
        whole_number(assignee, "assignee")
    return BoardFilters.from_args(request.args, workflow())


def card_context() -> dict[str, object]:
    """What the card template needs to decide what this user may do, and its links.

    The links come from URL templates built once per request: url_for four times a card was a tenth of
    a board's time.
    """
    wf, a = workflow(), actor()
    return {
        "may_act": lambda stage: may_act_on(a, wf, stage),
        "targets": lambda card: [s for s in stages_reachable(wf, a, card)],
        "detail_url": _url_template("returns.detail"),
        "move_url": _url_template("returns.move"),
    }


def _url_template(endpoint: str) -> Callable[[str], str]:
    """A function from an RMA to the endpoint's URL for it, with one url_for in all."""
    head, _, tail = url_for(endpoint, rma=_RMA_MARK).partition(_RMA_MARK)
    return lambda rma: head + quote(rma, safe="") + tail


_RMA_MARK = "__rma__"


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
