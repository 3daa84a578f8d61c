"""The order of the board's open columns: priority first by default, each column's own sort from the URL, and
returns new to the user (since their last look at the board) on top, with "show more" paging through both."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, text

from hub.returns import services as svc
from hub.returns.models import Channel, Priority
from hub.returns.permissions import Actor
from hub.returns.queries import BoardFilters, NewWindow, column_page
from tests.factories import make_return, make_user


def _page(session, workflow, now, stage="approved", sort=None, **kwargs) -> list[str]:
    filters = BoardFilters(sorts=((stage, sort),) if sort else ())
    cards = column_page(
        session, workflow, workflow.stages[stage], filters, user_id=kwargs.pop("user_id", None), now=now, **kwargs
    )
    return [("new " if c.is_new else "") + c.customer_name for c in cards]


def _arrive(session, workflow, name, at, *, priority=Priority.NORMAL, actor=None, stage="approved"):
    """A return that entered `stage` at `at` (created a day before), moved there by `actor` (else the system)."""
    r = make_return(session, workflow, now=at - timedelta(days=1), customer_name=name, priority=int(priority))
    svc.move_return(session, workflow, actor or Actor.system("test", Channel.CLI), r.rma, stage, now=at)
    return r


def test_urgent_and_high_returns_come_before_older_normal_ones_then_the_oldest_first(session, workflow, now):
    _arrive(session, workflow, "old normal", now - timedelta(days=3))
    _arrive(session, workflow, "old low", now - timedelta(days=4), priority=Priority.LOW)
    _arrive(session, workflow, "new urgent", now - timedelta(hours=1), priority=Priority.URGENT)
    _arrive(session, workflow, "newer normal", now - timedelta(days=2))
    _arrive(session, workflow, "new high", now - timedelta(hours=2), priority=Priority.HIGH)
    _arrive(session, workflow, "old urgent", now - timedelta(days=1), priority=Priority.URGENT)
    session.flush()
    assert _page(session, workflow, now) == [
        "old urgent",
        "new urgent",
        "new high",
        "old normal",
        "newer normal",
        "old low",
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("priority", ["urgent", "oldest", "middle", "due first", "no due time"]),
        ("age", ["oldest", "middle", "due first", "urgent", "no due time"]),
        ("newest", ["no due time", "urgent", "due first", "middle", "oldest"]),
        ("due", ["due first", "oldest", "middle", "urgent", "no due time"]),  # no due time: last
    ],
)
def test_each_sort_orders_a_column(session, workflow, now, sort, expected):
    made = {
        name: _arrive(session, workflow, name, now - timedelta(hours=hours), priority=priority)
        for name, hours, priority in [
            ("oldest", 50, Priority.NORMAL),
            ("middle", 40, Priority.NORMAL),
            ("due first", 30, Priority.NORMAL),
            ("urgent", 20, Priority.URGENT),
            ("no due time", 10, Priority.NORMAL),
        ]
    }
    # due times that do not follow the entry times (a shorter SLA when it entered, a stage without one)
    made["due first"].stage_due_at = now - timedelta(days=10)
    made["no due time"].stage_due_at = None
    session.flush()
    assert _page(session, workflow, now, sort=sort) == expected


@pytest.mark.parametrize("sort", ["priority", "age", "newest", "due"])
def test_a_search_orders_a_column_and_pages_through_it_as_the_board_does(session, workflow, now, sort):
    # a search reads its matches once and orders them in Python (queries._match_order): the same order
    for i, (hours, priority) in enumerate([(50, 1), (40, 1), (30, 3), (20, 0), (10, 2), (5, 1), (45, 3)]):
        r = _arrive(session, workflow, f"Zoë Zander {i}", now - timedelta(hours=hours), priority=Priority(priority))
        r.stage_due_at = None if i == 5 else now + timedelta(hours=(i * 7) % 5)
    session.flush()
    whole = _page(session, workflow, now, sort=sort)
    filters = BoardFilters(sorts=(("approved", sort),), q="zoe zander")
    stage = workflow.stages["approved"]
    pages = [
        column_page(session, workflow, stage, filters, user_id=None, now=now, offset=offset, limit=3)
        for offset in (0, 3, 6)
    ]
    assert [c.customer_name for page in pages for c in page] == whole
    assert len(whole) == 7


def test_returns_new_to_the_user_come_first_and_show_more_shows_each_return_once(session, workflow, now):
    looked = now - timedelta(hours=2)  # when the user last loaded the board
    for i in range(4):
        _arrive(session, workflow, f"old {i}", looked - timedelta(hours=10 - i))
    _arrive(session, workflow, "new normal", looked + timedelta(minutes=10))
    _arrive(session, workflow, "new urgent", looked + timedelta(minutes=20), priority=Priority.URGENT)
    _arrive(session, workflow, "new low", looked + timedelta(minutes=5), priority=Priority.LOW)
    _arrive(session, workflow, "after the load", now + timedelta(minutes=1))  # the live feed shows this one
    session.flush()
    window = NewWindow(since=looked, until=now)

    first = _page(session, workflow, now, new=window)
    assert first == ["new new urgent", "new new normal", "new new low", "old 0", "old 1", "old 2", "old 3"]
    # page by two: through the new part, across its end, and from beyond it (where it must be counted)
    pages = [_page(session, workflow, now, new=window, offset=o, limit=2) for o in range(0, 8, 2)]
    assert pages == [
        ["new new urgent", "new new normal"],
        ["new new low", "old 0"],
        ["old 1", "old 2"],
        ["old 3"],
    ]
    # without a window (a filter change of an old page, say) nothing is new, and the order is the column's
    assert _page(session, workflow, now)[:3] == ["new urgent", "old 0", "old 1"]


def test_a_return_the_user_moved_there_is_not_new_to_them_but_is_to_others(session, workflow, now):
    mover = make_user(session, team="customer_service")
    watcher = make_user(session, team="logistics")
    looked = now - timedelta(hours=1)
    _arrive(session, workflow, "older", looked - timedelta(hours=3))
    _arrive(session, workflow, "mine", looked + timedelta(minutes=5), actor=Actor.person(mover, Channel.WEB))
    session.flush()
    window = NewWindow(since=looked, until=now)
    assert _page(session, workflow, now, new=window, user_id=mover.id) == ["older", "mine"]
    assert _page(session, workflow, now, new=window, user_id=watcher.id) == ["new mine", "older"]
    # and paging past it does not show it twice or leave it out
    assert [
        name
        for offset in (0, 1)
        for name in _page(session, workflow, now, new=window, user_id=mover.id, offset=offset, limit=1)
    ] == ["older", "mine"]


def test_a_closed_column_stays_newest_first_and_marks_nothing_new(session, workflow, now):
    for name, hours in [("closed first", 5), ("closed last", 1)]:
        make_return(session, workflow, stage="resolved", now=now - timedelta(hours=hours), customer_name=name)
    session.flush()
    window = NewWindow(since=now - timedelta(hours=3), until=now)
    assert _page(session, workflow, now, stage="resolved", new=window) == ["closed last", "closed first"]


def test_each_columns_order_is_read_from_the_url_and_written_back(workflow):
    args = {
        "sort.approved": "due",
        "sort.received": "newest",
        "sort.new": "priority",
        "sort.rejected": "age",
        "sort.nowhere": "age",
        "sort.in_transit": "sideways",
        "team": "logistics",
    }
    filters = BoardFilters.from_args(args, workflow)
    # the default order, a closed stage, an unknown stage and a made-up order are left out
    assert filters.sorts == (("approved", "due"), ("received", "newest"))
    assert filters.sort_of("approved") == "due"
    assert filters.sort_of("new") == "priority"
    assert filters.as_args() == {"team": "logistics", "sort.approved": "due", "sort.received": "newest"}
    # a column's order filters nothing
    assert not BoardFilters.from_args({"sort.approved": "age"}, workflow).active
    assert BoardFilters.from_args(filters.as_args(), workflow) == filters


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("priority", "ix_returns_open_stage_priority"),
        ("age", "ix_returns_open_stage_entered"),
        ("newest", "ix_returns_open_stage_entered"),
        ("due", "ix_returns_open_stage_due"),
    ],
)
def test_each_order_is_read_from_its_index_and_not_sorted(session, workflow, now, sort, index):
    _arrive(session, workflow, "one", now - timedelta(hours=3))
    session.flush()
    window = NewWindow(since=now - timedelta(hours=1), until=now)
    statements: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, params, context, executemany):
        if "ORDER BY" in statement and "return_items" not in statement:
            statements.append((statement, params))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", grab)
    try:
        _page(session, workflow, now, sort=sort, new=window)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    rest = statements[-1]  # the page's main query (the new part, a handful of rows, may be sorted)
    pg = engine.dialect.name == "postgresql"
    conn = session.connection()
    if pg:
        # a few rows: the planner would rather sort; what matters is that the index can give the order
        conn.execute(text("SET LOCAL enable_sort = off"))
        conn.execute(text("SET LOCAL enable_seqscan = off"))
    cursor = conn.connection.driver_connection.cursor()
    cursor.execute(("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + rest[0], rest[1])
    plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert index in plan
    assert "TEMP B-TREE" not in plan
    assert "Sort Key: returns.priority" not in plan
    assert "Sort Key: returns.stage_entered_at" not in plan
