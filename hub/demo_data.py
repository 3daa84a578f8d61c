"""Demo data: users with known logins and realistic returns in every stage, built through the services."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.accounts.models import Role, User
from hub.accounts.services import add_user, sync_teams
from hub.alerts import scan_batch
from hub.errors import DomainError
from hub.notifications.models import Notification
from hub.returns import services as svc
from hub.returns.models import Channel, Comment, Event, Priority, Return, ReturnItem
from hub.returns.queries import sla_state
from hub.returns.services import Actor, ItemDraft, ReturnDraft
from hub.sla import due_at, due_soon_at, is_working_day
from hub.workflow import Stage, Team, Workflow

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


# a few products come back far more often than the rest: that is what returns analytics shows
CATALOGUE: tuple[Product, ...] = (
    Product("JEANS-SLIM-32", "Slim-fit jeans, dark blue, W32 L32", "apparel", "69.95", 40),
    Product("EARBUDS-PRO", "Wireless earbuds Pro", "electronics", "149.00", 28),
    Product("DRESS-WRAP-M", "Wrap dress, floral print, M", "apparel", "59.95", 22),
    Product("SNEAKER-RUN-42", "Running shoe Aero, size 42", "footwear", "129.95", 18),
    Product("WATCH-FIT2", "Fitness watch Fit 2", "electronics", "199.00", 9),
    Product("TSHIRT-BASIC-M", "Organic basic T-shirt, white, M", "apparel", "19.95", 8),
    Product("GRINDER-BURR", "Electric burr coffee grinder", "kitchen", "89.95", 7),
    Product("HOODIE-GRY-L", "Hoodie, heather grey, L", "apparel", "49.95", 6),
    Product("DUVET-COV-200", "Duvet cover 200x220, washed cotton", "home", "49.95", 6),
    Product("JACKET-RAIN-M", "Waterproof rain jacket, M", "apparel", "119.00", 5),
    Product("BOOT-CHELSEA-39", "Chelsea boots, black leather, size 39", "footwear", "149.00", 5),
    Product("HEADPH-NC700", "Noise-cancelling headphones NC700", "electronics", "279.00", 5),
    Product("CHINO-BEIGE-34", "Chino trousers, beige, W34", "apparel", "54.95", 4),
    Product("SPEAKER-BT-MINI", "Bluetooth speaker Mini", "electronics", "49.95", 4),
    Product("LAMP-DESK-LED", "LED desk lamp, dimmable", "home", "59.95", 4),
    Product("PAN-SET-3", "Non-stick pan set, 3 pieces", "kitchen", "99.95", 4),
    Product("KNIT-WOOL-S", "Merino wool jumper, navy, S", "apparel", "89.95", 3),
    Product("SHIRT-OXF-L", "Oxford shirt, light blue, L", "apparel", "44.95", 3),
    Product("CHARGER-65W", "USB-C charger 65 W", "electronics", "39.95", 3),
    Product("EREADER-6", "E-reader 6 inch, 16 GB", "electronics", "129.00", 3),
    Product("MIRROR-ROUND-60", "Round wall mirror, 60 cm", "home", "79.00", 3),
    Product("VASE-GLASS", "Hand-blown glass vase", "home", "34.95", 3),
    Product("KETTLE-GOOSE", "Gooseneck kettle 1 l", "kitchen", "69.00", 3),
    Product("BIKE-LIGHT-SET", "Bike light set, USB rechargeable", "sports", "29.95", 3),
    Product("BRICKS-TRAIN", "Building bricks express train", "toys", "89.99", 3),
    Product("SANDAL-LTH-38", "Leather sandals, cognac, size 38", "footwear", "64.95", 2),
    Product("KEYB-MECH", "Mechanical keyboard, US international", "electronics", "109.00", 2),
    Product("CUSHION-VELV", "Velvet cushion 45x45, olive", "home", "24.95", 2),
    Product("YOGA-MAT-6", "Yoga mat 6 mm, sage green", "sports", "39.95", 2),
    Product("PUZZLE-1000", "Jigsaw puzzle, 1000 pieces", "toys", "17.95", 2),
    Product("KNIFE-CHEF-20", "Chef's knife 20 cm", "kitchen", "59.00", 1),
)

# reasons a product of each category typically comes back for, with relative weights
REASONS_BY_CATEGORY: dict[str, dict[str, int]] = {
    "apparel": {"too_small": 34, "too_large": 26, "changed_mind": 14, "not_as_described": 12,
                "wrong_item": 6, "damaged": 4, "late_delivery": 4},
    "footwear": {"too_small": 38, "too_large": 24, "changed_mind": 12, "not_as_described": 10,
                 "damaged": 6, "wrong_item": 6, "late_delivery": 4},
    "electronics": {"defective": 38, "damaged": 14, "not_as_described": 14, "missing_parts": 12,
                    "changed_mind": 12, "wrong_item": 6, "late_delivery": 4},
    "home": {"damaged": 34, "not_as_described": 20, "changed_mind": 18, "defective": 10,
             "missing_parts": 8, "wrong_item": 6, "late_delivery": 4},
    "kitchen": {"defective": 28, "damaged": 26, "not_as_described": 16, "changed_mind": 14,
                "missing_parts": 8, "wrong_item": 5, "late_delivery": 3},
    "sports": {"defective": 26, "not_as_described": 22, "changed_mind": 22, "damaged": 14,
               "wrong_item": 10, "late_delivery": 6},
    "toys": {"missing_parts": 28, "damaged": 24, "changed_mind": 20, "defective": 14,
             "wrong_item": 9, "late_delivery": 5},
}

# what a customer writes with a reason, in their language (English when none matches)
REASON_NOTES: dict[str, dict[str, tuple[str, ...]]] = {
    "too_small": {
        "en": ("Runs a size small, I ordered my usual size.", "Too tight around the shoulders.",
               "Would like one size up please."),
        "nl": ("Valt een maat kleiner dan aangegeven.", "Te krap, graag een maat groter."),
        "de": ("Fällt eine Nummer kleiner aus.", "Zu eng, bitte eine Größe größer."),
    },
    "too_large": {
        "en": ("The size chart says M but it fits like an L.", "Too long in the legs."),
        "nl": ("Veel te ruim, de maattabel klopt niet.", "Pijpen zijn te lang."),
        "de": ("Viel zu weit, die Größentabelle stimmt nicht.",),
    },
    "damaged": {
        "en": ("Box was crushed and the product is cracked.", "Arrived with a big scratch on the front."),
        "nl": ("Doos was ingedeukt, product heeft een barst.", "Kwam aan met een flinke kras."),
        "de": ("Paket war beschädigt, Produkt hat einen Sprung.",),
    },
    "defective": {
        "en": ("Stopped charging after three days.", "Left earbud has no sound.", "Does not switch on."),
        "nl": ("Laadt niet meer op na een week.", "Gaat niet aan.", "Maakt een raar geluid."),
        "de": ("Lässt sich nicht mehr laden.", "Geht nicht an."),
    },
    "wrong_item": {
        "en": ("Received a different colour than ordered.", "Got size 40 instead of 42."),
        "nl": ("Verkeerde kleur ontvangen.", "Ander artikel in de doos dan besteld."),
        "de": ("Falsche Farbe geliefert.",),
    },
    "not_as_described": {
        "en": ("Colour is much darker than on the photos.", "Material feels cheaper than described."),
        "nl": ("Kleur wijkt erg af van de foto's.", "Stof is dunner dan beschreven."),
        "de": ("Farbe weicht stark von den Fotos ab.",),
    },
    "changed_mind": {
        "en": ("Found it cheaper elsewhere.", "Bought it as a gift, they already had one."),
        "nl": ("Toch niet nodig.", "Was een cadeau, maar ze hadden het al."),
        "de": ("Doch nicht benötigt.",),
    },
    "late_delivery": {
        "en": ("Arrived after the birthday it was meant for.",),
        "nl": ("Kwam pas na de verjaardag binnen.",),
        "de": ("Kam zu spät für den Geburtstag.",),
    },
    "missing_parts": {
        "en": ("The charging cable was not in the box.", "Manual and two screws missing."),
        "nl": ("Oplaadkabel zat er niet bij.", "Er ontbreken onderdelen."),
        "de": ("Ladekabel fehlte.",),
    },
}

NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "nl": (
        ("Sanne", "Daan", "Lotte", "Bram", "Emma", "Lucas", "Fleur", "Sem", "Anouk", "Jesse", "Iris",
         "Thijs", "Noor", "Ruben", "Eva", "Lars", "Femke", "Jeroen", "Marieke", "Joost", "Sophie",
         "Milan", "Lieke", "Wouter", "Esther", "Niels", "Julia", "Koen", "Annelies", "Pieter"),
        ("de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
         "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Dijk", "Dekker", "Brouwer",
         "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "Kok", "Jacobs", "van Leeuwen",
         "Willems", "Vermeulen", "van der Linden", "Schouten", "Hoekstra"),
    ),
    "en": (
        ("Oliver", "Amelia", "Harry", "Isla", "Jack", "Olivia", "George", "Ava", "Noah", "Emily",
         "Charlie", "Sophie", "Thomas", "Grace", "James", "Chloe", "William", "Lily", "Daniel", "Hannah"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
         "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
         "Jackson", "Clarke", "O'Brien"),
    ),
    "de": (
        ("Lukas", "Anna", "Leon", "Marie", "Felix", "Sophie", "Jonas", "Lena", "Maximilian", "Hannah",
         "Paul", "Lea", "Finn", "Mia", "Jan", "Katharina", "Tobias", "Julia", "Moritz", "Jürgen"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
         "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
         "Schwarz", "Zimmermann"),
    ),
}
LOCALES = {"nl": 50, "en": 35, "de": 15}
# reserved example domains (RFC 2606), so a demo never mails a real person
MAIL_DOMAINS = ("example.com", "example.net", "example.org")

# the demo staff: an admin, then a lead and a member for each team, in the order of the config
STAFF_NAMES = (
    "Femke Visser", "Sanne Jansen", "Tom Bakker", "Mohamed El Amrani", "Lisa de Boer", "Kees Mulder",
    "Priya Raman", "Joris van Dam", "Eline Smit", "Ahmet Yilmaz", "Nina Kowalski", "Bas Hendriks",
)

CARRIERS: dict[str, dict[str, int]] = {
    "nl": {"PostNL": 60, "DHL": 30, "DPD": 10},
    "de": {"DHL": 55, "DPD": 20, "Hermes": 15, "GLS": 10},
    "en": {"UPS": 45, "DHL Express": 35, "DPD": 20},
}

BLOCK_REASONS: dict[str, tuple[str, ...]] = {
    "new": ("Waiting for photos of the damage from the customer",
            "Order not found in the webshop: asked the customer for the order confirmation",
            "Customer wants an exchange for a size that is out of stock",
            "Third return this month from this address: checking before approving"),
    "approved": ("Pickup failed twice: customer not at home",
                 "Return label bounced: house number missing in the address",
                 "Customer asks for the pickup after their holiday",
                 "Bulky parcel needs a freight pickup: quote requested"),
    "in_transit": ("No tracking updates for 4 days: claim opened with the carrier",
                   "Carrier reports the parcel damaged at the sorting hub",
                   "Parcel sent back to the customer: label unreadable"),
    "received": ("Parcel arrived without the RMA slip: matching it to an order",
                 "Box holds a different product than the one registered",
                 "Waiting for a test charger to check the device"),
    "inspected": ("Missing parts: asked the customer to send the charging case",
                  "Refund above €250 needs a lead's approval",
                  "Customer disputes the deduction for signs of use",
                  "Refund failed at the payment provider: retrying by bank transfer"),
}
GENERIC_BLOCK_REASONS = ("Waiting for the customer to reply", "Needs a decision from the team lead",
                         "Waiting for information from the carrier")

COMMENTS: dict[str, tuple[str, ...]] = {
    "new": ("Called the customer: they would rather have an exchange one size up.",
            "Photos received, the damage is clearly visible on the corner.",
            "First return from this customer, order history looks normal.",
            "Customer wrote in Dutch; replied with the NL template."),
    "approved": ("Label sent by e-mail; the customer drops the parcel at a service point.",
                 "Pickup booked for tomorrow between 9:00 and 13:00.",
                 "Customer lost the label, sent a new one."),
    "in_transit": ("Tracking shows the parcel at the sorting centre.",
                   "Carrier confirms delivery at the warehouse tomorrow.",
                   "Customer asked where the parcel is; pointed them to the status page."),
    "received": ("On the inspection shelf, rack B3.",
                 "Original packaging missing, the product itself looks fine.",
                 "Outer box damaged in transit; photos attached to the carrier claim."),
    "inspected": ("As new, can go back to stock.",
                  "Light scratches on the casing: refund minus 15% as the policy allows.",
                  "Exchange item reserved, ships today.",
                  "Sent the customer the inspection result."),
}
GENERIC_COMMENTS = ("Checked with the customer, all clear.", "Following up tomorrow.",
                    "Discussed in the stand-up, no action needed.")

REJECT_NOTES = ("Item shows clear signs of use", "The hygiene seal is broken",
                "Bought in a physical store: please return it there", "Customer cancelled the return")


# how the open returns' stage clocks should look on the board, with relative weights
CLOCK_STATES = {"on_time": 70, "due_soon": 16, "overdue": 14}


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
    session: Session, workflow: Workflow, *, now: datetime, returns_per_stage: int = 100, seed: int = 42,
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
        add_user(session, email=x.email, name=x.name, password=x.password, role=x.role,
                 team_keys=[x.team] if x.team else [])
        for x in logins
    ]
    seeder = _Seeder(session, workflow, random.Random(seed), now, users)
    seeder.run(returns_per_stage)
    # the history is made up: its handoffs, customer updates and delay alerts must not go out as
    # e-mail or Slack; the alerts it owes count as raised, so only what happens from now on alerts
    session.execute(delete(Notification))
    session.flush()
    while scan_batch(session, workflow, now, quiet=True).checked:
        pass
    return _summarize(session, workflow, logins, now)


class _Seeder:
    """Plans every return's history, then replays all of it through the services in time order."""

    def __init__(self, session: Session, workflow: Workflow, rng: random.Random, now: datetime,
                 users: list[User]) -> None:
        self.session, self.workflow, self.rng, self.now = session, workflow, rng, now
        self.admin = users[0]
        self.by_team: dict[str, list[User]] = {}
        for u in users[1:]:
            for t in u.teams:
                self.by_team.setdefault(t.key, []).append(u)
        policy = workflow.policy
        self.catalogue = [p for p in CATALOGUE if p.sku not in policy.non_returnable_skus
                          and p.category not in policy.non_returnable_categories]
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

    def script(self, plan: _Plan, order: int) -> None:
        rng, wf, session = self.rng, self.workflow, self.session
        add = plan.actions.append
        path, entered, rma = plan.path, plan.entered, plan.rma
        ends = [*entered[1:], self.now]
        draft = self.draft(plan, order)
        direct = path[0] != wf.initial_stage.key  # not reachable by moves: made in place, as an import does
        creator = (Actor.system("Shop import", Channel.API) if direct
                   else Actor.system("Customer portal", Channel.CUSTOMER) if rng.random() < 0.6
                   else Actor.person(self.person(wf.initial_stage.team), Channel.WEB))
        # batch: the database was empty, so the RMAs are new; the next service call's query flushes it
        add((entered[0], _call(svc.create_return, session, wf, creator, draft, now=entered[0],
                               stage_key=path[0] if direct else None, batch=True)))
        for i in range(1, len(path)):
            src, dst = wf.stages[path[i - 1]], wf.stages[path[i]]
            actor = self.actor(dst.team if src.closed else src.team)
            kwargs: dict[str, Any] = {}
            if dst.requires_resolution:
                allowed = {"refund": 60, "exchange": 25, "store_credit": 15}
                kwargs["resolution"] = self.pick({k: allowed.get(k, 10) for k in wf.policy.allowed_resolutions})
            if dst.requires_note:
                kwargs["note"] = rng.choice(
                    (*REJECT_NOTES, f"Outside the {wf.policy.return_window_days}-day return window"))
            if src.key == self.ships_from and not dst.closed:
                carrier = self.pick(CARRIERS[plan.locale])
                at = _between(rng, entered[i - 1], entered[i], 0.3, 0.95)
                add((at, _call(svc.update_shipping, session, wf, actor, rma, carrier=carrier,
                               tracking_number=_tracking(rng, carrier), now=at)))
            add((entered[i], _call(svc.move_return, session, wf, actor, rma, dst.key, now=entered[i], **kwargs)))
        for _ in range(rng.choices((0, 1, 2), weights=(65, 27, 8))[0]):
            i = rng.randrange(len(path))
            if wf.stages[path[i]].closed:
                continue
            at = _between(rng, entered[i], ends[i], 0.05, 0.95)
            text = rng.choice(COMMENTS.get(path[i], GENERIC_COMMENTS))
            add((at, _call(svc.add_comment, session, self.actor(wf.stages[path[i]].team), rma, text, now=at)))
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
            items.append(ItemDraft(sku=p.sku, product_name=p.name, quantity=2 if rng.random() < 0.08 else 1,
                                   unit_price=p.price, reason_code=reason, reason_note=note or "",
                                   category=p.category))
        priority = rng.choices(list(Priority), weights=(10, 75, 12, 3))[0]
        # a draft as a form would send it, so the services check it against the config's rules and policy
        return ReturnDraft(order_number=f"ORD-{order}", customer_name=f"{first} {last}",
                           customer_email=_email(rng, first, last), customer_locale=plan.locale,
                           delivered_on=delivered, items=items, rma=plan.rma, priority=int(priority))

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
    return _subtract_business_hours(end, hours, team)


