"""Read-side queries: the board, the change feed and start-up checks. The place to tune for speed."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, UnaryExpression, and_, case, func, or_, select, true, type_coerce
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.types import NullType

from hub.accounts.models import User
from hub.core.db import MAX_INTEGER
from hub.core.errors import NotFound
from hub.returns import search
from hub.returns.models import Comment, Event, Priority, Resolution, Return, ReturnItem
from hub.workflow import Stage, Workflow


def unknown_stages(session: Session, workflow: Workflow) -> dict[str, int]:
    """Stages that returns in the database are in but the workflow no longer has, with counts."""
    rows = session.execute(
        select(Return.stage, func.count())
        .where(Return.stage.not_in(list(workflow.stages)))
        .group_by(Return.stage)
        .order_by(Return.stage)
    )
    return {stage: count for stage, count in rows}


def stored_stages_problems(session: Session, workflow: Workflow) -> list[str]:
    """A start-up check: every stage a stored return is in must be configured (else the board cannot show it)."""
    orphans = unknown_stages(session, workflow)
    if not orphans:
        return []
    lines = [
        f"the database has {count} return(s) in stage {stage!r}, which {workflow.source} does not define"
        for stage, count in orphans.items()
    ]
    return [*lines, "add the stage(s) back to the config, or move those returns first"]


# --- the board -------------------------------------------------------------------------

PAGE_SIZE = 50
# how an open column may be ordered (the URL's `sort.<stage>`); new arrivals always come first
COLUMN_SORTS = {
    "priority": "Priority",  # urgent, high, then normal and low; oldest first within each
    "age": "Oldest first",
    "due": "Due soonest",
    "newest": "Newest first",
}
DEFAULT_SORT = "priority"
PROMISE_SOON = timedelta(days=3)  # a card warns when the promise to the customer is this close
CLOSED_WINDOW_DAYS = 14
# a search that finds more returns than this is not a lookup: the board shows this many of them and asks for
# another word, instead of reading tens of thousands of rows while someone types "jea"
SEARCH_LIMIT = 2000  # closed columns show what was closed recently, newest first


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows: parsed from the URL, so a filtered board can be shared as a link."""

    team: str | None = None
    assignee: str | None = None  # "mine", "unassigned" or a user id
    overdue: bool = False
    due_soon: bool = False
    blocked: bool = False
    q: str = ""
    # (stage, sort) for each open column not in the default order: part of the URL, so it can be shared
    sorts: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, str], workflow: Workflow) -> BoardFilters:
        """Read filters from query arguments, ignoring values that mean nothing."""
        team = args.get("team") or None
        if team not in workflow.teams:
            team = None
        assignee = (args.get("assignee") or "").strip() or None
        if assignee not in (None, "mine", "unassigned") and not (
            re.fullmatch(r"[0-9]{1,10}", str(assignee)) and 0 < int(str(assignee)) <= MAX_INTEGER
        ):
            assignee = None  # a made-up value (or an id past the INTEGER column's range) filters nothing
        return cls(
            team=team,
            assignee=assignee,
            overdue=args.get("overdue") in ("1", "on", "true"),
            due_soon=args.get("due_soon") in ("1", "on", "true"),
            blocked=args.get("blocked") in ("1", "on", "true"),
            q=(args.get("q") or "").strip()[:100],
            sorts=tuple(
                (s.key, args[f"sort.{s.key}"])
                for s in workflow.open_stages
                if args.get(f"sort.{s.key}") in COLUMN_SORTS and args[f"sort.{s.key}"] != DEFAULT_SORT
            ),
        )

    def as_args(self) -> dict[str, str]:
        """The filters as query arguments (only those that are set)."""
        out: dict[str, str] = {}
        if self.team:
            out["team"] = self.team
        if self.assignee:
            out["assignee"] = self.assignee
        for name in ("overdue", "due_soon", "blocked"):
            if getattr(self, name):
                out[name] = "1"
        if self.q:
            out["q"] = self.q
        for stage, sort in self.sorts:
            out[f"sort.{stage}"] = sort
        return out

    @property
    def active(self) -> bool:
        """Whether any filter is set (a column's order filters nothing)."""
        return any(not name.startswith("sort.") for name in self.as_args())

    def sort_of(self, stage: str) -> str:
        """How this stage's column is ordered (a key of COLUMN_SORTS)."""
        return dict(self.sorts).get(stage, DEFAULT_SORT)

    @property
    def search_problem(self) -> str | None:
        """Why the typed search cannot be run (then the board shows it and searches nothing), or None."""
        return search.problem(self.q)

    @property
    def searching(self) -> bool:
        """Whether a search narrows the board (and closed columns then show every match, not the last 14 days)."""
        return bool(self.q) and self.search_problem is None


