"""Demo data: users with known logins and realistic returns in every stage, built through the services."""

from __future__ import annotations

import random
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.accounts.models import Role, User
from hub.accounts.services import add_user, sync_teams
from hub.alerts.scan import mark_alerts_raised
from hub.core.errors import DomainError
from hub.notifications.models import Notification
from hub.returns import services as svc
from hub.returns.drafts import ItemDraft, ReturnDraft, validate_draft
from hub.returns.models import Channel, Comment, Event, Priority, Return, ReturnItem
from hub.returns.permissions import Actor
from hub.returns.queries import sla_state
from hub.workflow import Stage, Team, Workflow
from hub.workflow.calendar import due_at, due_soon_at, subtract_business_hours

DEMO_PASSWORD = "demo-password"
DEMO_DOMAIN = "demo.example"
FIRST_RMA = 10001
FIRST_ORDER = 240000


class DemoDataError(DomainError):
    """The database cannot be seeded (it already holds returns, or the demo users exist)."""


@dataclass(frozen=True)
class DemoLogin:
    """A demo account a person can log in with."""

    email: str
    password: str
    role: str
    team: str | None
    name: str


@dataclass
class DemoSummary:
    """What seed_demo made."""

    logins: list[DemoLogin]
    returns_by_stage: dict[str, int]
    overdue_by_stage: dict[str, int]
    blocked_by_stage: dict[str, int]
    assigned_by_stage: dict[str, int]
    items: int = 0
    comments: int = 0
    events: int = 0

    @property
    def returns(self) -> int:
        """Returns made, over every stage."""
        return sum(self.returns_by_stage.values())


# --- the catalogue and the people ------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A product of the demo shop; `weight` is how often it comes back, relative to the others."""

    sku: str
    name: str
    category: str
    price: str
    weight: int


# the demo shop's catalogue, people and wordings are data: hub/demo/catalogue.toml
_DATA = tomllib.loads(resources.files("hub.demo").joinpath("catalogue.toml").read_text("utf-8"))
CATALOGUE: tuple[Product, ...] = tuple(Product(**p) for p in _DATA["products"])
REASONS_BY_CATEGORY: dict[str, dict[str, int]] = _DATA["reasons_by_category"]
REASON_NOTES: dict[str, dict[str, tuple[str, ...]]] = {
    reason: {lang: tuple(notes) for lang, notes in langs.items()} for reason, langs in _DATA["reason_notes"].items()
}
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    lang: (tuple(n["first"]), tuple(n["last"])) for lang, n in _DATA["names"].items()
}
LOCALES: dict[str, int] = _DATA["locales"]
MAIL_DOMAINS: tuple[str, ...] = tuple(_DATA["people"]["mail_domains"])
STAFF_NAMES: tuple[str, ...] = tuple(_DATA["people"]["staff"])
CARRIERS: dict[str, dict[str, int]] = _DATA["carriers"]
BLOCK_REASONS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _DATA["block_reasons"].items() if k != "generic"}
GENERIC_BLOCK_REASONS: tuple[str, ...] = tuple(_DATA["block_reasons"]["generic"])
COMMENTS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _DATA["comments"].items() if k != "generic"}
GENERIC_COMMENTS: tuple[str, ...] = tuple(_DATA["comments"]["generic"])
REJECT_NOTES: tuple[str, ...] = tuple(_DATA["rejections"]["notes"])


# how the open returns' stage clocks should look on the board, with relative weights
CLOCK_STATES = {"on_time": 70, "due_soon": 16, "overdue": 14}

# how returns come in, as the app takes them today (relative weights): customer service types them into
# the new-return form or Slack's /returns new, or imports the shop's export of return requests with
# `returns-hub import` (which records "CSV import <file name>" through the CLI)
CREATED_BY = {"web_form": 45, "csv_import": 40, "slack": 15}


# --- logins ----------------------------------------------------------------------------------


