"""The workflow model: teams, stages, transitions, SLAs, policy and reasons, as frozen values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

RESOLUTIONS = ("refund", "exchange", "store_credit")
CHANNELS = ("email", "slack")
# what a stage may tell the customer: each has its wording in templates/email/_customer_parts.txt and on the status page
CUSTOMER_MESSAGES = ("request_received", "approved", "in_transit", "received", "inspected", "resolved", "rejected")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """The workflow configuration is invalid; `errors` lists every problem with its location."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(self.describe())

    def describe(self) -> str:
        """All errors, one per line, each prefixed with the file it comes from."""
        return "\n".join(f"{self.source}: {e}" for e in self.errors)


@dataclass(frozen=True)
class Sla:
    """How long a return may stay in a stage: business or calendar hours or days."""

    amount: float
    unit: str  # "hours" or "days"
    clock: str  # "business" or "calendar"

    def __str__(self) -> str:
        n = f"{self.amount:g}"
        unit = self.unit if self.amount != 1 else self.unit.rstrip("s")
        return f"{n} {self.clock} {unit}"


@dataclass(frozen=True)
class Team:
    """A team that owns stages, with the calendar its SLA clocks run on."""

    key: str
    name: str
    color: str
    timezone: ZoneInfo
    working_days: frozenset[int]
    opens: time
    closes: time
    holidays: frozenset[date] = frozenset()
    email: str | None = None
    slack_channel: str | None = None
    digest_time: time | None = time(9)  # local time of the daily digest on working days; None: no digest

    @property
    def hours_per_day(self) -> float:
        """Working hours in one working day."""
        return (self.closes.hour * 60 + self.closes.minute - self.opens.hour * 60 - self.opens.minute) / 60


@dataclass(frozen=True)
class Stage:
    """A column of the board: owned by a team, with an SLA, or closed."""

    key: str
    name: str
    team: str | None
    sla: Sla | None
    next: tuple[str, ...]
    wip_limit: int | None = None
    closed: bool = False
    requires_resolution: bool = False
    requires_note: bool = False
    notify: tuple[str, ...] = ()  # channels that tell the owning team when a return is handed to it
    customer_message: str | None = None  # the e-mail the customer gets when a return enters the stage
    # what the stage means to the customer, one of CUSTOMER_MESSAGES: the status page's wording for it
    # (None: the stage's own name); it defaults to customer_message
    customer_status: str | None = None
    # a closed stage that tells the customer why the return was not accepted: a move into it takes one of the
    # configured rejection reasons (whose text the customer reads in their language)
    requires_rejection_reason: bool = False


@dataclass(frozen=True)
class RejectionReason:
    """Why a return was not accepted: the staff's name for it and what the customer reads, in each language."""

    key: str
    label: str  # what the staff choose from (English, like every staff page)
    texts: Mapping[str, str]  # customer language code -> the sentence the customer reads
    note_required: bool = False  # the reason says too little on its own ("other"): a note must say why

    def text(self, lang: str) -> str:
        """The customer's sentence in `lang` (validation makes sure every customer language has one)."""
        return self.texts.get(lang) or self.texts.get("en") or next(iter(self.texts.values()), "")


@dataclass(frozen=True)
class Shop:
    """Where customers send their parcels."""

    # the lines of the address parcels go to (name, street, postcode and town, country); () when not configured
    return_address: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """The shop's return policy."""

    return_window_days: int = 30
    non_returnable_skus: frozenset[str] = frozenset()
    non_returnable_categories: frozenset[str] = frozenset()
    allowed_resolutions: tuple[str, ...] = RESOLUTIONS


@dataclass(frozen=True)
class Alerts:
    """How delay alerts are raised and where escalations go."""

    due_soon_share: float = 0.75  # a stage clock turns "due soon" when this share of its SLA has passed
    escalation_channel: str | None = None  # a Slack channel that also gets every escalation
    escalation_email: str | None = None  # an address that also gets every escalation


@dataclass(frozen=True)
class Workflow:
    """A validated workflow configuration."""

    teams: dict[str, Team]
    stages: dict[str, Stage]
    promise_days: int
    policy: Policy
    reasons: dict[str, str]
    source: str = "<built-in default>"
    alerts: Alerts = field(default_factory=Alerts)
    rejection_reasons: Mapping[str, RejectionReason] = field(default_factory=dict)
    shop: Shop = field(default_factory=Shop)

    @property
    def warnings(self) -> list[str]:
        """What is valid but probably not meant: said by `check-config` and logged when the app starts."""
        out = []
        if not self.shop.return_address and any(s.customer_message == "approved" for s in self.stages.values()):
            out.append(
                "shop.return_address is not set: the approval e-mail and the status page tell customers that the "
                "address to send their parcel to follows separately, so someone must e-mail it to each of them"
            )
        return out

    @property
    def initial_stage(self) -> Stage:
        """The stage every new return starts in (the first one listed)."""
        return next(iter(self.stages.values()))

    @property
    def shop_zone(self) -> ZoneInfo:
        """The shop's time zone: the one of the team that takes new returns in (dates customers see)."""
        team = self.team_of(self.initial_stage.key) if self.stages else None
        return team.timezone if team else ZoneInfo("UTC")

    def today(self, now: datetime) -> date:
        """The shop's date at this moment (not UTC's: just after midnight they differ)."""
        return now.astimezone(self.shop_zone).date()

    @property
    def open_stages(self) -> list[Stage]:
        """Stages with an owner and a clock, in board order."""
        return [s for s in self.stages.values() if not s.closed]

    @property
    def closed_stage_keys(self) -> frozenset[str]:
        """Keys of the stages that close a return."""
        return frozenset(k for k, s in self.stages.items() if s.closed)

    def stage(self, key: str) -> Stage:
        """The stage with this key; KeyError names the known ones."""
        try:
            return self.stages[key]
        except KeyError:
            raise KeyError(f"unknown stage {key!r}; stages are: {', '.join(self.stages)}") from None

    def allows(self, from_stage: str, to_stage: str) -> bool:
        """Whether a return may move straight from one stage to the other."""
        stage = self.stages.get(from_stage)
        return stage is not None and to_stage in stage.next

    def team_of(self, stage_key: str) -> Team | None:
        """The team that owns a stage (None for closed stages)."""
        team = self.stages[stage_key].team
        return self.teams[team] if team else None

    def find_stage(self, text: str, *, prefixes: bool = True) -> Stage:
        """A stage by key, by name, or (`prefixes`) by a unique prefix of either (case-insensitive)."""
        needle = text.strip().lower()
        if needle in self.stages:
            return self.stages[needle]
        matches = [s for s in self.stages.values() if s.name.lower() == needle]
        if not matches and prefixes:
            matches = [s for s in self.stages.values() if s.key.startswith(needle) or s.name.lower().startswith(needle)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise KeyError(f"no stage matches {text!r}; stages are: {', '.join(self.stages)}")
        raise KeyError(f"{text!r} matches several stages: {', '.join(s.key for s in matches)}")