@dataclass
class Card:
    """What a board card shows about one return."""

    id: int
    rma: str
    version: int
    stage: str
    customer_name: str
    stage_entered_at: datetime
    stage_due_at: datetime | None
    stage_warn_at: datetime | None
    promised_by: datetime
    closed_at: datetime | None
    is_blocked: bool
    blocked_reason: str | None
    priority: int
    resolution: Resolution | None
    assignee_id: int | None
    assignee_name: str | None
    first_sku: str = ""
    first_product: str = ""
    reason_code: str = ""
    item_count: int = 0
    is_new: bool = False  # it reached its column since this user last loaded the board (NewWindow)

    def sla_state(self, now: datetime) -> str:
        """on_time, due_soon, overdue, or closed."""
        return sla_state(self.stage_due_at, self.stage_warn_at, self.closed_at, now)

    @property
    def priority_label(self) -> str:
        """How the card names a raised priority ("High", "Urgent"); empty for normal and low."""
        return Priority.label_of(self.priority)

    def promise_state(self, now: datetime) -> str:
        """The promise to the customer: "broken", "soon" (within PROMISE_SOON), or "" (far off, or closed)."""
        if self.closed_at is not None:
            return ""
        left = self.promised_by - now
        return "broken" if left.total_seconds() <= 0 else "soon" if left < PROMISE_SOON else ""


def sla_state(due: datetime | None, warn: datetime | None, closed: datetime | None, now: datetime) -> str:
    """Where a stage clock stands: on_time, due_soon, overdue, or closed."""
    if closed is not None:
        return "closed"
    if due is None:
        return "on_time"
    if now >= due:
        return "overdue"
    if warn is not None and now >= warn:
        return "due_soon"
    return "on_time"


@dataclass
class Column:
    """One stage of the board with its exact counts and the first page of cards."""

    stage: Stage
    count: int
    overdue: int
    due_soon: int
    cards: list[Card]
    offset: int = 0
    partial: bool = False  # a search found more than SEARCH_LIMIT returns: counted from SEARCH_LIMIT of them

    @property
    def has_more(self) -> bool:
        """Whether more cards are there than loaded so far."""
        return self.offset + len(self.cards) < self.count

    @property
    def over_wip(self) -> bool:
        """Whether the column holds more than its WIP limit."""
        return self.stage.wip_limit is not None and self.count > self.stage.wip_limit


def _filtered(stmt: Select[Any], filters: BoardFilters, user_id: int | None, now: datetime) -> Select[Any]:
    if filters.assignee == "mine":
        stmt = stmt.where(Return.assignee_id == user_id)
    elif filters.assignee == "unassigned":
        stmt = stmt.where(Return.assignee_id.is_(None))
    elif filters.assignee:
        stmt = stmt.where(Return.assignee_id == int(filters.assignee))
    if filters.overdue and filters.due_soon:
        stmt = stmt.where(Return.stage_warn_at <= now)  # either: every return running late
    elif filters.overdue:
        stmt = stmt.where(Return.stage_due_at <= now)
    elif filters.due_soon:
        stmt = stmt.where(_due_soon_expr(now))
    if filters.blocked:
        stmt = stmt.where(Return.is_blocked.is_(True))
    if filters.searching:
        stmt = stmt.where(_search_matches(filters.q))
    return stmt


def _search_matches(query: str) -> ColumnElement[bool]:
    """Every typed word, folded, is somewhere in the return's search text (hub/returns/search.py).

    The index finds the rows holding each word's lookup key (of three characters or more): PostgreSQL's
    trigram index on search_text through LIKE, SQLite's FTS5 trigram table. The rest is checked on those
    rows: whole words longer than their key, and words too short for a trigram (`|| ''` keeps PostgreSQL
    from reading its whole index for them).
    """
    found = search.words(query)
    keys = [search.lookup_key(w) for w in found if len(w) >= search.MIN_WORD]
    checked = [w for w in found if len(w) < search.MIN_WORD or search.lookup_key(w) != w]
    return and_(
        search.in_sqlite_index(Return.id, search.fts_query(found)),
        *(Return.search_text.like(search.like_pattern(k), escape="\\") for k in keys),
        *((Return.search_text + "").like(search.like_pattern(w), escape="\\") for w in checked),
    )


