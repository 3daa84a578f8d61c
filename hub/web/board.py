"""The board: columns per stage, filters in the URL, "show more", and the live change feed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, make_response, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from hub.accounts.models import User
from hub.returns import queries
from hub.web.context import db, now, user, whole_number, workflow
from hub.web.fragments import card_context, current_filters
from hub.web.htmx import htmx
from hub.workflow import Team

bp = Blueprint("board", __name__)


def group_columns(columns: list[queries.Column]) -> list[tuple[Team | None, list[queries.Column]]]:
    """Consecutive columns of one team under that team; closed stages together at the end."""
    wf = workflow()
    groups: list[tuple[Team | None, list[queries.Column]]] = []
    for col in columns:
        team = wf.teams.get(col.stage.team) if col.stage.team else None
        if groups and groups[-1][0] == team:
            groups[-1][1].append(col)
        else:
            groups.append((team, [col]))
    return groups


def _people() -> list[User]:
    return list(db().scalars(select(User).where(User.is_active.is_(True)).order_by(User.name)))


@bp.get("/board")
def board() -> str | Response:
    """The whole board (a fragment for htmx filter changes)."""
    filters = current_filters()
    session = db()
    columns = queries.board(session, workflow(), filters, user_id=user().id, now=now())
    ctx = {
        "columns": columns,
        "groups": group_columns(columns),
        "filters": filters,
        "cursor": queries.last_event_id(session),
        "people": _people(),
        **card_context(),
    }
    hx = htmx()
    if hx and hx.target == "board" and not hx.history_restore_request:
        resp = make_response(render_template("board/_board.html", **ctx))
        # the address bar gets the filters that are set, not every empty field of the form
        args: dict[str, Any] = filters.as_args()  # as Any: mypy would match str values against _external: bool
        resp.headers["HX-Push-Url"] = url_for("board.board", **args)
        return resp
    return render_template("board/index.html", **ctx)


@bp.get("/board/columns/<stage>")
def column_more(stage: str) -> str:
    """The next page of a column's cards, with a new "show more" when there are still more."""
    wf = workflow()
    if stage not in wf.stages:
        abort(404, f"no stage {stage!r}")
    offset = whole_number(request.args.get("offset"), "offset", default=0)
    filters = current_filters()
    session = db()
    cards = queries.column_page(session, wf, wf.stages[stage], filters, user_id=user().id, now=now(), offset=offset)
    col = next(
        (
            c
            for c in queries.board(session, wf, filters, user_id=user().id, now=now(), with_cards=False)
            if c.stage.key == stage
        ),
        None,
    )
    total = col.count if col else 0
    return render_template(
        "board/_more.html",
        cards=cards,
        stage=wf.stages[stage],
        filters=filters,
        next_offset=offset + len(cards),
        has_more=offset + len(cards) < total,
        total=total,
        **card_context(),
    )


@bp.get("/board/changes")
def changes() -> Response:
    """Returns changed after event `after`: their cards (where they belong now) and fresh column headers."""
    after = whole_number(request.args.get("after"), "after", default=0)
    session = db()
    cursor, ids = queries.changed_since(session, after)
    if not ids:
        return jsonify(cursor=cursor, cards=[], headers={})
    wf, filters, t = workflow(), current_filters(), now()
    visible_ids = queries.matching_ids(session, wf, filters, ids, user_id=user().id, now=t)
    ctx = card_context()
    cards = []
    loaded = queries.cards_for(session, ids)
    for rid in ids:
        card = loaded.get(rid)
        if card is None:
            continue
        shown = rid in visible_ids
        cards.append(
            {
                "id": f"card-{card.rma}",
                "stage": card.stage,
                "visible": shown,
                "entered": card.stage_entered_at.timestamp(),
                "html": render_template("board/_card.html", card=card, **ctx) if shown else "",
            }
        )
    columns = queries.board(session, wf, filters, user_id=user().id, now=t, with_cards=False)
    headers = {c.stage.key: render_template("board/_column_header.html", col=c, filters=filters) for c in columns}
    return jsonify(cursor=cursor, cards=cards, headers=headers)