def demo_logins(workflow: Workflow) -> list[DemoLogin]:
    """The demo accounts: one admin, and a lead and a member for every team of the workflow."""
    names = iter(STAFF_NAMES)
    logins = [DemoLogin(f"admin@{DEMO_DOMAIN}", DEMO_PASSWORD, Role.ADMIN.value, None, next(names))]
    for n, key in enumerate(workflow.teams):
        slug = key.replace("_", "-")
        for role in (Role.LEAD, Role.MEMBER):
            name = next(names, None) or f"{workflow.teams[key].name} {role.value} {n + 1}"
            logins.append(DemoLogin(f"{slug}.{role.value}@{DEMO_DOMAIN}", DEMO_PASSWORD, role.value, key, name))
    return logins


# --- seeding ---------------------------------------------------------------------------------


@dataclass
class _Plan:
    """One return to make: its path through the workflow and when it entered each stage."""

    path: list[str]
    entered: list[datetime]
    locale: str
    rma: str = ""
    actions: list[tuple[datetime, Callable[[], Any]]] = field(default_factory=list)


def seed_demo(
    session: Session,
    workflow: Workflow,
    *,
    now: datetime,
    returns_per_stage: int = 100,
    seed: int = 42,
) -> DemoSummary:
    """Create the demo users and `returns_per_stage` returns in every stage, each with a consistent history."""
    if returns_per_stage < 0:
        raise DemoDataError(f"returns per stage cannot be negative, got {returns_per_stage}")
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware UTC datetime")
    existing = session.scalar(select(func.count()).select_from(Return)) or 0
    if existing:
        raise DemoDataError(
            f"the database already holds {existing} return(s); demo data only goes into an empty database "
            "(use a fresh HUB_DATABASE_URL, or remove the returns first)"
        )
    logins = demo_logins(workflow)
    taken = list(session.scalars(select(User.email).where(User.email.in_([x.email for x in logins]))))
    if taken:
        raise DemoDataError(f"the demo users already exist: {', '.join(sorted(taken))}")
    sync_teams(session, workflow)
    users = [
        add_user(
            session, email=x.email, name=x.name, password=x.password, role=x.role, team_keys=[x.team] if x.team else []
        )
        for x in logins
    ]
    seeder = _Seeder(session, workflow, random.Random(seed), now, users)
    seeder.run(returns_per_stage)
    # the history is made up: its handoffs, customer updates and delay alerts must not go out as
    # e-mail or Slack; the alerts it owes count as raised, so only what happens from now on alerts
    session.execute(delete(Notification))
    session.flush()
    mark_alerts_raised(session, workflow, now)
    return _summarize(session, workflow, logins, now)