def _stage_scope(stmt: Select[Any], stage: Stage, filters: BoardFilters, now: datetime) -> Select[Any]:
    stmt = stmt.where(Return.stage == stage.key)
    if stage.closed:
        # a search finds every closed return; without one, closed columns hold the last CLOSED_WINDOW_DAYS
        return stmt if filters.searching else stmt.where(Return.closed_at >= _closed_since(now))
    return stmt.where(Return.closed_at.is_(None))


def _closed_since(now: datetime) -> datetime:
    return now - timedelta(days=CLOSED_WINDOW_DAYS)


def visible_stages(workflow: Workflow, filters: BoardFilters) -> list[Stage]:
    """The board's columns under these filters."""
    stages = list(workflow.stages.values())
    if filters.team:
        return [s for s in stages if s.team == filters.team]
    if filters.overdue or filters.due_soon:
        return [s for s in stages if not s.closed]
    return stages


def _cards(session: Session, stmt: Select[Any]) -> list[Card]:
    rows = session.execute(stmt).all()
    cards = [Card(**row._mapping) for row in rows]  # by label: the column order cannot mix the fields up
    if cards:
        _attach_items(session, cards)
    return cards


_CARD_COLUMNS = (
    Return.id,
    Return.rma,
    Return.version,
    Return.stage,
    Return.customer_name,
    Return.stage_entered_at,
    Return.stage_due_at,
    Return.stage_warn_at,
    Return.promised_by,
    Return.closed_at,
    Return.is_blocked,
    Return.blocked_reason,
    Return.priority,
    Return.resolution,
    Return.assignee_id,
    User.name.label("assignee_name"),
)


def _card_select() -> Select[Any]:
    return select(*_CARD_COLUMNS).outerjoin(User, User.id == Return.assignee_id)


def _attach_items(session: Session, cards: list[Card]) -> None:
    by_id = {c.id: c for c in cards}
    rows = session.execute(
        select(ReturnItem.return_id, ReturnItem.sku, ReturnItem.product_name, ReturnItem.reason_code)
        .where(ReturnItem.return_id.in_(list(by_id)))
        .order_by(ReturnItem.return_id, ReturnItem.id)
    )
    for return_id, sku, product, reason in rows:
        card = by_id[return_id]
        if not card.item_count:
            card.first_sku, card.first_product, card.reason_code = sku, product, reason
        card.item_count += 1


@dataclass(frozen=True)
class NewWindow:
    """What is new to someone on the board: returns that entered their open stage in (since, until].

    `since` is when they last loaded the board, `until` this load: fixed for the page's life, so "show
    more" pages through the same order. A return this person moved there themselves is not new to them.
    """

    since: datetime
    until: datetime


def _column_order(stage: Stage, sort: str) -> tuple[UnaryExpression[Any], ...]:
    """The ORDER BY of a column (board.js `sortKey` orders live arrivals the same way)."""
    if stage.closed:
        return (Return.closed_at.desc(), Return.id.desc())
    if sort == "age":
        return (Return.stage_entered_at.asc(), Return.id.asc())  # ix_returns_open_stage_entered
    if sort == "newest":
        return (Return.stage_entered_at.desc(), Return.id.desc())  # the same index, backwards
    if sort == "due":
        return (Return.stage_due_at.asc().nulls_last(), Return.id.asc())  # ix_returns_open_stage_due
    # ix_returns_open_stage_priority: urgent, high, normal, low; oldest first within each
    return (Return.priority.desc(), Return.stage_entered_at.asc(), Return.id.asc())


def _moved_there_by(user_id: int) -> ColumnElement[bool]:
    """The return entered its stage through this person's own change (the event written with the move)."""
    return (
        select(Event.id)
        .where(Event.return_id == Return.id, Event.actor_id == user_id, Event.created_at == Return.stage_entered_at)
        .exists()
    )


