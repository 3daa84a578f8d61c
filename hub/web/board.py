"""The board: columns per stage, filters in the URL, "show more", and the live change feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, jsonify, make_response, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from hub.accounts.models import User
from hub.accounts.services import mark_board_seen
from hub.core.db import write_unless_busy
from hub.returns import queries
from hub.web.context import db, now, user, whole_number, workflow
from hub.web.fragments import card_context, card_renderer, current_filters
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


def skip_targets(groups: list[tuple[Team | None, list[queries.Column]]]) -> list[tuple[str, str, bool]]:
    """(anchor, label, whether it is one of the user's teams) of each group of columns, for the skip links."""
    mine = user().team_keys
    return [
        (
            f"group-{cols[0].stage.key}",
            f"{team.name if team else 'Closed'}: {', '.join(c.stage.name for c in cols)}",
            team is not None and team.key in mine,
        )
        for team, cols in groups
    ]


def _time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        abort(400, f"{name} must be a time with its zone, like 2026-03-05T10:00:00+00:00, got {raw[:40]!r}")
    return at


def new_window() -> queries.NewWindow | None:
    """The window of new arrivals the page was loaded with (its `new_since` and `new_until`), if any."""
    since, until = _time_arg("new_since"), _time_arg("new_until")
    return queries.NewWindow(since, until) if since and until else None


def window_args(new: queries.NewWindow | None) -> dict[str, str]:
    """The window as query arguments, for the page's own requests (show more, filters, the feed)."""
    return {"new_since": new.since.isoformat(), "new_until": new.until.isoformat()} if new else {}


@bp.get("/board")
def board() -> str | Response:
    """The whole board (a fragment for htmx filter changes).

    Loading the page shows what reached a column since this person last loaded it as new, at the top;
    a fragment keeps the window of the page it swaps into.
    """
    filters = current_filters()
    session = db()
    hx = htmx()
    fragment = bool(hx and hx.target == "board" and not hx.history_restore_request)
    me, t = user(), now()
    if fragment:
        new = new_window()
    else:
        new = queries.NewWindow(since=min(me.board_seen_at or t, t), until=t)
        # the board waits for no writer: while one holds SQLite's write lock the mark stays where it was,
        # and the next load shows these arrivals as new once more
        me_id = me.id
        write_unless_busy(session, lambda writing: mark_board_seen(writing, me_id, t))
    columns = queries.board(session, workflow(), filters, user_id=me.id, now=t, new=new)
    groups = group_columns(columns)
    ctx = {
        "columns": columns,
        "groups": groups,
        "skip_targets": skip_targets(groups),
        "filters": filters,
        "new_args": window_args(new),
        "sorts": queries.COLUMN_SORTS,
        "cursor": queries.last_event_id(session),
        "people": _people(),
        **card_context(),
    }
    if fragment:
        resp = make_response(render_template("board/_board_response.html", **ctx))
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
    new = new_window()
    cards = queries.column_page(
        session, wf, wf.stages[stage], filters, user_id=user().id, now=now(), offset=offset, new=new
    )
    col = queries.board(session, wf, filters, user_id=user().id, now=now(), with_cards=False, only=stage)
    total = col[0].count if col else 0
    return render_template(
        "board/_more.html",
        cards=cards,
        stage=wf.stages[stage],
        filters=filters,
        next_offset=offset + len(cards),
        # a short page is the last (the count may include cards that arrived live: shown at the top already)
        has_more=len(cards) == queries.PAGE_SIZE and offset + len(cards) < total,
        total=total,
        new_args=window_args(new),
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
    # new to this person: reached its column since the board's window opened (its new_since), by someone else
    since = _time_arg("new_since")
    arrived = queries.arrived_ids(session, ids, since=since, user_id=user().id) if since else set()
    card_html = card_renderer()
    cards = []
    loaded = queries.cards_for(session, ids)
    for rid in ids:
        card = loaded.get(rid)
        if card is None:
            continue
        shown = rid in visible_ids
        card.is_new = rid in arrived
        cards.append(
            {
                "id": f"card-{card.rma}",
                "stage": card.stage,
                "visible": shown,
                "new": card.is_new,
                "entered": card.stage_entered_at.timestamp(),
                "html": str(card_html(card)) if shown else "",
            }
        )
    columns = queries.board(session, wf, filters, user_id=user().id, now=t, with_cards=False)
    headers = {c.stage.key: render_template("board/_column_header.html", col=c, filters=filters) for c in columns}
    return jsonify(cursor=cursor, cards=cards, headers=headers)
