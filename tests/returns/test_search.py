"""Search: every return, open or closed, by RMA, order, name, e-mail, tracking number, SKU or product, without
regard to case or accents; every word must match; counts, "show more" and the live feed agree with it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from hub.core.db import MIGRATIONS_DIR, current_revision, head_revision, upgrade
from hub.demo.seed import seed_demo
from hub.returns import queries
from hub.returns import services as svc
from hub.returns.csv_import import import_csv
from hub.returns.drafts import ItemDraft
from hub.returns.models import Return, search_text_of
from hub.returns.queries import BoardFilters
from hub.returns.search import fold, problem, searchable, words
from tests.factories import SYSTEM, make_return, make_returns
from tests.returns.support import row, to_csv


def _item(sku: str, product: str) -> ItemDraft:
    return ItemDraft(sku=sku, product_name=product, quantity=1, unit_price="10.00", reason_code="too_small")


# --- folding: pure ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Müller", "muller"),
        ("MÜLLER", "muller"),
        ("Weiß", "weiss"),
        ("STRASSE", "strasse"),
        ("Søren Kierkegaard", "soren kierkegaard"),
        ("Łukasz Żółć", "lukasz zolc"),
        ("Çelik", "celik"),
        ("ﬁne", "fine"),
        ("RMA-1042", "rma-1042"),
    ],
)
def test_fold_drops_case_and_accents(typed, folded):
    assert fold(typed) == folded


def test_the_search_text_also_spells_german_umlauts_out():
    assert searchable(["Jürgen Müller", None, "", "SKU-1"]) == "jurgen muller juergen mueller sku-1"


def test_typed_words_are_folded_and_each_counted_once():
    assert words("  MÜLLER   jeans müller ") == ["muller", "jeans"]


@pytest.mark.parametrize(("typed", "refused"), [("", False), ("ab", True), (" a b ", True), ("ab cde", False)])
def test_a_search_needs_one_word_of_three_characters(typed, refused):
    assert (problem(typed) is not None) == refused
    if refused:
        assert problem(typed) == f"Type at least 3 letters or digits to search: “{typed.strip()}” is too short."


# --- the board's search ----------------------------------------------------------------------------


@pytest.fixture
def returns(session, workflow, now):
    """Open and closed returns with accents, tracking numbers and products; by a short name."""
    made = {
        "muller": make_return(
            session,
            workflow,
            now=now - timedelta(hours=3),
            customer_name="Jürgen Müller",
            customer_email="j.mueller@example.de",
            order_number="ORD-7001",
            tracking_number="3SABC1234567890",
            carrier="PostNL",
            items=[_item("JEANS-32", "Slim jeans, indigo"), _item("BELT-01", "Leather belt")],
        ),
        "weiss_old": make_return(
            session,
            workflow,
            stage="resolved",
            now=now - timedelta(days=40),
            customer_name="Anna Weiß",
            customer_email="anna@example.at",
            order_number="ORD-7002",
            items=[_item("SCARF-9", "Wool scarf")],
        ),
        "muller_old": make_return(
            session,
            workflow,
            stage="rejected",
            now=now - timedelta(days=400),
            customer_name="Hans Muller",
            customer_email="hans@example.ch",
            order_number="ORD-7003",
            items=[_item("CAP-01", "Baseball cap")],
        ),
        "muller_recent": make_return(
            session,
            workflow,
            stage="resolved",
            now=now - timedelta(days=2),
            customer_name="Greta Müller-Lüdenscheidt",
            customer_email="greta@example.de",
            order_number="ORD-7004",
            items=[_item("DRESS-RED-S", "Summer dress")],
        ),
        "sanne": make_return(
            session,
            workflow,
            stage="approved",
            now=now - timedelta(hours=1),
            customer_name="Sanne de Vries",
            customer_email="sanne@example.nl",
            order_number="ORD-7005",
            items=[_item("TSHIRT-BLU-M", "T-shirt blue")],
        ),
        "percent": make_return(
            session,
            workflow,
            now=now,
            customer_name="Bea Bakker",
            customer_email="bea1@example.nl",
            order_number="100%_OFF-1",
            items=[_item("X-1", "Sock")],
        ),
        "no_percent": make_return(
            session,
            workflow,
            now=now,
            customer_name="Bea Bakker",
            customer_email="bea2@example.nl",
            order_number="100XXOFF-2",
            items=[_item("X-2", "Sock")],
        ),
    }
    session.commit()
    return made


def _shown(session, workflow, now, q: str) -> dict[str, list[str]]:
    """The RMAs each column shows for a search, by stage (columns with none left out)."""
    columns = queries.board(session, workflow, BoardFilters(q=q), user_id=None, now=now)
    return {c.stage.key: [card.rma for card in c.cards] for c in columns if c.cards}


def _found(session, workflow, now, q: str) -> set[str]:
    return {rma for rmas in _shown(session, workflow, now, q).values() for rma in rmas}


def _rmas(returns, *names: str) -> set[str]:
    return {returns[n].rma for n in names}


@pytest.mark.parametrize("q", ["muller", "Muller", "müller", "MÜLLER", "mÜller"])
def test_a_name_is_found_whatever_its_case_and_accents(session, workflow, now, returns, q):
    assert _found(session, workflow, now, q) == _rmas(returns, "muller", "muller_old", "muller_recent")


@pytest.mark.parametrize("q", ["mueller", "MUELLER"])
def test_an_umlaut_is_found_spelled_out(session, workflow, now, returns, q):
    # "Müller" is also written "Mueller"; "Hans Muller" is not
    assert _found(session, workflow, now, q) == _rmas(returns, "muller", "muller_recent")


@pytest.mark.parametrize("q", ["weiss", "Weiß", "WEISS", "anna weiss"])
def test_sharp_s_and_ss_find_each_other(session, workflow, now, returns, q):
    assert _found(session, workflow, now, q) == _rmas(returns, "weiss_old")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("3SABC1234567890", "muller"),  # a parcel's barcode, scanned into the box
        ("3sabc12345", "muller"),
        ("indigo", "muller"),  # a product word
        ("leather belt", "muller"),  # the second item's product name
        ("belt-01", "muller"),
        ("wool scarf", "weiss_old"),
        ("ORD-7003", "muller_old"),
        ("j.mueller@example", "muller"),
        ("lüdenscheidt", "muller_recent"),
        ("ludenscheidt", "muller_recent"),
    ],
)
def test_tracking_numbers_skus_products_orders_and_e_mails_are_searched(session, workflow, now, returns, q, expected):
    assert _found(session, workflow, now, q) == _rmas(returns, expected)


def test_a_long_word_must_match_whole_not_only_the_part_the_index_looks_up(session, workflow, now, returns):
    assert _found(session, workflow, now, "3SABC1234567890") == _rmas(returns, "muller")
    assert _found(session, workflow, now, "4SABC1234567890") == set()  # the same last 8 characters


def test_an_rma_is_found_in_any_case(session, workflow, now, returns):
    rma = returns["muller_old"].rma
    assert _found(session, workflow, now, rma.lower()) == {rma}


def test_every_word_must_match_in_any_field_and_any_order(session, workflow, now, returns):
    assert _found(session, workflow, now, "muller jeans") == _rmas(returns, "muller")
    assert _found(session, workflow, now, "JEANS müller") == _rmas(returns, "muller")
    assert _found(session, workflow, now, "muller scarf") == set()
    assert _found(session, workflow, now, "sanne de") == _rmas(returns, "sanne")  # a short word narrows too
    assert _found(session, workflow, now, "de sanne") == _rmas(returns, "sanne")


def test_percent_and_underscore_are_searched_for_literally(session, workflow, now, returns):
    assert _found(session, workflow, now, "100%_off") == _rmas(returns, "percent")
    assert _found(session, workflow, now, "0%_") == _rmas(returns, "percent")
    assert _found(session, workflow, now, "bea bakker %") == _rmas(returns, "percent")
    assert _found(session, workflow, now, "bakker _") == _rmas(returns, "percent")


def test_closed_returns_of_any_age_are_found_in_their_column_newest_first(session, workflow, now, returns):
    shown = _shown(session, workflow, now, "muller")
    assert shown == {
        "new": [returns["muller"].rma],
        "resolved": [returns["muller_recent"].rma],
        "rejected": [returns["muller_old"].rma],  # closed 400 days ago
    }
    older = make_return(session, workflow, stage="resolved", now=now - timedelta(days=90), customer_name="Ida Müller")
    session.commit()
    assert _shown(session, workflow, now, "muller")["resolved"] == [returns["muller_recent"].rma, older.rma]


def test_without_a_search_closed_columns_keep_the_last_14_days(session, workflow, now, returns):
    columns = {c.stage.key: c for c in queries.board(session, workflow, BoardFilters(), user_id=None, now=now)}
    assert [c.rma for c in columns["resolved"].cards] == [returns["muller_recent"].rma]
    assert columns["rejected"].count == 0
    assert columns["resolved"].count == 1


def test_column_counts_count_every_match(session, workflow, now, returns):
    for i in range(3):
        make_return(session, workflow, stage="rejected", now=now - timedelta(days=30 + i), customer_name="Jo Müller")
    session.commit()
    counts = {
        c.stage.key: c.count for c in queries.board(session, workflow, BoardFilters(q="muller"), user_id=None, now=now)
    }
    assert counts == {
        "new": 1,
        "approved": 0,
        "in_transit": 0,
        "received": 0,
        "inspected": 0,
        "resolved": 1,
        "rejected": 4,
    }
    rejected = workflow.stages["rejected"]
    first = queries.column_page(session, workflow, rejected, BoardFilters(q="muller"), user_id=None, now=now, limit=3)
    rest = queries.column_page(
        session, workflow, rejected, BoardFilters(q="muller"), user_id=None, now=now, offset=3, limit=3
    )
    assert len(first) == 3
    assert [c.rma for c in rest] == [returns["muller_old"].rma]  # the oldest closed comes last


def test_the_live_feed_shows_what_the_board_shows(session, workflow, now, returns):
    ids = list(session.scalars(select(Return.id)))
    for q in ("muller", "weiss", "sanne de", "nothing-like-this", ""):
        filters = BoardFilters(q=q)
        on_board = {
            card.id for col in queries.board(session, workflow, filters, user_id=None, now=now) for card in col.cards
        }
        assert queries.matching_ids(session, workflow, filters, ids, user_id=None, now=now) == on_board, q


def test_a_search_too_short_to_look_up_searches_nothing_and_says_why(session, workflow, now, returns):
    filters = BoardFilters(q="de")
    assert filters.search_problem == "Type at least 3 letters or digits to search: “de” is too short."
    assert not filters.searching
    unfiltered = queries.board(session, workflow, BoardFilters(), user_id=None, now=now)
    short = queries.board(session, workflow, filters, user_id=None, now=now)
    assert [(c.stage.key, c.count) for c in short] == [(c.stage.key, c.count) for c in unfiltered]


# --- the search text stays up to date ------------------------------------------------------------


def test_a_new_tracking_number_is_found_and_the_old_one_no_longer(session, workflow, now, returns):
    rma = returns["sanne"].rma
    svc.update_shipping(session, workflow, SYSTEM, rma, carrier="DHL", tracking_number="JJD0099887766", now=now)
    session.commit()
    assert _found(session, workflow, now, "jjd0099887766") == {rma}
    svc.update_shipping(session, workflow, SYSTEM, rma, carrier="DHL", tracking_number="JJD0011223344", now=now)
    session.commit()
    assert _found(session, workflow, now, "jjd0099887766") == set()
    assert _found(session, workflow, now, "jjd0011223344") == {rma}


def test_imported_returns_are_searchable(session, workflow, now):
    rmas = make_returns(session, workflow, 3, stage="in_transit", now=now, prefix="IMP-")
    session.commit()
    assert _found(session, workflow, now, "imp-500") == set(rmas)


def test_returns_from_a_csv_file_are_searchable(session, workflow, now):
    lines = [
        row(rma="CSV-1", customer_name="Zoë Faßbender", sku="LAMP-1", product_name="Desk lamp, brass"),
        row(rma="CSV-2", customer_name="Jan Jansen", sku="MUG-2", product_name="Mug"),
    ]
    import_csv(session, workflow, io.BytesIO(to_csv(lines).encode()), actor=SYSTEM, now=now)
    session.commit()
    assert _found(session, workflow, now, "zoe fassbender") == {"CSV-1"}
    assert _found(session, workflow, now, "brass") == {"CSV-1"}


def test_the_demos_returns_are_searchable(session, workflow, now):
    session.commit()  # the demo goes into an empty database (the teams only)
    seed_demo(session, workflow, now=now, returns_per_stage=2)
    session.commit()
    demo = list(session.scalars(select(Return)))
    assert demo
    assert all(r.search_text == search_text_of(r, r.items) for r in demo)
    first = demo[0]
    assert first.rma in _found(session, workflow, now, fold(first.customer_name))


def test_the_search_text_follows_the_items(session, workflow, now):
    r = make_return(session, workflow, now=now, items=[_item("HAT-1", "Straw hat")])
    session.commit()
    assert _found(session, workflow, now, "straw") == {r.rma}
    r.items[0].product_name = "Sun hat"
    session.commit()
    assert _found(session, workflow, now, "straw") == set()
    assert _found(session, workflow, now, "sun hat") == {r.rma}
    version = r.version
    session.delete(r.items[0])
    session.commit()
    assert _found(session, workflow, now, "sun hat") == set()
    session.refresh(r)
    assert r.items == []
    assert r.search_text == search_text_of(r, r.items)
    assert r.version == version + 1  # the return changed: a board holding it sees the conflict


def test_a_move_does_not_rewrite_the_search_text(session, workflow, now, returns):
    # only a change to what search looks in touches it (a move reads no items)
    r = returns["muller"]
    before = r.search_text
    svc.move_return(session, workflow, SYSTEM, r.rma, "approved", now=now)
    session.commit()
    assert r.search_text == before
    assert _shown(session, workflow, now, "muller")["approved"] == [r.rma]


# --- the migration ---------------------------------------------------------------------------------


def test_the_migration_fills_the_search_text_of_existing_returns(engine, session, workflow, now, returns):
    expected = {r.id: search_text_of(r, r.items) for r in returns.values()}
    session.close()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    command.downgrade(config, "0004")  # as a database made before search had its column
    try:
        upgrade(engine)
    finally:
        assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id, search_text FROM returns")).tuples().all())
    assert stored == expected
    assert all(stored.values())
    assert _found(session, workflow, now, "muller") == _rmas(returns, "muller", "muller_old", "muller_recent")
    assert _found(session, workflow, now, "3SABC1234567890") == _rmas(returns, "muller")


def test_a_search_that_finds_more_than_the_limit_shows_that_many_and_says_so(session, workflow, now, monkeypatch):
    # a word in thousands of returns is not a lookup: the board reads SEARCH_LIMIT of them, not every one
    monkeypatch.setattr(queries, "SEARCH_LIMIT", 3)
    for name in ("alpha", "bravo", "charlie", "delta", "echo"):
        make_return(session, workflow, now=now, customer_name=f"Broad {name.capitalize()}")
    make_return(session, workflow, now=now, customer_name="Someone Else")
    session.flush()
    columns = queries.board(session, workflow, BoardFilters(q="broad"), user_id=None, now=now)
    assert sum(c.count for c in columns) == 3
    assert all(c.partial for c in columns)
    assert sum(len(c.cards) for c in columns) == 3
    narrow = queries.board(session, workflow, BoardFilters(q="broad delta"), user_id=None, now=now)
    assert [c.customer_name for col in narrow for c in col.cards] == ["Broad Delta"]
    assert not any(c.partial for c in narrow)