class _Seeder:
    """Plans every return's history, then replays all of it through the services in time order."""

    def __init__(
        self, session: Session, workflow: Workflow, rng: random.Random, now: datetime, users: list[User]
    ) -> None:
        self.session, self.workflow, self.rng, self.now = session, workflow, rng, now
        self.admin = users[0]
        self.by_team: dict[str, list[User]] = {}
        for u in users[1:]:
            for t in u.teams:
                self.by_team.setdefault(t.key, []).append(u)
        policy = workflow.policy
        self.catalogue = [
            p
            for p in CATALOGUE
            if p.sku not in policy.non_returnable_skus and p.category not in policy.non_returnable_categories
        ]
        if not self.catalogue:
            raise DemoDataError("the return policy excludes every product of the demo catalogue")
        self.paths = _paths(workflow)
        ship = [s for s in workflow.stages.values() if s.team and s.team != workflow.initial_stage.team]
        self.ships_from = ship[0].key if ship else None

    def pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def person(self, team: str | None) -> User:
        """Someone who works a stage of this team (members do most of the work)."""
        people = self.by_team.get(team or "", [])
        if not people:
            return self.admin
        return people[-1] if len(people) > 1 and self.rng.random() < 0.7 else people[0]

    def actor(self, team: str | None) -> Actor:
        channel = Channel.SLACK if self.rng.random() < 0.3 else Channel.WEB
        return Actor.person(self.person(team), channel)

    def creator(self, at: datetime, *, imported: bool) -> Actor:
        """Who opened a return, through a door the app has: a return that starts beyond the first stage
        can only have come from a CSV import (the form and Slack open returns in the first stage)."""
        how = "csv_import" if imported else self.pick(CREATED_BY)
        if how == "csv_import":
            # the shop's daily export of return requests, imported the day it was made
            return Actor.system(f"CSV import shop-returns-{self.workflow.today(at):%Y-%m-%d}.csv", Channel.CLI)
        channel = Channel.SLACK if how == "slack" else Channel.WEB
        return Actor.person(self.person(self.workflow.initial_stage.team), channel)

    def run(self, per_stage: int) -> None:
        plans = [self.plan(key) for key in self.workflow.stages for _ in range(per_stage)]
        plans.sort(key=lambda p: p.entered[0])
        for n, plan in enumerate(plans):
            plan.rma = f"RMA-{FIRST_RMA + n}"
            self.script(plan, FIRST_ORDER + 3 * n + self.rng.randint(0, 2))
        # replay every return's history in one global time order, so event ids follow time
        steps = [(t, n, i, act) for n, p in enumerate(plans) for i, (t, act) in enumerate(p.actions)]
        steps.sort(key=lambda s: s[:3])
        for *_, act in steps:
            act()

    # -- planning: where the return went and when

    def plan(self, target: str) -> _Plan:
        rng, wf = self.rng, self.workflow
        options = self.paths.get(target)
        path = list(rng.choice(options)) if options else [target]
        stage = wf.stages[target]
        if stage.closed:
            # closed returns finished within the last three working weeks, most of them recently
            before = path[-2] if len(path) > 1 else None
            team = wf.team_of(before) if before else None
            share = 0.02 + 14 * rng.random() ** 1.7
            entered = _rewind_days(self.now, share, team)
        else:
            entered = self.entered_current(stage, wf.team_of(target), self.pick(CLOCK_STATES))
        times = [entered]
        for key in reversed(path[:-1]):
            share = rng.uniform(1.0, 2.2) if rng.random() < 0.1 else rng.uniform(0.15, 0.9)
            times.append(_rewind(times[-1], wf.stages[key], wf.team_of(key), share))
        times.reverse()
        return _Plan(path, times, self.pick(LOCALES))

    def entered_current(self, stage: Stage, team: Team | None, want: str) -> datetime:
        """When a return entered its open stage, so that its clock shows `want` on the board now."""
        rng, now = self.rng, self.now
        if stage.sla is None or team is None:
            return _rewind(now, stage, team, rng.uniform(0.1, 2.0))
        low, high = {"overdue": (1.05, 2.5), "due_soon": (0.6, 1.0), "on_time": (0.02, 0.75)}[want]
        # stage moves happen in working time; when none of those puts the clock in the wanted state
        # (overnight), the return came in outside working hours, as customers' returns do; and at the
        # weekend nothing of a business-day stage is "due soon", so it is simply on time
        span = due_at(now, stage.sla, team) - now
        for attempt in range(40):
            if attempt < 20:
                entered = _rewind(now, stage, team, rng.uniform(low, high))
            else:
                entered = (now - span * rng.uniform(low / 2, high * 2)).replace(microsecond=0)
            share = self.workflow.alerts.due_soon_share
            state = sla_state(due_at(entered, stage.sla, team), due_soon_at(entered, stage.sla, team, share), None, now)
            if entered < now and state == want:
                return entered
        return _rewind(now, stage, team, rng.uniform(0.02, 0.5))

    # -- scripting: the service calls that make the history, each at its moment

    def bring_in(self, creator: Actor, draft: ReturnDraft, at: datetime, stage_key: str | None) -> None:
        """Open a return of the made-up history (the next service call's query flushes it)."""
        clean = validate_draft(draft, self.workflow, self.workflow.today(at))
        svc.import_returns(self.session, self.workflow, creator, [svc.Imported(clean, at, stage_key)])

    def script(self, plan: _Plan, order: int) -> None:
        rng, wf, session = self.rng, self.workflow, self.session
        add = plan.actions.append
        path, entered, rma = plan.path, plan.entered, plan.rma
        ends = [*entered[1:], self.now]
        draft = self.draft(plan, order)
        direct = path[0] != wf.initial_stage.key  # not reachable by moves: made in place, as an import does
        creator = self.creator(entered[0], imported=direct)
        # made-up history tells nobody, and the database was empty, so its RMAs are new
        add((entered[0], _call(self.bring_in, creator, draft, entered[0], path[0] if direct else None)))
        for i in range(1, len(path)):
            src, dst = wf.stages[path[i - 1]], wf.stages[path[i]]
            actor = self.actor(dst.team if src.closed else src.team)
            kwargs: dict[str, Any] = {}
            if dst.requires_resolution:
                allowed = {"refund": 60, "exchange": 25, "store_credit": 15}
                kwargs["resolution"] = self.pick({k: allowed.get(k, 10) for k in wf.policy.allowed_resolutions})
            if dst.requires_rejection_reason and wf.rejection_reasons:
                why = wf.rejection_reasons[rng.choice(list(wf.rejection_reasons))]
                kwargs["rejection_reason"] = why.key
                if why.note_required or rng.random() < 0.3:
                    kwargs["note"] = rng.choice(REJECT_NOTES)
            elif dst.requires_note:
                kwargs["note"] = rng.choice(
                    (*REJECT_NOTES, f"Outside the {wf.policy.return_window_days}-day return window")
                )
            if src.key == self.ships_from and not dst.closed:
                carrier = self.pick(CARRIERS[plan.locale])
                at = _between(rng, entered[i - 1], entered[i], 0.3, 0.95)
                add(
                    (
                        at,
                        _call(
                            svc.update_shipping,
                            session,
                            wf,
                            actor,
                            rma,
                            carrier=carrier,
                            tracking_number=_tracking(rng, carrier),
                            now=at,
                        ),
                    )
                )
            add((entered[i], _call(svc.move_return, session, wf, actor, rma, dst.key, now=entered[i], **kwargs)))
        for _ in range(rng.choices((0, 1, 2), weights=(65, 27, 8))[0]):
            i = rng.randrange(len(path))
            if wf.stages[path[i]].closed:
                continue
            at = _between(rng, entered[i], ends[i], 0.05, 0.95)
            text = rng.choice(COMMENTS.get(path[i], GENERIC_COMMENTS))
            add((at, _call(svc.add_comment, session, wf, self.actor(wf.stages[path[i]].team), rma, text, now=at)))
        current = wf.stages[path[-1]]
        if not current.closed:
            if rng.random() < 0.45:
                user = self.person(current.team)
                at = _between(rng, entered[-1], self.now, 0.02, 0.4)
                add((at, _call(svc.claim_return, session, wf, Actor.person(user, Channel.WEB), rma, now=at)))
            if rng.random() < 0.09:
                at = _between(rng, entered[-1], self.now, 0.45, 0.98)
                reason = rng.choice(BLOCK_REASONS.get(current.key, GENERIC_BLOCK_REASONS))
                add((at, _call(svc.flag_return, session, wf, self.actor(current.team), rma, reason, now=at)))
        plan.actions.sort(key=lambda a: a[0])

    def draft(self, plan: _Plan, order: int) -> ReturnDraft:
        rng, policy = self.rng, self.workflow.policy
        first_names, last_names = NAMES[plan.locale]
        first, last = rng.choice(first_names), rng.choice(last_names)
        created = plan.entered[0]
        window = max(0, min(policy.return_window_days, 21))
        delivered = created.date() - timedelta(days=rng.randint(min(1, window), window))
        count = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
        products: list[Product] = []
        while len(products) < min(count, len(self.catalogue)):
            p = rng.choices(self.catalogue, weights=[x.weight for x in self.catalogue])[0]
            if p not in products:
                products.append(p)
        items = []
        for p in products:
            reason = self.reason(p.category)
            notes = REASON_NOTES.get(reason, {})
            note = rng.choice(notes.get(plan.locale) or notes["en"]) if notes and rng.random() < 0.4 else None
            items.append(
                ItemDraft(
                    sku=p.sku,
                    product_name=p.name,
                    quantity=2 if rng.random() < 0.08 else 1,
                    unit_price=p.price,
                    reason_code=reason,
                    reason_note=note or "",
                    category=p.category,
                )
            )
        priority = rng.choices(list(Priority), weights=(10, 75, 12, 3))[0]
        # a draft as a form would send it, so the services check it against the config's rules and policy
        return ReturnDraft(
            order_number=f"ORD-{order}",
            customer_name=f"{first} {last}",
            customer_email=_email(rng, first, last),
            customer_locale=plan.locale,
            delivered_on=delivered,
            items=items,
            rma=plan.rma,
            priority=int(priority),
        )

    def reason(self, category: str) -> str:
        known = self.workflow.reasons
        weights = {k: w for k, w in REASONS_BY_CATEGORY.get(category, {}).items() if k in known}
        return self.pick(weights) if weights else self.rng.choice(list(known))


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: fn(*args, **kwargs)


