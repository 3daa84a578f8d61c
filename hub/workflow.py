"""The workflow configuration: teams, stages, transitions, SLAs, policy and reasons, from TOML."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RESOLUTIONS = ("refund", "exchange", "store_credit")
CHANNELS = ("email", "slack")
# customer e-mails there are templates for (templates/email/customer_<key>.*)
CUSTOMER_MESSAGES = ("request_received", "approved", "in_transit", "received", "inspected", "resolved", "rejected")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_SLA_RE = re.compile(
    r"^\s*(?P<amount>-?\d+(?:\.\d+)?)\s+(?:(?P<clock>business|calendar)\s+)?(?P<unit>hours?|days?)\s*$"
)
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


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

    def find_stage(self, text: str) -> Stage:
        """A stage by key, by name, or by a unique prefix of either (case-insensitive)."""
        needle = text.strip().lower()
        if needle in self.stages:
            return self.stages[needle]
        matches = [
            s
            for s in self.stages.values()
            if s.name.lower() == needle
        ] or [
            s
            for s in self.stages.values()
            if s.key.startswith(needle) or s.name.lower().startswith(needle)
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise KeyError(f"no stage matches {text!r}; stages are: {', '.join(self.stages)}")
        raise KeyError(f"{text!r} matches several stages: {', '.join(s.key for s in matches)}")


def load_workflow(path: str | Path | None = None) -> Workflow:
    """Load and validate a workflow file, or the built-in default when path is None."""
    if path is None:
        text = resources.files("hub").joinpath("default_workflow.toml").read_text("utf-8")
        return parse_workflow(text, source="<built-in default>")
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(str(p), [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), [f"the file is not UTF-8 text: {exc}"]) from None
    return parse_workflow(text, source=str(p))


def parse_workflow(text: str, source: str = "<string>") -> Workflow:
    """Parse TOML text into a Workflow, raising ConfigError with every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    return _Validator(source).workflow(data)


