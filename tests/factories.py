"""Factories with valid defaults, for every test folder: users, drafts and returns, a move as an entry point
makes it, the system actor, a clock moved by hand, moments, team calendars and workflow files.

Users get a cheap password hash: tests/conftest.py hashes every password of the run with one round of
PBKDF2 (scrypt costs ~75 ms a hash); a test of the real hashing asks for the `real_password_hashing` fixture.
"""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from hub.accounts.models import Role, User
from hub.accounts.services import add_user
from hub.core.db import unit_of_work
from hub.returns.drafts import ItemDraft, ReturnDraft, validate_draft
from hub.returns.models import Channel, Return
from hub.returns.permissions import Actor
from hub.returns.services import Imported, create_return, import_returns, move_return
from hub.workflow import WEEKDAYS, Team, Workflow

_seq = itertools.count(1)
PASSWORD = "correct horse battery"
# the actor of changes no person made
SYSTEM = Actor.system("test", Channel.CLI)


# --- users and returns -------------------------------------------------------------------------------


def make_user(
    session: Session, *, team: str | None = "customer_service", role: Role | str = Role.MEMBER, **overrides: Any
) -> User:
    """A user on one team (default customer service), password PASSWORD; flushed, not committed."""
    n = next(_seq)
    fields: dict[str, Any] = {
        "email": f"user{n}@shop.example",
        "name": f"Test User {n}",
        "password": PASSWORD,
        "role": role,
        "team_keys": [team] if team else [],
    }
    time_zone = overrides.pop("time_zone", None)  # a setting of the user's own, not of adding them
    fields.update(overrides)
    user = add_user(session, **fields)
    user.time_zone = time_zone
    return user


def make_draft(**overrides: Any) -> ReturnDraft:
    """A valid new return as a form would send it."""
    n = next(_seq)
    fields: dict[str, Any] = {
        "order_number": f"ORD-{50000 + n}",
        "customer_name": "Sanne de Vries",
        "customer_email": f"sanne{n}@example.nl",
        "customer_locale": "nl",
        "items": [
            ItemDraft(
                sku="TSHIRT-BLU-M",
                product_name="T-shirt blue M",
                quantity=1,
                unit_price="19.95",
                reason_code="too_small",
            )
        ],
    }
    fields.update(overrides)
    return ReturnDraft(**fields)


def make_return(
    session: Session,
    workflow: Workflow,
    *,
    stage: str | None = None,
    now: datetime | None = None,
    actor: Actor | None = None,
    **overrides: Any,
) -> Return:
    """A valid return, created by the system in the first stage (or `stage`)."""
    return create_return(session, workflow, actor or SYSTEM, make_draft(**overrides), now=now, stage_key=stage)


def make_returns(
    session: Session, workflow: Workflow, n: int, *, stage: str, now: datetime, prefix: str = "RMA-"
) -> list[str]:
    """`n` returns created in one go in `stage` at `now` (an import-like batch: no handoff messages)."""
    rmas = [f"{prefix}{5000 + i}" for i in range(n)]
    today = workflow.today(now)
    import_returns(
        session,
        workflow,
        SYSTEM,
        [Imported(validate_draft(make_draft(rma=rma), workflow, today), now, stage) for rma in rmas],
    )
    session.flush()
    return rmas


def move(
    session_factory: sessionmaker[Session],
    workflow: Workflow,
    rma: str,
    to_stage: str,
    *,
    now: datetime,
    actor: Actor | None = None,
    **kwargs: Any,
) -> None:
    """Move a return in a unit of work of its own, as an entry point does (by the system unless `actor`)."""
    with unit_of_work(session_factory) as s:
        if actor is not None and actor.user is not None:
            actor = Actor.person(s.get(User, actor.user.id), actor.channel)
        move_return(s, workflow, actor or SYSTEM, rma, to_stage, now=now, **kwargs)


# --- time ---------------------------------------------------------------------------------------------