def _rewind_days(end: datetime, days: float, team: Team | None) -> datetime:
    """`days` working days before `end` on the team's calendar (calendar days without a team)."""
    if team is None:
        return (end - timedelta(days=days)).replace(microsecond=0)
    return _subtract_business_hours(end, days * team.hours_per_day, team)


def _subtract_business_hours(end: datetime, hours: float, team: Team) -> datetime:
    """The moment `hours` of the team's working time before `end`: add_business_hours run backwards."""
    remaining = timedelta(hours=hours)
    cursor = end.astimezone(UTC)
    day = cursor.astimezone(team.timezone).date()
    for _ in range(3 * 366):
        if is_working_day(day, team):
            opens = datetime.combine(day, team.opens, tzinfo=team.timezone).astimezone(UTC)
            closes = datetime.combine(day, team.closes, tzinfo=team.timezone).astimezone(UTC)
            finish = min(cursor, closes)
            if finish > opens:
                if remaining <= finish - opens:
                    return (finish - remaining).replace(microsecond=0)
                remaining -= finish - opens
        day -= timedelta(days=1)
    raise ValueError(f"team {team.key!r} has no working time in the past {3 * 366} days")


def _email(rng: random.Random, first: str, last: str) -> str:
    def ascii_word(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(c for c in plain.lower() if c.isalnum())

    f, la = ascii_word(first), ascii_word(last)
    local = rng.choice((f"{f}.{la}", f"{f}{la}", f"{f[0]}.{la}", f"{f}{rng.randint(10, 99)}", f"{la}.{f}"))
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


def _tracking(rng: random.Random, carrier: str) -> str:
    """A tracking number shaped like the carrier's own."""
    digits = lambda n: "".join(rng.choices("0123456789", k=n))  # noqa: E731
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
        rows = dict(session.execute(select(Return.stage, func.count()).where(*where).group_by(Return.stage)).all())
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