class _Validator:
    """Walks the parsed TOML, collecting every error with the key path where it is."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def error(self, loc: str, message: str) -> None:
        self.errors.append(f"{loc}: {message}")

    def unknown_keys(self, table: Mapping[str, Any], allowed: Iterable[str], loc: str) -> None:
        allowed = tuple(allowed)
        for key in table:
            if key not in allowed:
                where = f"{loc}.{key}" if loc else key
                self.error(where, f"unknown key; allowed keys are: {', '.join(allowed)}")

    def get(
        self, table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], loc: str,
        *, required: bool = True, default: Any = None,
    ) -> Any:
        where = f"{loc}.{key}" if loc else key
        if key not in table:
            if required:
                self.error(where, "missing")
            return default
        value = table[key]
        # bool is an int in Python; a TOML boolean is never a valid number here
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.error(where, f"expected {_type_name(kind)}, got a boolean")
            return default
        if not isinstance(value, kind):
            self.error(where, f"expected {_type_name(kind)}, got {_toml_type(value)}")
            return default
        return value

    def str_list(self, table: Mapping[str, Any], key: str, loc: str, *, required: bool = False) -> list[str]:
        value = self.get(table, key, list, loc, required=required, default=[])
        where = f"{loc}.{key}" if loc else key
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(item)
            else:
                self.error(f"{where}[{i}]", f"expected a string, got {_toml_type(item)}")
        return out

    def workflow(self, data: dict[str, Any]) -> Workflow:
        self.unknown_keys(data, ("promise_days", "teams", "stages", "policy", "reasons", "alerts"), "")
        promise = self.get(data, "promise_days", int, "", required=False, default=14)
        if isinstance(promise, int) and promise <= 0:
            self.error("promise_days", f"must be a positive number of days, got {promise}")
        teams = self.teams(data)
        stages = self.stages(data, teams)
        policy = self.policy(data)
        reasons = self.reasons(data)
        alerts = self.alerts(data)
        if self.errors:
            raise ConfigError(self.source, self.errors)
        return Workflow(teams, stages, promise, policy, reasons, self.source, alerts)

    def teams(self, data: dict[str, Any]) -> dict[str, Team]:
        raw = self.get(data, "teams", dict, "")
        if raw is None:
            return {}
        if not raw:
            self.error("teams", "at least one team is needed")
        teams: dict[str, Team] = {}
        allowed = ("name", "color", "timezone", "working_days", "working_hours", "holidays",
                   "email", "slack_channel", "digest_time")
        for key, t in raw.items():
            loc = f"teams.{key}"
            if not isinstance(t, dict):
                self.error(loc, f"expected a table, got {_toml_type(t)}")
                continue
            if not _KEY_RE.match(key):
                self.error(loc, "a team key uses lowercase letters, digits and _ and starts with a letter")
            self.unknown_keys(t, allowed, loc)
            name = self.get(t, "name", str, loc) or key
            color = self.get(t, "color", str, loc, required=False, default="#64748b")
            if color is not None and not _COLOR_RE.match(color):
                self.error(f"{loc}.color", f"expected a colour like \"#2563eb\", got {color!r}")
            tz_name = self.get(t, "timezone", str, loc, required=False, default="UTC")
            tz = ZoneInfo("UTC")
            if tz_name is not None:
                try:
                    tz = ZoneInfo(tz_name)
                except (ZoneInfoNotFoundError, ValueError):
                    self.error(f"{loc}.timezone",
                               f"unknown time zone {tz_name!r} (use an IANA name like \"Europe/Amsterdam\")")
            days = self.str_list(t, "working_days", loc) if "working_days" in t else list(WEEKDAYS[:5])
            bad = [d for d in days if d not in WEEKDAYS]
            if bad:
                self.error(f"{loc}.working_days",
                           f"unknown day(s) {', '.join(map(repr, bad))}; use {', '.join(WEEKDAYS)}")
            elif not days and isinstance(t.get("working_days"), list):
                self.error(f"{loc}.working_days", "at least one working day is needed")
            hours = self.str_list(t, "working_hours", loc) if "working_hours" in t else ["09:00", "17:00"]
            opens, closes = time(9), time(17)
            if not isinstance(t.get("working_hours", []), list):
                pass  # str_list has reported the wrong type
            elif len(hours) != 2 or not all(_TIME_RE.match(h) for h in hours):
                self.error(f"{loc}.working_hours", f"expected [\"HH:MM\", \"HH:MM\"], got {hours!r}")
            else:
                opens, closes = (time(int(h[:2]), int(h[3:])) for h in hours)
                if opens >= closes:
                    self.error(f"{loc}.working_hours",
                               f"the day must open before it closes, got {hours[0]} to {hours[1]}")
            holidays: set[date] = set()
            for i, h in enumerate(self.get(t, "holidays", list, loc, required=False, default=[])):
                if isinstance(h, datetime):  # a subclass of date that would never equal a day
                    self.error(f"{loc}.holidays[{i}]", f"expected a date like 2026-12-25, got a date and time ({h})")
                elif isinstance(h, date):
                    holidays.add(h)
                elif isinstance(h, str):
                    try:
                        holidays.add(date.fromisoformat(h))
                    except ValueError:
                        self.error(f"{loc}.holidays[{i}]", f"expected a date like 2026-12-25, got {h!r}")
                else:
                    self.error(f"{loc}.holidays[{i}]", f"expected a date like 2026-12-25, got {_toml_type(h)}")
            email = self.get(t, "email", str, loc, required=False)
            if email is not None and "@" not in email:
                self.error(f"{loc}.email", f"not an e-mail address: {email!r}")
            channel = self.get(t, "slack_channel", str, loc, required=False)
            digest: time | None = time(9)
            raw_digest = t.get("digest_time", "09:00")
            if raw_digest is False or raw_digest == "":
                digest = None
            elif isinstance(raw_digest, str) and _TIME_RE.match(raw_digest):
                digest = time(int(raw_digest[:2]), int(raw_digest[3:]))
            else:
                self.error(f"{loc}.digest_time",
                           f"expected a local time like \"09:00\", or false for no digest, got {raw_digest!r}")
            teams[key] = Team(
                key, name, color or "#64748b", tz,
                frozenset(WEEKDAYS.index(d) for d in days if d in WEEKDAYS),
                opens, closes, frozenset(holidays), email, channel, digest,
            )
        return teams

    def stages(self, data: dict[str, Any], teams: dict[str, Team]) -> dict[str, Stage]:
        raw = self.get(data, "stages", list, "")
        if raw is None:
            return {}
        stages: dict[str, Stage] = {}
        pending_next: list[tuple[str, str, list[str]]] = []
        allowed = ("key", "name", "team", "sla", "wip_limit", "next", "closed",
                   "requires_resolution", "requires_note", "notify", "customer_message")
        for i, s in enumerate(raw):
            loc = f"stages[{i}]"
            if not isinstance(s, dict):
                self.error(loc, f"expected a table ([[stages]]), got {_toml_type(s)}")
                continue
            key = self.get(s, "key", str, loc)
            if key is not None:
                loc = f"stages[{i}] ({key})"
                if not _KEY_RE.match(key):
                    self.error(f"{loc}.key",
                               "a stage key uses lowercase letters, digits and _ and starts with a letter")
                if key in stages:
                    self.error(f"{loc}.key", f"duplicate stage key {key!r}")
            self.unknown_keys(s, allowed, loc)
            name = self.get(s, "name", str, loc) or key or "?"
            closed = self.get(s, "closed", bool, loc, required=False, default=False)
            team = self.get(s, "team", str, loc, required=not closed)
            sla = None
            wip = self.get(s, "wip_limit", int, loc, required=False)
            if wip is not None and wip <= 0:
                self.error(f"{loc}.wip_limit", f"must be a positive number (leave it out for no limit), got {wip}")
                wip = None
            if closed:
                for k in ("team", "sla", "wip_limit"):
                    if k in s:
                        self.error(f"{loc}.{k}", "a closed stage has no team, SLA or WIP limit")
                team = None
            else:
                if team is not None and team not in teams and teams:
                    self.error(f"{loc}.team", f"unknown team {team!r}; teams are: {', '.join(teams)}")
                sla = self.sla(s, loc)
                for k in ("requires_resolution", "requires_note"):
                    if s.get(k):
                        self.error(f"{loc}.{k}", "only a closed stage can require this")
            nxt = self.str_list(s, "next", loc, required=False)
            rr = self.get(s, "requires_resolution", bool, loc, required=False, default=False)
            rn = self.get(s, "requires_note", bool, loc, required=False, default=False)
            notify = self.notify(s, loc, teams.get(team) if team else None, closed)
            message = self.get(s, "customer_message", str, loc, required=False)
            if message is not None and message not in CUSTOMER_MESSAGES:
                self.error(f"{loc}.customer_message",
                           f"unknown customer message {message!r}; messages are: {', '.join(CUSTOMER_MESSAGES)}")
            if key is None or key in stages:
                continue
            stages[key] = Stage(key, name, team, sla, tuple(nxt), wip, bool(closed), bool(rr), bool(rn),
                                notify, message)
            pending_next.append((key, loc, nxt))
        for key, loc, nxt in pending_next:
            for j, target in enumerate(nxt):
                if target not in stages:
                    self.error(f"{loc}.next[{j}]",
                               f"transition to a missing stage {target!r}; stages are: {', '.join(stages)}")
                elif target == key:
                    self.error(f"{loc}.next[{j}]", "a stage cannot move to itself")
                elif target in nxt[:j]:
                    self.error(f"{loc}.next[{j}]", f"{target!r} is listed twice")
            if not nxt and not stages[key].closed:
                self.error(f"{loc}.next",
                           "an open stage needs at least one next stage, or its returns could never leave it")
        if stages:
            first = next(iter(stages.values()))
            if first.closed:
                self.error("stages[0]", "the first stage is where new returns start; it cannot be closed")
            if not any(s.closed for s in stages.values()):
                self.error("stages", "at least one closed stage (closed = true) is needed to finish a return")
        elif raw is not None:
            self.error("stages", "at least one stage is needed")
        return stages

    def notify(self, s: dict[str, Any], loc: str, team: Team | None, closed: bool) -> tuple[str, ...]:
        """The handoff channels: as listed, else every channel the owning team has an address for."""
        addresses = {"email": team.email, "slack": team.slack_channel} if team else {}
        if "notify" not in s:
            return tuple(c for c in CHANNELS if addresses.get(c))
        channels = self.str_list(s, "notify", loc)
        if closed and channels:
            self.error(f"{loc}.notify", "a closed stage has no team to notify")
            return ()
        for j, c in enumerate(channels):
            if c not in CHANNELS:
                self.error(f"{loc}.notify[{j}]", f"unknown channel {c!r}; channels are: {', '.join(CHANNELS)}")
            elif team is not None and not addresses[c]:
                what = "email" if c == "email" else "slack_channel"
                self.error(f"{loc}.notify[{j}]",
                           f"team {team.key!r} has no {what.replace('_', ' ')}: set teams.{team.key}.{what}")
        return tuple(dict.fromkeys(c for c in channels if c in CHANNELS))

    def alerts(self, data: dict[str, Any]) -> Alerts:
        raw = self.get(data, "alerts", dict, "", required=False, default={})
        if raw is None:
            return Alerts()
        loc = "alerts"
        self.unknown_keys(raw, ("due_soon_share", "escalation_channel", "escalation_email"), loc)
        share = self.get(raw, "due_soon_share", (float, int), loc, required=False, default=0.75)
        if share is not None and not 0 < share < 1:
            self.error(f"{loc}.due_soon_share", f"must be between 0 and 1 (e.g. 0.75), got {share}")
            share = 0.75
        channel = self.get(raw, "escalation_channel", str, loc, required=False)
        email = self.get(raw, "escalation_email", str, loc, required=False)
        if email is not None and "@" not in email:
            self.error(f"{loc}.escalation_email", f"not an e-mail address: {email!r}")
        return Alerts(float(share if share is not None else 0.75), channel or None, email or None)

    def sla(self, s: dict[str, Any], loc: str) -> Sla | None:
        text = self.get(s, "sla", str, loc)
        if text is None:
            return None
        m = _SLA_RE.match(text.lower())
        if not m:
            self.error(f"{loc}.sla",
                       f"expected e.g. \"1 business day\", \"5 calendar days\" or \"4 business hours\", got {text!r}")
            return None
        amount = float(m["amount"])
        if amount <= 0:
            self.error(f"{loc}.sla", f"an SLA must be positive, got {text!r}")
            return None
        unit = m["unit"] if m["unit"].endswith("s") else m["unit"] + "s"
        return Sla(amount, unit, m["clock"] or "calendar")

    def policy(self, data: dict[str, Any]) -> Policy:
        raw = self.get(data, "policy", dict, "", required=False, default={})
        if raw is None:
            return Policy()
        loc = "policy"
        self.unknown_keys(raw, ("return_window_days", "non_returnable_skus", "non_returnable_categories",
                                "allowed_resolutions"), loc)
        window = self.get(raw, "return_window_days", int, loc, required=False, default=30)
        if isinstance(window, int) and window < 0:
            self.error(f"{loc}.return_window_days", f"cannot be negative, got {window}")
        skus = self.str_list(raw, "non_returnable_skus", loc)
        cats = self.str_list(raw, "non_returnable_categories", loc)
        res = self.str_list(raw, "allowed_resolutions", loc) if "allowed_resolutions" in raw else list(RESOLUTIONS)
        bad = [r for r in res if r not in RESOLUTIONS]
        if bad:
            self.error(f"{loc}.allowed_resolutions",
                       f"unknown resolution(s) {', '.join(map(repr, bad))}; use {', '.join(RESOLUTIONS)}")
        elif not res:
            self.error(f"{loc}.allowed_resolutions", "at least one resolution is needed")
        return Policy(window or 0, frozenset(s.upper() for s in skus), frozenset(c.lower() for c in cats), tuple(res))

    def reasons(self, data: dict[str, Any]) -> dict[str, str]:
        raw = self.get(data, "reasons", list, "", required=False, default=[])
        reasons: dict[str, str] = {}
        for i, r in enumerate(raw or []):
            loc = f"reasons[{i}]"
            if not isinstance(r, dict):
                self.error(loc, f"expected a table ([[reasons]]), got {_toml_type(r)}")
                continue
            self.unknown_keys(r, ("code", "label"), loc)
            code = self.get(r, "code", str, loc)
            label = self.get(r, "label", str, loc)
            if code is None:
                continue
            if not _KEY_RE.match(code):
                self.error(f"{loc}.code", "a reason code uses lowercase letters, digits and _ and starts with a letter")
            if code in reasons:
                self.error(f"{loc}.code", f"duplicate reason code {code!r}")
            reasons[code] = label or code
        if raw is not None and not reasons and not any(e.startswith("reasons") for e in self.errors):
            self.error("reasons", "at least one return reason is needed")
        return reasons


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "an array", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
