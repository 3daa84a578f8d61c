"""Shared pieces of the benchmarks: a migrated database filled with open returns by bulk insert, the checks that
stop a run on a wrong answer, the machine header and the table of medians and p95s."""

from __future__ import annotations

import os
import platform
import random
import sqlite3
import statistics
import sys
import tomllib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy import insert, text

from hub.accounts.models import Role
from hub.accounts.services import add_user, sync_teams
from hub.core.config import Settings
from hub.core.db import upgrade
from hub.core.runtime import Runtime
from hub.returns.clocks import next_alert_time
from hub.returns.models import Channel, Event, Return, ReturnItem
from hub.returns.search import searchable
from hub.workflow import load_workflow
from hub.workflow.calendar import due_at, due_soon_at

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # a Thursday, inside working hours
SKUS = [f"SKU-{i:04d}" for i in range(300)]


class Refused(RuntimeError):
    """An answer the benchmark did not expect (a redirect to the login, a 5xx, a page without its marker): no times."""


def check_answer(
    what: str, status: int, body: bytes | str, *, expect: int = 200, marker: str | tuple[str, ...] = ()
) -> None:
    """Stop the run (Refused) unless the answer has the expected status and contains the marker(s) given."""
    body_text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if status != expect:
        hint = " (a redirect: is the login refused?)" if 300 <= status < 400 else ""
        raise Refused(f"{what}: answered {status}, expected {expect}{hint}: {body_text[:300]!r}")
    for m in (marker,) if isinstance(marker, str) else marker:
        if m not in body_text:
            raise Refused(f"{what}: the answer lacks {m!r}, so it is not what was asked for: {body_text[:300]!r}")


def check(resp: Any, status: int = 200, marker: str | tuple[str, ...] = (), what: str | None = None) -> Any:
    """check_answer for a Flask test client's response (an encoded body is decoded by the caller); returns resp."""
    name = what or f"{resp.request.method} {resp.request.path}"
    check_answer(name, resp.status_code, resp.get_data(), expect=status, marker=marker)
    return resp


def run(main: Callable[[], None]) -> None:
    """Run a benchmark's main(): a Refused answer ends it with the reason on stderr and exit status 1, no times."""
    try:
        main()
    except Refused as exc:
        print(f"stopped, no times printed: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    """(median, p95) of the samples (p95 interpolated between the two nearest; a single sample is both)."""
    if len(samples) < 2:
        return samples[0], samples[0]
    return statistics.median(samples), statistics.quantiles(samples, n=20, method="inclusive")[18]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB RAM"
    except OSError:
        pass
    return "RAM unknown"


def database_version(engine: Any) -> str:
    """The database's name and server version (PostgreSQL's as the server reports it)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar()}"
    return f"SQLite {sqlite3.sqlite_version}"


def machine_header(
    title: str, *, n: str, engine: Any = None, database: str | None = None, extra: Iterable[str] = ()
) -> str:
    """What a run's figures depend on: the machine, its load now, the versions, N (printed before the table).

    The database's version comes from `engine`, or is given as `database` (database_version() of an engine since
    disposed)."""
    if engine is not None:
        database = database_version(engine)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        title,
        f"machine:  {_cpu_model()}, {os.cpu_count()} cores, {_memory()}; load average (1, 5, 15 min) {load}",
        f"versions: Python {platform.python_version()}, SQLAlchemy {version('sqlalchemy')}, Flask {version('flask')}, "
        f"SQLite library {sqlite3.sqlite_version}" + (f"; database {database}" if database else ""),
        f"N:        {n}",
        *extra,
    ]
    return "\n".join(lines)


def table(rows: Iterable[tuple[str, Sequence[float]]], *, unit: str = "ms", label: str = "measurement") -> str:
    """One line per measurement: its runs, median, p95 and max."""
    rows = list(rows)
    width = max([len(label), *(len(name) for name, _ in rows)])
    out = [f"{label:<{width}} {'runs':>5} {'median ' + unit:>11} {'p95 ' + unit:>9} {'max ' + unit:>9}"]
    for name, samples in rows:
        med, p95 = percentiles(samples)
        out.append(f"{name:<{width}} {len(samples):>5} {med:>11.1f} {p95:>9.1f} {max(samples):>9.1f}")
    return "\n".join(out)


