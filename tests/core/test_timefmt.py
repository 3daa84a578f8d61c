"""The one short format for a moment and a date, and how a zone is named."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from hub.core.timefmt import short_date, short_time, zone_named, zone_names

WINTER = datetime(2026, 12, 1, 13, 5, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 13, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "moment", "shown"),
    [
        ("Europe/Amsterdam", WINTER, "Tue 1 Dec 14:05 CET"),
        ("Europe/Amsterdam", SUMMER, "Wed 1 Jul 15:05 CEST"),
        ("America/New_York", WINTER, "Tue 1 Dec 08:05 EST"),
        ("Europe/London", SUMMER, "Wed 1 Jul 14:05 BST"),
        ("UTC", WINTER, "Tue 1 Dec 13:05 UTC"),
        # abbreviations that stand for several offsets, and bare offsets, give way to the zone's name
        ("Asia/Kolkata", WINTER, "Tue 1 Dec 18:35 Asia/Kolkata"),  # IST: also Ireland's and Israel's
        ("America/Chicago", WINTER, "Tue 1 Dec 07:05 America/Chicago"),  # CST: also China's
        ("America/Sao_Paulo", WINTER, "Tue 1 Dec 10:05 America/Sao_Paulo"),  # "-03"
    ],
)
def test_a_moment_is_shown_short_in_the_zone_and_named(zone, moment, shown):
    assert short_time(moment, ZoneInfo(zone), named=True) == shown
    assert short_time(moment, ZoneInfo(zone)) == shown.rsplit(" ", 1)[0]


def test_a_date_is_shown_day_month_year_without_a_leading_zero():
    assert short_date(date(2026, 12, 1)) == "1 Dec 2026"
    assert short_date(date(2026, 3, 19)) == "19 Mar 2026"


@pytest.mark.parametrize("bad", ["", "  ", "Mars/Olympus_Mons", "europe/amsterdam", "../../etc/passwd", "Nowhere/Else"])
def test_only_zone_names_the_machine_knows_are_accepted(bad):
    with pytest.raises(ValueError, match=r"expected a time zone name like Europe/Amsterdam, got '"):
        zone_named(bad)


def test_zone_names_are_the_iana_names_sorted():
    names = zone_names()
    assert list(names) == sorted(names)
    assert {"Europe/Amsterdam", "America/New_York", "UTC"} <= set(names)
    assert zone_named(" Asia/Tokyo ") == ZoneInfo("Asia/Tokyo")
