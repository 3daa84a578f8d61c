"""The one way staff see a moment and a date ("Tue 1 Dec 14:05", "1 Dec 2026"), and a zone's name."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def short_time(dt: datetime, zone: ZoneInfo, *, named: bool = False) -> str:
    """A moment in `zone`: "Tue 1 Dec 14:05", with the zone's name ("… 14:05 CET") when `named`."""
    local = dt.astimezone(zone)
    text = f"{local:%a} {local.day} {local:%b %H:%M}"
    return f"{text} {zone_name(local)}" if named else text


def short_date(day: date) -> str:
    """A date: "1 Dec 2026"."""
    return f"{day.day} {day:%b %Y}"


def zone_name(local: datetime) -> str:
    """The zone of a local time as people say it: its abbreviation ("CET", "EST"), or the IANA name
    ("Asia/Kolkata") when the abbreviation is only an offset or means different offsets in different places."""
    abbr = local.strftime("%Z")
    key = getattr(local.tzinfo, "key", None)
    if key and (not abbr.isalpha() or abbr in _ambiguous_abbreviations(local.year)):
        return str(key)
    return abbr or str(key or "UTC")


@lru_cache(maxsize=4)
def _ambiguous_abbreviations(year: int) -> frozenset[str]:
    """Abbreviations that stand for more than one UTC offset this year in the time zone database (IST: India,
    Ireland and Israel; CST: Chicago and Shanghai)."""
    offsets: dict[str, set[object]] = {}
    moments = (datetime(year, 1, 15, 12, tzinfo=UTC), datetime(year, 7, 15, 12, tzinfo=UTC))
    for name in available_timezones():
        zone = ZoneInfo(name)
        for moment in moments:
            local = moment.astimezone(zone)
            offsets.setdefault(local.strftime("%Z"), set()).add(local.utcoffset())
    return frozenset(abbr for abbr, seen in offsets.items() if len(seen) > 1)


def zone_named(name: str) -> ZoneInfo:
    """The zone with this IANA name ("Europe/Amsterdam"); ValueError says why when there is none."""
    name = name.strip()
    if not name or name not in _known_zones():
        raise ValueError(f"expected a time zone name like Europe/Amsterdam, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # listed but unreadable: treat as unknown
        raise ValueError(f"expected a time zone name like Europe/Amsterdam, got {name!r}") from None


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted."""
    return tuple(sorted(available_timezones()))


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zone_names())