def _between(rng: random.Random, start: datetime, end: datetime, lo: float, hi: float) -> datetime:
    """A moment between start and end, at a random share in [lo, hi] of the way."""
    return (start + (end - start) * rng.uniform(lo, hi)).replace(microsecond=0)


def _paths(workflow: Workflow) -> dict[str, list[tuple[str, ...]]]:
    """For each stage, ways a new return reaches it by forward moves (never through a closed stage)."""
    paths: dict[str, list[tuple[str, ...]]] = {}
    start = workflow.initial_stage.key
    stack: list[tuple[str, ...]] = [(start,)]
    while stack:
        path = stack.pop()
        found = paths.setdefault(path[-1], [])
        if len(found) >= 20:
            continue
        found.append(path)
        stage = workflow.stages[path[-1]]
        if stage.closed:
            continue
        stack.extend((*path, k) for k in reversed(stage.next) if k not in path)
    return paths


def _rewind(end: datetime, stage: Stage, team: Team | None, share: float) -> datetime:
    """The moment `share` of the stage's SLA before `end`, counted on the clock the SLA runs on."""
    sla = stage.sla
    if sla is None or team is None:
        return (end - timedelta(hours=8 * share)).replace(microsecond=0)
    if sla.clock == "calendar":
        span = timedelta(days=sla.amount) if sla.unit == "days" else timedelta(hours=sla.amount)
        return (end - span * share).replace(microsecond=0)
    hours = sla.amount * (team.hours_per_day if sla.unit == "days" else 1) * share
    return subtract_business_hours(end, hours, team)


