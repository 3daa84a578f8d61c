"""SLA clocks: due times in calendar time or in a team's business hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hub.workflow.model import Sla, Team

_MAX_DAYS = 3 * 366  # a calendar with almost no working days still ends the search


def due_at(start: datetime, sla: Sla, team: Team) -> datetime:
    """When a return entering a stage at `start` (UTC) is due, on the owning team's calendar."""
    if sla.clock == "calendar":
        delta = timedelta(days=sla.amount) if sla.unit == "days" else timedelta(hours=sla.amount)
        # in UTC: aware datetimes sharing a zone add and subtract by the wall clock, not elapsed time
        return start.astimezone(UTC) + delta
    hours = sla.amount * team.hours_per_day if sla.unit == "days" else sla.amount
    return add_business_hours(start, hours, team)


def due_soon_at(start: datetime, sla: Sla, team: Team, share: float) -> datetime:
    """When `share` of the SLA has passed, on the same clock (so business-hour SLAs count working time)."""
    return due_at(start, Sla(sla.amount * share, sla.unit, sla.clock), team)


def is_working_day(day: date, team: Team) -> bool:
    """Whether the team works on this local date."""
    return day.weekday() in team.working_days and day not in team.holidays


def _window(day: date, team: Team) -> tuple[datetime, datetime]:
    tz = team.timezone
    opens = datetime.combine(day, team.opens, tzinfo=tz).astimezone(UTC)
    closes = datetime.combine(day, team.closes, tzinfo=tz).astimezone(UTC)
    return opens, closes


def add_business_hours(start: datetime, hours: float, team: Team) -> datetime:
    """The moment `hours` of the team's working time after `start` have passed (UTC)."""
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(UTC)
    day = cursor.astimezone(team.timezone).date()
    for _ in range(_MAX_DAYS):
        if is_working_day(day, team):
            opens, closes = _window(day, team)
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError(f"team {team.key!r} has no working time in the next {_MAX_DAYS} days")


def subtract_business_hours(end: datetime, hours: float, team: Team) -> datetime:
    """The moment `hours` of the team's working time before `end`: add_business_hours run backwards (UTC)."""
    remaining = timedelta(hours=hours)
    cursor = end.astimezone(UTC)
    day = cursor.astimezone(team.timezone).date()
    for _ in range(_MAX_DAYS):
        if is_working_day(day, team):
            opens, closes = _window(day, team)
            finish = min(cursor, closes)
            if finish > opens:
                if remaining <= finish - opens:
                    return (finish - remaining).replace(microsecond=0)
                remaining -= finish - opens
        day -= timedelta(days=1)
    raise ValueError(f"team {team.key!r} has no working time in the past {_MAX_DAYS} days")


def business_hours_between(start: datetime, end: datetime, team: Team) -> float:
    """Working hours of the team between two moments (0 when end is before start)."""
    if end <= start:
        return 0.0
    # in UTC: two aware datetimes sharing a zone subtract by the wall clock, not elapsed time
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta()
    day = start.astimezone(team.timezone).date()
    last = end.astimezone(team.timezone).date()
    while day <= last:
        if is_working_day(day, team):
            opens, closes = _window(day, team)
            lo, hi = max(start, opens), min(end, closes)
            if lo < hi:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 3600