# the suite's fixed moment (the `now` fixture): Thursday 5 March 2026, 10:00 in Amsterdam, inside every
# default team's working hours
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand: the runtime's (the jobs' and the web app's) now(), or a dispatcher's."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> datetime:
        """Jump to `when`; returns it."""
        self.now = when
        return when

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move on by `delta` (or timedelta(**kwargs)); returns the new time."""
        self.now += delta if delta is not None else timedelta(**kwargs)
        return self.now


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    """A wall-clock time in a zone, as an aware datetime."""
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


# --- workflows ----------------------------------------------------------------------------------------


def team(
    key: str = "t",
    *,
    tz: str = "Europe/Amsterdam",
    days: str = "mon tue wed thu fri",
    hours: tuple[str, str] = ("09:00", "17:00"),
    holidays: tuple[date, ...] = (),
    **overrides: Any,
) -> Team:
    """A team calendar built in code."""
    opens, closes = (time.fromisoformat(h) for h in hours)
    fields: dict[str, Any] = {
        "key": key,
        "name": key.title(),
        "color": "#64748b",
        "timezone": ZoneInfo(tz),
        "working_days": frozenset(WEEKDAYS.index(d) for d in days.split()),
        "opens": opens,
        "closes": closes,
        "holidays": frozenset(holidays),
    }
    fields.update(overrides)
    return Team(**fields)


def with_team(workflow: Workflow, key: str, **changes: Any) -> Workflow:
    """The workflow with one team's settings changed."""
    teams = dict(workflow.teams)
    teams[key] = replace(teams[key], **changes)
    return replace(workflow, teams=teams)


def default_workflow_toml() -> str:
    """The built-in workflow file, hub/workflow/default.toml, as shipped."""
    return resources.files("hub.workflow").joinpath("default.toml").read_text("utf-8")


def workflow_toml(
    *,
    teams: Mapping[str, Mapping[str, Any] | None] | None = None,
    stages: Mapping[str, Mapping[str, Any] | None] | None = None,
    **changes: Any,
) -> str:
    """The built-in workflow file with changes, as TOML text for parse_workflow or a HUB_CONFIG file.

    `teams` and `stages` map a key to the fields to change: None drops the team or stage, a field set to
    None is removed, a new key adds one (a new stage goes after the stage its "after" names, else last).
    Any other keyword changes a top-level setting; a table (alerts, policy) is changed field by field.
    """
    doc = tomllib.loads(default_workflow_toml())
    doc["teams"] = _changed(doc["teams"], teams or {})
    stage_list: list[dict[str, Any]] = doc["stages"]
    for key, fields in (stages or {}).items():
        index = next((i for i, s in enumerate(stage_list) if s["key"] == key), None)
        if fields is None:
            assert index is not None, f"no stage {key!r} to drop"
            del stage_list[index]
            continue
        fields = dict(fields)
        after = fields.pop("after", None)
        if index is None:
            index = len(stage_list)
            if after is not None:
                index = next(i for i, s in enumerate(stage_list) if s["key"] == after) + 1
            stage_list.insert(index, {"key": key})
        stage_list[index] = _merged(stage_list[index], fields)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(doc.get(key), dict):
            doc[key] = _merged(doc[key], value)
        else:
            doc[key] = value
    return _dump_toml(doc)


def _merged(table: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**table, **fields}
    return {k: v for k, v in merged.items() if v is not None}


def _changed(tables: Mapping[str, Any], changes: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    out = dict(tables)
    for key, fields in changes.items():
        if fields is None:
            assert key in out, f"no {key!r} to drop"
            del out[key]
        else:
            out[key] = _merged(out.get(key, {}), fields)
    return out


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's string escapes are TOML's
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _dump_toml(doc: Mapping[str, Any]) -> str:
    lines: list[str] = []

    def table(path: list[str], content: Mapping[str, Any], *, array: bool = False) -> None:
        values = {k: v for k, v in content.items() if not isinstance(v, dict) and not _is_table_array(v)}
        if path and (array or values or not content):  # [teams] itself needs no header: [teams.x] does
            name = ".".join(_toml_key(p) for p in path)
            lines.extend(["", f"[[{name}]]" if array else f"[{name}]"])
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in values.items())
        for k, v in content.items():
            if isinstance(v, dict):
                table([*path, k], v)
        for k, v in content.items():
            if _is_table_array(v):
                for item in v:
                    table([*path, k], item, array=True)

    table([], doc)
    return "\n".join(lines).lstrip("\n") + "\n"