def existing_runtime(database_url: str, returns: int) -> Runtime | None:
    """A runtime on a database a previous run filled with exactly this many returns, or None (fill anew)."""
    settings = Settings.from_env({}, database_url=database_url, secret_key="bench")
    rt = Runtime.from_settings(settings, load_workflow())
    rt.clock = lambda: NOW
    try:
        with rt.engine.connect() as conn:
            found = conn.execute(text("SELECT count(*) FROM returns")).scalar()
    except sqlalchemy_exc.DBAPIError:  # no schema yet: fill anew
        found = None
    if found != returns:
        rt.engine.dispose()
        return None
    return rt


def fresh_runtime(database_url: str) -> Runtime:
    """A runtime on an empty, migrated database with the default workflow, its clock at NOW."""
    settings = Settings.from_env({}, database_url=database_url, secret_key="bench")
    rt = Runtime.from_settings(settings, load_workflow())
    rt.clock = lambda: NOW
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(rt.engine)
    with rt.unit_of_work() as s:
        sync_teams(s, rt.workflow)
        add_user(
            s,
            email="lead@bench.example",
            name="Bench Lead",
            password="bench-password",
            role=Role.LEAD,
            team_keys=["warehouse"],
        )
    return rt


# realistic customers and parcels, so that search has something like a shop's spread to look through: about
# 300 surnames (so one matches ~0.3% of returns, as Müller does in Germany), accents and all
FIRST_NAMES = [
    "Anna",
    "Jürgen",
    "Sanne",
    "Pieter",
    "Özlem",
    "Søren",
    "Łukasz",
    "Chloé",
    "François",
    "Inês",
    "José",
    "Zoë",
    "Björn",
    "Ana",
    "Mia",
    "Noah",
    "Emma",
    "Lucas",
    "Léa",
    "Jan",
    "Eva",
    "Karin",
    "Wim",
    "Joost",
    "Hanna",
    "Mehmet",
    "Ayşe",
    "Fatma",
    "Lars",
    "Ingrid",
    "Marta",
    "Piotr",
    "Zofia",
    "Tomáš",
    "Agnieszka",
    "Luca",
    "Giulia",
    "Sofía",
    "Hugo",
    "Maël",
]
SURNAMES = (
    (
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter Klein "
        "Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner Krause Meier "
        "Lehmann Weiß Jansen de_Vries van_den_Berg Bakker Visser Smit Mulder de_Boer Dekker Peeters Janssens Maes "
        "Dubois Lefèvre Moreau Girard Fernández García Martínez López Rossi Russo Bianchi Nowak Kowalski Wiśniewski "
        "Wójcik Dvořák Novák Svoboda Yılmaz Kaya Demir Şahin Çelik Öztürk Andersen Nielsen Hansen Johansson Sørensen "
        "Lindqvist Ó_Briain Kovačević Horváth Nagy"
    )
    .replace("_", " ")
    .split()
)
_SYLLABLES = [
    "ber",
    "brand",
    "dorf",
    "eck",
    "feld",
    "gart",
    "hau",
    "kamp",
    "lind",
    "mann",
    "rath",
    "sieg",
    "stein",
    "thal",
    "wald",
    "wies",
    "zell",
]
SURNAMES = (
    tuple(SURNAMES)
    + tuple((a + b).capitalize() + c for a in _SYLLABLES for b in _SYLLABLES if a != b for c in ("", "er", "s"))[
        : 300 - len(SURNAMES)
    ]
)
_CATALOGUE = tomllib.loads((Path(__file__).resolve().parents[1] / "hub/demo/catalogue.toml").read_text("utf-8"))
PRODUCTS = [(p["sku"], p["name"], p["weight"]) for p in _CATALOGUE["products"]]
TRACKED_FROM = ("in_transit", "received", "inspected")  # a parcel is on its way from "in transit" on
BATCH = 20000


def tracking_number(i: int) -> str:
    """A DHL-like parcel number, different for every return."""
    return f"JJD{(14600000000000 + i * 7919) % 10**15:015d}"


