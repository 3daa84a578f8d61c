"""Shared set-up for the benchmarks: a migrated database filled with open returns by bulk insert."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from hub.accounts.models import Role
from hub.accounts.services import add_user, sync_teams
from hub.core.config import Settings
from hub.core.db import upgrade
from hub.core.runtime import Runtime
from hub.returns.clocks import next_alert_time
from hub.returns.models import Channel, Event, Return, ReturnItem
from hub.workflow import load_workflow
from hub.workflow.calendar import due_at, due_soon_at

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # a Thursday, inside working hours
SKUS = [f"SKU-{i:04d}" for i in range(300)]


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


def fill(rt: Runtime, n: int, *, overdue_share: float | None = None, seed: int = 7) -> None:
    """Insert n open returns spread over the open stages, each with one item and its "created" event.

    With `overdue_share`, exactly that share is past its stage SLA and the rest entered just now, so
    the delay scan has a known amount of work; otherwise entry times spread over the last six days.
    """
    wf = rt.workflow
    rng = random.Random(seed)
    stages = wf.open_stages
    overdue_every = round(1 / overdue_share) if overdue_share else None
    returns, items, events = [], [], []
    for i in range(1, n + 1):
        stage = stages[i % len(stages)]
        team = wf.teams[stage.team]
        if overdue_every is None:
            entered = NOW - timedelta(minutes=rng.randint(5, 60 * 24 * 6))
        elif i % overdue_every == 0:
            entered = _overdue_entry(stage, team) - timedelta(minutes=rng.randint(0, 50))
        else:
            entered = NOW - timedelta(minutes=rng.randint(1, 30))
        due = due_at(entered, stage.sla, team)
        row = dict(
            id=i,
            rma=f"RMA-{100000 + i}",
            order_number=f"ORD-{500000 + i}",
            customer_name=f"Customer {i}",
            customer_email=f"customer{i}@example.com",
            customer_locale="en",
            stage=stage.key,
            stage_entered_at=entered,
            stage_due_at=due,
            stage_warn_at=due_soon_at(entered, stage.sla, team, wf.alerts.due_soon_share),
            stage_escalate_at=due_at(due, stage.sla, team),
            promised_by=entered + timedelta(days=14),
            priority=1,
            is_blocked=False,
            status_token=f"tok{i:08d}",
            version=1,
            created_at=entered,
            alert_level=0,
            promise_alerted=False,
            snoozed_until=None,
        )
        row["next_alert_at"] = next_alert_time(_Row(row))
        returns.append(row)
        items.append(
            dict(
                return_id=i,
                sku=rng.choice(SKUS),
                product_name="Product",
                quantity=1,
                unit_price=10,
                reason_code="too_small",
            )
        )
        events.append(
            dict(
                return_id=i,
                actor_label="bench",
                channel=Channel.CLI,
                kind="created",
                to_stage=stage.key,
                created_at=entered,
                payload={},
            )
        )
    with rt.engine.begin() as conn:
        for table, rows in ((Return.__table__, returns), (ReturnItem.__table__, items), (Event.__table__, events)):
            for k in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[k : k + 5000])
        if rt.engine.dialect.name == "postgresql":
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