def column_page(
    session: Session,
    workflow: Workflow,
    stage: Stage,
    filters: BoardFilters,
    *,
    user_id: int | None,
    now: datetime,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    new: NewWindow | None = None,
) -> list[Card]:
    """One page of a column's cards in the column's order (closed stages: newest first).

    With a `new` window, an open column starts with the returns new to the user (marked `is_new`), then
    the rest; `offset` counts through both, so "show more" never shows a card twice.
    """
    if filters.searching:
        matches = _search_matches_of(session, [stage], filters, user_id=user_id, now=now)[0][stage.key]
        return _cards_in_order(session, matches[offset : offset + limit])
    stmt = _filtered(_stage_scope(_card_select(), stage, filters, now), filters, user_id, now)
    order = _column_order(stage, filters.sort_of(stage.key))
    if stage.closed or new is None:
        return _cards(session, stmt.order_by(*order).offset(offset).limit(limit))
    fresh: list[Card] = []
    new_count = 0
    own: list[int] = []
    if new.since < new.until:  # (empty on a first visit: nothing is new)
        in_window = and_(Return.stage_entered_at > new.since, Return.stage_entered_at <= new.until)
        if user_id is not None:
            # by id: an OR with this EXISTS in the rest's query would make PostgreSQL hash all of this
            # person's events on every page
            mine = select(Return.id).where(
                Return.stage == stage.key, Return.closed_at.is_(None), in_window, _moved_there_by(user_id)
            )
            own = list(session.scalars(mine))
        arrived = and_(in_window, Return.id.not_in(own)) if own else in_window
        fresh = _cards(session, stmt.where(arrived).order_by(*order).offset(offset).limit(limit))
        for card in fresh:
            card.is_new = True
        if len(fresh) == limit:
            return fresh
        if fresh or not offset:
            new_count = offset + len(fresh)  # the new part ended on this page
        else:
            new_count = session.scalar(select(func.count()).select_from(stmt.where(arrived).subquery())) or 0
    # the rest: entered by the start of the window, or in it through the user's own change (a card that
    # arrived after `until` is not paged: the live feed has shown it, at the top, marked new); through
    # coalesce, which no index serves: else SQLite reads the column by entry time and sorts all of it,
    # instead of reading the order's own index and stopping after a page
    seen = func.coalesce(Return.stage_entered_at, Return.stage_entered_at) <= new.since
    if own:
        seen = or_(seen, Return.id.in_(own))
    rest = stmt.where(seen).order_by(*order).offset(max(0, offset - new_count)).limit(limit - len(fresh))
    return fresh + _cards(session, rest)


def arrived_ids(session: Session, ids: list[int], *, since: datetime, user_id: int | None) -> set[int]:
    """Which of these returns entered their open stage after `since` through someone else's change."""
    if not ids:
        return set()
    stmt = select(Return.id).where(Return.id.in_(ids), Return.closed_at.is_(None), Return.stage_entered_at > since)
    if user_id is not None:
        stmt = stmt.where(~_moved_there_by(user_id))
    return set(session.scalars(stmt))


def board(
    session: Session,
    workflow: Workflow,
    filters: BoardFilters,
    *,
    user_id: int | None,
    now: datetime,
    with_cards: bool = True,
    new: NewWindow | None = None,
    only: str | None = None,
) -> list[Column]:
    """Every visible column with exact counts and (unless with_cards is false) its first page of cards; with
    `only`, just that stage's column (none when the filters hide it)."""
    stages = [s for s in visible_stages(workflow, filters) if only is None or s.key == only]
    if filters.searching:
        return _searched_board(session, stages, filters, user_id=user_id, now=now, with_cards=with_cards)
    open_keys = [s.key for s in stages if not s.closed]
    counts = _open_counts(session, open_keys, filters, user_id, now) if open_keys else {}
    columns = []
    for stage in stages:
        if stage.closed:
            n = (
                session.scalar(
                    _filtered(
                        _stage_scope(select(func.count()).select_from(Return), stage, filters, now),
                        filters,
                        user_id,
                        now,
                    )
                )
                or 0
            )
            count = (n, 0, 0)
        else:
            count = counts.get(stage.key, (0, 0, 0))
        cards = []
        if with_cards and count[0]:
            cards = column_page(session, workflow, stage, filters, user_id=user_id, now=now, new=new)
        columns.append(Column(stage, *count, cards=cards))
    return columns


# --- a search: its matches read once per request -------------------------------------------------------