def fill(rt: Runtime, n: int, *, overdue_share: float | None = None, seed: int = 7, closed: int = 0) -> None:
    """Insert n open returns spread over the open stages, each with one item and its "created" event.

    With `overdue_share`, exactly that share is past its stage SLA and the rest entered just now, so
    the delay scan has a known amount of work; otherwise entry times spread over the last six days.
    `closed` more returns were resolved or rejected at some time in the last two years. Rows go in by
    bulk insert in batches; on PostgreSQL the search index is built once, after the rows.
    """
    wf = rt.workflow
    rng = random.Random(seed)
    stages = wf.open_stages
    closed_stages = [s for s in wf.stages.values() if s.closed]
    overdue_every = round(1 / overdue_share) if overdue_share else None
    product_weights = [w for *_, w in PRODUCTS]
    postgres = rt.engine.dialect.name == "postgresql"

    def rows(i: int) -> tuple[dict, dict, dict]:
        sku, product, _ = rng.choices(PRODUCTS, product_weights)[0]
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        if i <= n:
            stage = stages[i % len(stages)]
            team = wf.teams[stage.team]
            if overdue_every is None:
                entered = NOW - timedelta(minutes=rng.randint(5, 60 * 24 * 6))
            elif i % overdue_every == 0:
                entered = _overdue_entry(stage, team) - timedelta(minutes=rng.randint(0, 50))
            else:
                entered = NOW - timedelta(minutes=rng.randint(1, 30))
            due = due_at(entered, stage.sla, team)
            clocks = dict(
                stage_due_at=due,
                stage_warn_at=due_soon_at(entered, stage.sla, team, wf.alerts.due_soon_share),
                stage_escalate_at=due_at(due, stage.sla, team),
                created_at=entered,
                closed_at=None,
                resolution=None,
            )
        else:
            stage = closed_stages[i % len(closed_stages)]
            entered = NOW - timedelta(minutes=rng.randint(60, 60 * 24 * 730))
            clocks = dict(
                stage_due_at=None,
                stage_warn_at=None,
                stage_escalate_at=None,
                created_at=entered - timedelta(days=rng.randint(2, 20)),
                closed_at=entered,
                resolution="refund" if stage.requires_resolution else None,
            )
        tracking = tracking_number(i) if stage.closed or stage.key in TRACKED_FROM else None
        row = dict(
            id=i,
            rma=f"RMA-{100000 + i}",
            order_number=f"ORD-{500000 + i}",
            customer_name=name,
            customer_email=f"customer{i}@example.com",
            customer_locale="en",
            stage=stage.key,
            stage_entered_at=entered,
            promised_by=clocks["created_at"] + timedelta(days=14),
            priority=1,
            is_blocked=False,
            carrier="DHL" if tracking else None,
            tracking_number=tracking,
            status_token=f"tok{i:08d}",
            version=1,
            alert_level=0,
            promise_alerted=False,
            snoozed_until=None,
            **clocks,
        )
        row["next_alert_at"] = None if stage.closed else next_alert_time(_Row(row))
        row["search_text"] = searchable(
            [row["rma"], row["order_number"], name, row["customer_email"], tracking, sku, product]
        )
        item = dict(return_id=i, sku=sku, product_name=product, quantity=1, unit_price=10, reason_code="too_small")
        event = dict(
            return_id=i,
            actor_label="bench",
            channel=Channel.CLI,
            kind="created",
            to_stage=stage.key,
            created_at=entered,
            payload={},
        )
        return row, item, event

    with rt.engine.begin() as conn:
        if postgres:
            conn.execute(text("DROP INDEX ix_returns_search_trgm"))
        for start in range(1, n + closed + 1, BATCH):
            batch = [rows(i) for i in range(start, min(start + BATCH, n + closed + 1))]
            for k, table in enumerate((Return.__table__, ReturnItem.__table__, Event.__table__)):
                conn.execute(insert(table), [b[k] for b in batch])
        if postgres:
            conn.execute(text("SET maintenance_work_mem = '512MB'"))
            conn.execute(text("CREATE INDEX ix_returns_search_trgm ON returns USING gin (search_text gin_trgm_ops)"))
            for table in ("returns", "return_items", "events"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))


_OVERDUE_ENTRY: dict[str, datetime] = {}


def _overdue_entry(stage, team) -> datetime:
    """An entry time that makes a return overdue at NOW but not yet escalated."""
    if stage.key not in _OVERDUE_ENTRY:
        for hours in range(2, 24 * 30):
            entered = NOW - timedelta(hours=hours)
            due = due_at(entered, stage.sla, team)
            if due <= NOW - timedelta(hours=1) and due_at(due, stage.sla, team) > NOW + timedelta(hours=1):
                _OVERDUE_ENTRY[stage.key] = entered
                break
    return _OVERDUE_ENTRY[stage.key]


class _Row:
    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)