def _rewind_days(end: datetime, days: float, team: Team | None) -> datetime:
    """`days` working days before `end` on the team's calendar (calendar days without a team)."""
    if team is None:
        return (end - timedelta(days=days)).replace(microsecond=0)
    return subtract_business_hours(end, days * team.hours_per_day, team)


def _email(rng: random.Random, first: str, last: str) -> str:
    def ascii_word(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(c for c in plain.lower() if c.isalnum())

    f, la = ascii_word(first), ascii_word(last)
    local = rng.choice((f"{f}.{la}", f"{f}{la}", f"{f[0]}.{la}", f"{f}{rng.randint(10, 99)}", f"{la}.{f}"))
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


def _tracking(rng: random.Random, carrier: str) -> str:
    """A tracking number shaped like the carrier's own."""

    def digits(n: int) -> str:
        return "".join(rng.choices("0123456789", k=n))

    if carrier == "PostNL":
        return "3SRTHB" + digits(9)
    if carrier == "DHL":
        return "JVGL" + digits(20)
    if carrier == "UPS":
        return "1Z" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=6)) + digits(10)
    if carrier == "DHL Express":
        return digits(10)
    if carrier == "GLS":
        return digits(11)
    return digits(14)


def _summarize(session: Session, workflow: Workflow, logins: list[DemoLogin], now: datetime) -> DemoSummary:
    def by_stage(*where: Any) -> dict[str, int]:
        stmt = select(Return.stage, func.count()).where(*where).group_by(Return.stage)
        rows = dict(session.execute(stmt).tuples().all())
        return {k: rows.get(k, 0) for k in workflow.stages}

    open_ = Return.closed_at.is_(None)
    return DemoSummary(
        logins=logins,
        returns_by_stage=by_stage(),
        overdue_by_stage=by_stage(open_, Return.stage_due_at < now),
        blocked_by_stage=by_stage(Return.is_blocked.is_(True)),
        assigned_by_stage=by_stage(Return.assignee_id.is_not(None)),
        items=session.scalar(select(func.count()).select_from(ReturnItem)) or 0,
        comments=session.scalar(select(func.count()).select_from(Comment)) or 0,
        events=session.scalar(select(func.count()).select_from(Event)) or 0,
    )