class _Match(NamedTuple):
    """A return a search found: what its column's counts and order need, without the card.

    The times are as the driver gives them (a datetime on PostgreSQL, an ISO text in UTC on SQLite: both
    sort in time order), not converted: a broad search finds tens of thousands of rows.
    """

    id: int
    stage: str
    is_open: bool
    overdue: int
    due_soon: int
    priority: int
    closed_at: Any
    stage_entered_at: Any
    stage_due_at: Any


def _raw(column: Any) -> Any:
    return type_coerce(column, NullType())


def _search_matches_of(
    session: Session, stages: list[Stage], filters: BoardFilters, *, user_id: int | None, now: datetime
) -> tuple[dict[str, list[_Match]], bool]:
    """Per stage, every return the search finds there, in the column's order; and whether it found more
    than SEARCH_LIMIT (then only SEARCH_LIMIT of them, in no particular order, are counted and ordered).

    One query: a search's matches may be thousands of rows spread over the whole table, and reading them
    once for the counts and the pages of every column is what keeps it fast on PostgreSQL (each count and
    page of its own read them all again). A search shows no new-arrivals part: it is a lookup, in order.
    """
    stmt = select(
        Return.id,
        Return.stage,
        Return.closed_at.is_(None),
        case((Return.stage_due_at <= now, 1), else_=0),
        case((_due_soon_expr(now), 1), else_=0),
        Return.priority,
        _raw(Return.closed_at),
        _raw(Return.stage_entered_at),
        _raw(Return.stage_due_at),
    ).where(Return.stage.in_([s.key for s in stages]))
    found: dict[str, list[_Match]] = {s.key: [] for s in stages}
    closed = {s.key for s in stages if s.closed}
    rows = session.execute(_filtered(stmt, filters, user_id, now).limit(SEARCH_LIMIT + 1)).tuples().all()
    for row in rows[:SEARCH_LIMIT]:
        match = _Match._make(row)
        if match.stage in closed or match.is_open:  # as _stage_scope, under a search
            found[match.stage].append(match)
    for stage in stages:
        key, newest_first = _match_order(stage, filters.sort_of(stage.key))
        found[stage.key].sort(key=key, reverse=newest_first)
    return found, len(rows) > SEARCH_LIMIT


def _match_order(stage: Stage, sort: str) -> tuple[Callable[[_Match], tuple[Any, ...]], bool]:
    """The sort key of _column_order for matches sorted in Python, and whether it runs backwards."""
    if stage.closed:
        return (lambda m: (m.closed_at is not None, m.closed_at, m.id)), True
    if sort == "age":
        return (lambda m: (m.stage_entered_at, m.id)), False
    if sort == "newest":
        return (lambda m: (m.stage_entered_at, m.id)), True
    if sort == "due":
        return (lambda m: (m.stage_due_at is None, m.stage_due_at or 0, m.id)), False  # none last
    return (lambda m: (-m.priority, m.stage_entered_at, m.id)), False


def _cards_in_order(session: Session, matches: list[_Match]) -> list[Card]:
    ids = [m.id for m in matches]
    cards = cards_for(session, ids)
    return [cards[i] for i in ids if i in cards]


def _searched_board(
    session: Session,
    stages: list[Stage],
    filters: BoardFilters,
    *,
    user_id: int | None,
    now: datetime,
    with_cards: bool,
) -> list[Column]:
    """The board under a search: counts and first pages from one read of the matches."""
    found, partial = _search_matches_of(session, stages, filters, user_id=user_id, now=now)
    pages = {key: matches[:PAGE_SIZE] for key, matches in found.items()} if with_cards else {}
    cards = cards_for(session, [m.id for page in pages.values() for m in page])
    columns = []
    for stage in stages:
        matches = found[stage.key]
        overdue = due_soon = 0
        if not stage.closed:
            overdue = sum(m.overdue for m in matches)
            due_soon = sum(m.due_soon for m in matches)
        page = [cards[m.id] for m in pages.get(stage.key, []) if m.id in cards]
        columns.append(Column(stage, len(matches), overdue, due_soon, cards=page, partial=partial))
    return columns


