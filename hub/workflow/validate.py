"""Validation of the workflow TOML: every error is collected with the key path where it is."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.core.addresses import is_one_address, is_several
from hub.core.config import CUSTOMER_LANGUAGES
from hub.workflow.model import (
    CHANNELS,
    CUSTOMER_MESSAGES,
    RESOLUTIONS,
    WEEKDAYS,
    Alerts,
    ConfigError,
    Policy,
    RejectionReason,
    Shop,
    Sla,
    Stage,
    Team,
    Workflow,
)

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_SLA_RE = re.compile(
    r"^\s*(?P<amount>-?\d+(?:\.\d+)?)\s+(?:(?P<clock>business|calendar)\s+)?(?P<unit>hours?|days?)\s*$"
)
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_DEFAULT_COLOR = "#64748b"
_TEAM_KEYS = (
    "name",
    "color",
    "timezone",
    "working_days",
    "working_hours",
    "holidays",
    "email",
    "slack_channel",
    "digest_time",
)
_STAGE_KEYS = (
    "key",
    "name",
    "team",
    "sla",
    "wip_limit",
    "next",
    "closed",
    "requires_resolution",
    "requires_note",
    "notify",
    "customer_message",
    "customer_status",
    "requires_rejection_reason",
)
_REJECTION_REASON_KEYS = ("key", "label", "text", "note_required")
_MAX_CUSTOMER_TEXT = 1000
_MAX_ADDRESS_LINES = 8
_MAX_ADDRESS_LINE = 100


class Validator:
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
        self,
        table: Mapping[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        loc: str,
        *,
        required: bool = True,
        default: Any = None,
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
        self.unknown_keys(
            data, ("promise_days", "teams", "stages", "policy", "reasons", "rejection_reasons", "alerts", "shop"), ""
        )
        promise = self.get(data, "promise_days", int, "", required=False, default=14)
        if isinstance(promise, int) and promise <= 0:
            self.error("promise_days", f"must be a positive number of days, got {promise}")
        teams = self.teams(data)
        stages = self.stages(data, teams)
        policy = self.policy(data)
        reasons = self.reasons(data)
        rejection_reasons = self.rejection_reasons(data, stages)
        alerts = self.alerts(data)
        shop = self.shop(data)
        if self.errors:
            raise ConfigError(self.source, self.errors)
        return Workflow(
            teams, stages, promise, policy, reasons, self.source, alerts, rejection_reasons=rejection_reasons, shop=shop
        )

    def teams(self, data: dict[str, Any]) -> dict[str, Team]:
        raw = self.get(data, "teams", dict, "")
        if raw is None:
            return {}
        if not raw:
            self.error("teams", "at least one team is needed")
        teams: dict[str, Team] = {}
        for key, t in raw.items():
            team = self._team(key, t, f"teams.{key}")
            if team is not None:
                teams[key] = team
        return teams

    def _team(self, key: str, t: Any, loc: str) -> Team | None:
        """One [teams.<key>] table, or None when it is not a table."""
        if not isinstance(t, dict):
            self.error(loc, f"expected a table, got {_toml_type(t)}")
            return None
        if not _KEY_RE.match(key):
            self.error(loc, "a team key uses lowercase letters, digits and _ and starts with a letter")
        self.unknown_keys(t, _TEAM_KEYS, loc)
        name = self.get(t, "name", str, loc) or key
        color = self._color(t, loc)
        tz = self._timezone(t, loc)
        days = self._working_days(t, loc)
        opens, closes = self._working_hours(t, loc)
        holidays = self._holidays(t, loc)
        email = self._email(t, "email", loc)
        channel = self.get(t, "slack_channel", str, loc, required=False)
        digest = self._digest_time(t, loc)
        return Team(key, name, color, tz, days, opens, closes, holidays, email, channel, digest)

    def _color(self, t: dict[str, Any], loc: str) -> str:
        color = self.get(t, "color", str, loc, required=False, default=_DEFAULT_COLOR)
        if color is not None and not _COLOR_RE.match(color):
            self.error(f"{loc}.color", f'expected a colour like "#2563eb", got {color!r}')
        return color or _DEFAULT_COLOR

    def _timezone(self, t: dict[str, Any], loc: str) -> ZoneInfo:
        tz_name = self.get(t, "timezone", str, loc, required=False, default="UTC")
        if tz_name is None:
            return ZoneInfo("UTC")
        try:
            return ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            self.error(f"{loc}.timezone", f'unknown time zone {tz_name!r} (use an IANA name like "Europe/Amsterdam")')
            return ZoneInfo("UTC")

    def _working_days(self, t: dict[str, Any], loc: str) -> frozenset[int]:
        """The working days as weekday numbers (Monday is 0); Monday to Friday when left out."""
        days = self.str_list(t, "working_days", loc) if "working_days" in t else list(WEEKDAYS[:5])
        bad = [d for d in days if d not in WEEKDAYS]
        if bad:
            self.error(f"{loc}.working_days", f"unknown day(s) {', '.join(map(repr, bad))}; use {', '.join(WEEKDAYS)}")
        elif not days and isinstance(t.get("working_days"), list):
            self.error(f"{loc}.working_days", "at least one working day is needed")
        return frozenset(WEEKDAYS.index(d) for d in days if d in WEEKDAYS)

    def _working_hours(self, t: dict[str, Any], loc: str) -> tuple[time, time]:
        """When the working day opens and closes; 09:00 to 17:00 when left out or invalid."""
        hours = self.str_list(t, "working_hours", loc) if "working_hours" in t else ["09:00", "17:00"]
        if not isinstance(t.get("working_hours", []), list):
            return time(9), time(17)  # str_list has reported the wrong type
        if len(hours) != 2 or not all(_TIME_RE.match(h) for h in hours):
            self.error(f"{loc}.working_hours", f'expected ["HH:MM", "HH:MM"], got {hours!r}')
            return time(9), time(17)
        opens, closes = _clock_time(hours[0]), _clock_time(hours[1])
        if opens >= closes:
            self.error(f"{loc}.working_hours", f"the day must open before it closes, got {hours[0]} to {hours[1]}")
        return opens, closes

    def _holidays(self, t: dict[str, Any], loc: str) -> frozenset[date]:
        holidays: set[date] = set()
        for i, h in enumerate(self.get(t, "holidays", list, loc, required=False, default=[])):
            day = self._holiday(h, f"{loc}.holidays[{i}]")
            if day is not None:
                holidays.add(day)
        return frozenset(holidays)

    def _holiday(self, h: Any, loc: str) -> date | None:
        """One holidays entry: a TOML date or an ISO date string."""
        if isinstance(h, datetime):  # a subclass of date that would never equal a day
            self.error(loc, f"expected a date like 2026-12-25, got a date and time ({h})")
            return None
        if isinstance(h, date):
            return h
        if isinstance(h, str):
            try:
                return date.fromisoformat(h)
            except ValueError:
                self.error(loc, f"expected a date like 2026-12-25, got {h!r}")
                return None
        self.error(loc, f"expected a date like 2026-12-25, got {_toml_type(h)}")
        return None

    def _email(self, table: dict[str, Any], key: str, loc: str) -> str | None:
        email: str | None = self.get(table, key, str, loc, required=False)
        if email is not None and is_several(email):
            self.error(f"{loc}.{key}", f"more than one address: {email!r}; give exactly one")
        elif email is not None and not is_one_address(email):
            self.error(f"{loc}.{key}", f"not an e-mail address: {email!r}")
        return email

    def _digest_time(self, t: dict[str, Any], loc: str) -> time | None:
        """When the team's daily digest goes out; None (false or "") for no digest, 09:00 when invalid."""
        raw = t.get("digest_time", "09:00")
        if raw is False or raw == "":
            return None
        if isinstance(raw, str) and _TIME_RE.match(raw):
            return _clock_time(raw)
        self.error(f"{loc}.digest_time", f'expected a local time like "09:00", or false for no digest, got {raw!r}')
        return time(9)

    def stages(self, data: dict[str, Any], teams: dict[str, Team]) -> dict[str, Stage]:
        raw = self.get(data, "stages", list, "")
        if raw is None:
            return {}
        stages: dict[str, Stage] = {}
        locs: dict[str, str] = {}
        for i, s in enumerate(raw):
            stage = self._stage(i, s, teams, stages)
            if stage is not None:
                stages[stage.key] = stage
                locs[stage.key] = _stage_loc(i, stage.key)
        for key, loc in locs.items():
            self._transitions(stages[key], loc, stages)
        self._stage_set(stages)
        return stages

    def _stage(self, i: int, s: Any, teams: dict[str, Team], stages: dict[str, Stage]) -> Stage | None:
        """One [[stages]] table, or None when it is not a table, has no key or repeats one."""
        loc = f"stages[{i}]"
        if not isinstance(s, dict):
            self.error(loc, f"expected a table ([[stages]]), got {_toml_type(s)}")
            return None
        key = self.get(s, "key", str, loc)
        if key is not None:
            loc = _stage_loc(i, key)
            self._stage_key(key, loc, stages)
        self.unknown_keys(s, _STAGE_KEYS, loc)
        name = self.get(s, "name", str, loc) or key or "?"
        closed = bool(self.get(s, "closed", bool, loc, required=False, default=False))
        team = self.get(s, "team", str, loc, required=not closed)
        wip = self._wip_limit(s, loc)
        sla = None
        if closed:
            self._closed_stage(s, loc)
            team = None
        else:
            sla = self._open_stage(s, loc, team, teams)
        nxt = self.str_list(s, "next", loc, required=False)
        rr = self.get(s, "requires_resolution", bool, loc, required=False, default=False)
        rn = self.get(s, "requires_note", bool, loc, required=False, default=False)
        rrr = self.get(s, "requires_rejection_reason", bool, loc, required=False, default=False)
        notify = self.notify(s, loc, teams.get(team) if team else None, closed)
        message = self._customer_text(s, "customer_message", loc)
        status = self._customer_text(s, "customer_status", loc) or message
        if key is None or key in stages:
            return None
        return Stage(
            key, name, team, sla, tuple(nxt), wip, closed, bool(rr), bool(rn), notify, message, status, bool(rrr)
        )

    def _stage_key(self, key: str, loc: str, stages: dict[str, Stage]) -> None:
        if not _KEY_RE.match(key):
            self.error(f"{loc}.key", "a stage key uses lowercase letters, digits and _ and starts with a letter")
        if key in stages:
            self.error(f"{loc}.key", f"duplicate stage key {key!r}")

    def _wip_limit(self, s: dict[str, Any], loc: str) -> int | None:
        wip: int | None = self.get(s, "wip_limit", int, loc, required=False)
        if wip is not None and wip <= 0:
            self.error(f"{loc}.wip_limit", f"must be a positive number (leave it out for no limit), got {wip}")
            return None
        return wip

    def _closed_stage(self, s: dict[str, Any], loc: str) -> None:
        """A closed stage has no team, SLA or WIP limit."""
        for k in ("team", "sla", "wip_limit"):
            if k in s:
                self.error(f"{loc}.{k}", "a closed stage has no team, SLA or WIP limit")

    def _open_stage(self, s: dict[str, Any], loc: str, team: str | None, teams: dict[str, Team]) -> Sla | None:
        """An open stage's team must exist and it cannot require a resolution or note; returns its SLA."""
        if team is not None and team not in teams and teams:
            self.error(f"{loc}.team", f"unknown team {team!r}; teams are: {', '.join(teams)}")
        sla = self.sla(s, loc)
        for k in ("requires_resolution", "requires_note", "requires_rejection_reason"):
            if s.get(k):
                self.error(f"{loc}.{k}", "only a closed stage can require this")
        return sla

    def _customer_text(self, s: dict[str, Any], field: str, loc: str) -> str | None:
        """`customer_message` or `customer_status`: one of the wordings customers are written in."""
        value: str | None = self.get(s, field, str, loc, required=False)
        if value is not None and value not in CUSTOMER_MESSAGES:
            self.error(
                f"{loc}.{field}", f"unknown customer message {value!r}; messages are: {', '.join(CUSTOMER_MESSAGES)}"
            )
            return None
        return value

    def _transitions(self, stage: Stage, loc: str, stages: dict[str, Stage]) -> None:
        """A stage's next stages exist, are not itself and are listed once; an open stage has at least one."""
        nxt = stage.next
        for j, target in enumerate(nxt):
            if target not in stages:
                self.error(
                    f"{loc}.next[{j}]", f"transition to a missing stage {target!r}; stages are: {', '.join(stages)}"
                )
            elif target == stage.key:
                self.error(f"{loc}.next[{j}]", "a stage cannot move to itself")
            elif target in nxt[:j]:
                self.error(f"{loc}.next[{j}]", f"{target!r} is listed twice")
        if not nxt and not stage.closed:
            self.error(
                f"{loc}.next", "an open stage needs at least one next stage, or its returns could never leave it"
            )

    def _stage_set(self, stages: dict[str, Stage]) -> None:
        """The stages as a whole: new returns start in an open stage and can finish in a closed one."""
        if not stages:
            self.error("stages", "at least one stage is needed")
            return
        if next(iter(stages.values())).closed:
            self.error("stages[0]", "the first stage is where new returns start; it cannot be closed")
        if not any(s.closed for s in stages.values()):
            self.error("stages", "at least one closed stage (closed = true) is needed to finish a return")

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
                self.error(
                    f"{loc}.notify[{j}]",
                    f"team {team.key!r} has no {what.replace('_', ' ')}: set teams.{team.key}.{what}",
                )
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
        email = self._email(raw, "escalation_email", loc)
        return Alerts(float(share if share is not None else 0.75), channel or None, email or None)

    def sla(self, s: dict[str, Any], loc: str) -> Sla | None:
        text = self.get(s, "sla", str, loc)
        if text is None:
            return None
        m = _SLA_RE.match(text.lower())
        if not m:
            self.error(
                f"{loc}.sla", f'expected e.g. "1 business day", "5 calendar days" or "4 business hours", got {text!r}'
            )
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
        self.unknown_keys(
            raw, ("return_window_days", "non_returnable_skus", "non_returnable_categories", "allowed_resolutions"), loc
        )
        window = self.get(raw, "return_window_days", int, loc, required=False, default=30)
        if isinstance(window, int) and window < 0:
            self.error(f"{loc}.return_window_days", f"cannot be negative, got {window}")
        skus = self.str_list(raw, "non_returnable_skus", loc)
        cats = self.str_list(raw, "non_returnable_categories", loc)
        res = self.str_list(raw, "allowed_resolutions", loc) if "allowed_resolutions" in raw else list(RESOLUTIONS)
        bad = [r for r in res if r not in RESOLUTIONS]
        if bad:
            self.error(
                f"{loc}.allowed_resolutions",
                f"unknown resolution(s) {', '.join(map(repr, bad))}; use {', '.join(RESOLUTIONS)}",
            )
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

    def rejection_reasons(self, data: dict[str, Any], stages: dict[str, Stage]) -> dict[str, RejectionReason]:
        """The [[rejection_reasons]]: a key, the staff's label and the customer's text in every customer language."""
        raw = self.get(data, "rejection_reasons", list, "", required=False, default=[])
        out: dict[str, RejectionReason] = {}
        for i, r in enumerate(raw or []):
            loc = f"rejection_reasons[{i}]"
            if not isinstance(r, dict):
                self.error(loc, f"expected a table ([[rejection_reasons]]), got {_toml_type(r)}")
                continue
            key = self.get(r, "key", str, loc)
            if key is not None:
                loc = f"{loc} ({key})"
                if not _KEY_RE.match(key):
                    self.error(
                        f"{loc}.key", "a reason key uses lowercase letters, digits and _ and starts with a letter"
                    )
                elif key in out:
                    self.error(f"{loc}.key", f"duplicate rejection reason key {key!r}")
            self.unknown_keys(r, _REJECTION_REASON_KEYS, loc)
            label = self.get(r, "label", str, loc)
            if label is not None and not label.strip():
                self.error(f"{loc}.label", "must not be empty: it is what the staff choose from")
            texts = self._customer_texts(r, loc)
            note_required = self.get(r, "note_required", bool, loc, required=False, default=False)
            if key is not None and key not in out:
                out[key] = RejectionReason(key, (label or key).strip(), texts, bool(note_required))
        needing = [k for k, s in stages.items() if s.requires_rejection_reason]
        if needing and not out and not any(e.startswith("rejection_reasons") for e in self.errors):
            self.error(
                "rejection_reasons",
                f"stage {needing[0]!r} requires a rejection reason, so at least one [[rejection_reasons]] is needed",
            )
        return out

    def _customer_texts(self, r: dict[str, Any], loc: str) -> dict[str, str]:
        """A `text` table with the customer's sentence in every customer language, and in no other."""
        texts = self.get(r, "text", dict, loc, default={}) or {}
        out: dict[str, str] = {}
        langs = ", ".join(CUSTOMER_LANGUAGES)
        for lang, text in texts.items():
            where = f"{loc}.text.{lang}"
            if lang not in CUSTOMER_LANGUAGES:
                self.error(where, f"{lang!r} is not a customer language; customer languages are: {langs}")
            elif not isinstance(text, str):
                self.error(where, f"expected a string, got {_toml_type(text)}")
            elif not text.strip():
                self.error(where, "must not be empty: it is what the customer reads")
            elif len(text) > _MAX_CUSTOMER_TEXT:
                self.error(where, f"at most {_MAX_CUSTOMER_TEXT} characters (got {len(text)})")
            else:
                out[lang] = text.strip()
        if isinstance(r.get("text"), dict):
            for lang, name in CUSTOMER_LANGUAGES.items():
                if lang not in texts:
                    self.error(
                        f"{loc}.text.{lang}",
                        f"missing: customers who read {name} get this reason, so it needs a text in {lang} "
                        f"(every customer language needs one: {langs})",
                    )
        return out

    def shop(self, data: dict[str, Any]) -> Shop:
        """[shop]: the address customers send their parcels to."""
        raw = self.get(data, "shop", dict, "", required=False, default={})
        if raw is None:
            return Shop()
        loc = "shop"
        self.unknown_keys(raw, ("return_address",), loc)
        if "return_address" not in raw:
            return Shop()
        lines = self.str_list(raw, "return_address", loc)
        where = f"{loc}.return_address"
        for j, line in enumerate(lines):
            if not line.strip():
                self.error(f"{where}[{j}]", "an address line must not be empty (leave the line out)")
            elif len(line) > _MAX_ADDRESS_LINE:
                self.error(f"{where}[{j}]", f"at most {_MAX_ADDRESS_LINE} characters (got {len(line)})")
        if isinstance(raw["return_address"], list) and not 3 <= len(lines) <= _MAX_ADDRESS_LINES:
            self.error(
                where,
                f"expected the address in 3 to {_MAX_ADDRESS_LINES} lines (name, street, postcode and town, country), "
                f"got {len(lines)}",
            )
        return Shop(tuple(line.strip() for line in lines))


def _stage_loc(i: int, key: str) -> str:
    return f"stages[{i}] ({key})"


def _clock_time(text: str) -> time:
    """An "HH:MM" already matched by _TIME_RE."""
    return time(int(text[:2]), int(text[3:]))


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "an array",
        dict: "a table",
    }
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