def _open_counts(
    session: Session, stage_keys: list[str], filters: BoardFilters, user_id: int | None, now: datetime
) -> dict[str, tuple[int, int, int]]:
    """Per open stage: (count, overdue, due soon) under the filters.

    Unless a filter needs every row anyway, three grouped counts that each read only an index (stage;
    stage + due; stage + warn time), so the headers stay cheap with many returns; due soon = turned
    "due soon" minus overdue (warn <= due).
    """
    if filters.searching or filters.assignee or filters.blocked:
        # these filters read every row anyway: one pass counts all three
        stmt = (
            select(
                Return.stage,
                func.count(),
                func.sum(case((Return.stage_due_at <= now, 1), else_=0)),
                func.sum(case((_due_soon_expr(now), 1), else_=0)),
            )
            .where(Return.closed_at.is_(None), Return.stage.in_(stage_keys))
            .group_by(Return.stage)
        )
        rows = session.execute(_filtered(stmt, filters, user_id, now))
        return {k: (n, int(o or 0), int(d or 0)) for k, n, o, d in rows}

    def grouped(*conditions: ColumnElement[bool]) -> dict[str, int]:
        stmt = (
            select(Return.stage, func.count())
            .where(Return.closed_at.is_(None), Return.stage.in_(stage_keys), *conditions)
            .group_by(Return.stage)
        )
        return dict(session.execute(_filtered(stmt, filters, user_id, now)).tuples().all())

    total = grouped()
    overdue = grouped(Return.stage_due_at <= now) if total else {}
    warned = grouped(Return.stage_warn_at <= now) if total else {}
    return {k: (n, overdue.get(k, 0), warned.get(k, 0) - overdue.get(k, 0)) for k, n in total.items()}


def open_counts(session: Session, stage_keys: list[str], now: datetime) -> dict[str, tuple[int, int, int]]:
    """Per open stage holding returns: (count, overdue, due soon), unfiltered: the board's header counts for
    everyone (the /metrics gauges)."""
    return _open_counts(session, stage_keys, BoardFilters(), None, now)


def _due_soon_expr(now: datetime) -> ColumnElement[bool]:
    return and_(Return.stage_warn_at <= now, Return.stage_due_at > now)


def cards_for(session: Session, return_ids: list[int]) -> dict[int, Card]:
    """The cards of these returns, by id, in two queries."""
    if not return_ids:
        return {}
    return {c.id: c for c in _cards(session, _card_select().where(Return.id.in_(return_ids)))}


def card_for(session: Session, return_id: int) -> Card | None:
    """The card of one return (for live updates and after a change)."""
    cards = _cards(session, _card_select().where(Return.id == return_id))
    return cards[0] if cards else None


# --- the change feed ---------------------------------------------------------------------


def last_event_id(session: Session) -> int:
    """The newest event id: where a freshly loaded board starts following the feed."""
    return session.scalar(select(func.max(Event.id))) or 0


def changed_since(session: Session, after: int, limit: int = 200) -> tuple[int, list[int]]:
    """Ids of the returns changed after event `after`, and the new cursor."""
    rows = session.execute(
        select(Event.id, Event.return_id).where(Event.id > after).order_by(Event.id).limit(limit)
    ).all()
    if not rows:
        return after, []
    seen: dict[int, None] = {}
    for _, rid in rows:
        seen[rid] = None
    return rows[-1][0], list(seen)


def matching_ids(
    session: Session, workflow: Workflow, filters: BoardFilters, ids: list[int], *, user_id: int | None, now: datetime
) -> set[int]:
    """Which of these returns the board shows under these filters."""
    stages = visible_stages(workflow, filters)
    open_keys = [s.key for s in stages if not s.closed]
    closed_keys = [s.key for s in stages if s.closed]
    scope = or_(
        and_(Return.closed_at.is_(None), Return.stage.in_(open_keys)),
        and_(
            Return.stage.in_(closed_keys),
            true() if filters.searching else Return.closed_at >= _closed_since(now),  # as _stage_scope
        ),
    )
    stmt = _filtered(select(Return.id).where(Return.id.in_(ids), scope), filters, user_id, now)
    return set(session.scalars(stmt))


def load_for_detail(session: Session, rma: str) -> Return:
    """A return with everything its detail page shows, in few queries."""
    r = session.scalar(
        select(Return)
        .where(Return.rma == rma.strip().upper())
        .options(
            selectinload(Return.items),
            selectinload(Return.comments).joinedload(Comment.author),
            selectinload(Return.events),
        )
    )
    if r is None:
        raise NotFound(f"no return {rma.strip()}")
    return r
