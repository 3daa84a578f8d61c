"""Business-hour arithmetic: weekends, holidays, time zones, daylight saving, and its properties (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.workflow import Sla, Team, load_workflow
from hub.workflow.calendar import add_business_hours, business_hours_between, due_at, due_soon_at, is_working_day
from tests.factories import local, team, utc

NOW = utc(2026, 3, 5, 9)  # Thursday 5 March 2026: 10:00 in Amsterdam, 04:00 in New York, 18:00 in Tokyo


def business(hours: float) -> Sla:
    return Sla(hours, "hours", "business")


def business_days(days: float) -> Sla:
    return Sla(days, "days", "business")


def calendar(amount: float, unit: str = "days") -> Sla:
    return Sla(amount, unit, "calendar")


AMS = team("ams", tz="Europe/Amsterdam")
NYC = team("nyc", tz="America/New_York")
TYO = team("tyo", tz="Asia/Tokyo", hours=("09:00", "18:00"))
# Good Friday and Easter Monday 2026
EASTER = team("easter", tz="Europe/Amsterdam", holidays=(date(2026, 4, 3), date(2026, 4, 6)))


# --- examples: the default teams -----------------------------------------------------------------------


def test_the_default_warehouse_day_is_its_nine_working_hours():
    warehouse = load_workflow().teams["warehouse"]  # 07:00-16:00 Amsterdam
    assert warehouse.hours_per_day == 9
    # Thursday 10:00: six hours to closing, three more on Friday morning
    assert due_at(NOW, business_days(1), warehouse) == local("Europe/Amsterdam", 2026, 3, 6, 10)
    assert due_soon_at(NOW, business_days(1), warehouse, 0.75) == local("Europe/Amsterdam", 2026, 3, 6, 7, 45)


def test_one_instant_gives_each_time_zone_its_own_due_time():
    # 10:00 in Amsterdam: four hours later the same day
    assert due_at(NOW, business(4), AMS) == local("Europe/Amsterdam", 2026, 3, 5, 14)
    # 04:00 in New York: before opening, so the clock starts at 09:00
    assert due_at(NOW, business(4), NYC) == local("America/New_York", 2026, 3, 5, 13)
    # 18:00 in Tokyo: exactly at closing, so the clock starts the next morning
    assert due_at(NOW, business(4), TYO) == local("Asia/Tokyo", 2026, 3, 6, 13)
    assert due_at(NOW, business(4), TYO) == utc(2026, 3, 6, 4)


# --- weekends, closed hours, holidays ---------------------------------------------------------------------


def test_the_weekend_is_skipped():
    friday = local("Europe/Amsterdam", 2026, 3, 6, 15)
    assert due_at(friday, business(4), AMS) == local("Europe/Amsterdam", 2026, 3, 9, 11)
    assert business_hours_between(friday, local("Europe/Amsterdam", 2026, 3, 9, 11), AMS) == 4


def test_a_start_on_a_weekend_counts_from_monday_opening():
    saturday = local("Europe/Amsterdam", 2026, 3, 7, 12)
    assert due_at(saturday, business(4), AMS) == local("Europe/Amsterdam", 2026, 3, 9, 13)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        ((2026, 3, 5, 6, 0), (2026, 3, 5, 10, 0)),  # before opening: counts from 09:00
        ((2026, 3, 5, 18, 30), (2026, 3, 6, 10, 0)),  # after closing: counts from tomorrow's opening
        ((2026, 3, 5, 17, 0), (2026, 3, 6, 10, 0)),  # exactly at closing: nothing left today
        ((2026, 3, 5, 16, 30), (2026, 3, 6, 9, 30)),  # half an hour today, half tomorrow
        ((2026, 3, 5, 0, 0), (2026, 3, 5, 10, 0)),  # midnight
    ],
)
def test_a_start_outside_working_hours_waits_for_the_next_opening(start, due):
    assert due_at(local("Europe/Amsterdam", *start), business(1), AMS) == local("Europe/Amsterdam", *due)


def test_a_due_time_that_uses_up_the_day_is_at_closing_not_the_next_morning():
    start = local("Europe/Amsterdam", 2026, 3, 5, 13)
    assert due_at(start, business(4), AMS) == local("Europe/Amsterdam", 2026, 3, 5, 17)


def test_holidays_are_skipped():
    # Maundy Thursday 15:00: two hours, then Good Friday, the weekend and Easter Monday are closed
    start = local("Europe/Amsterdam", 2026, 4, 2, 15)
    assert due_at(start, business_days(1), EASTER) == local("Europe/Amsterdam", 2026, 4, 7, 15)
    assert due_at(start, business_days(1), EASTER) == utc(2026, 4, 7, 13)
    # the same team without holidays works on Good Friday
    assert due_at(start, business_days(1), AMS) == local("Europe/Amsterdam", 2026, 4, 3, 15)


def test_a_start_on_a_holiday_counts_from_the_next_working_day():
    good_friday = local("Europe/Amsterdam", 2026, 4, 3, 11)
    assert not is_working_day(date(2026, 4, 3), EASTER)
    assert due_at(good_friday, business(4), EASTER) == local("Europe/Amsterdam", 2026, 4, 7, 13)
    assert business_hours_between(good_friday, local("Europe/Amsterdam", 2026, 4, 6, 23), EASTER) == 0


def test_a_team_can_work_on_saturday():
    shop = team("shop", days="tue wed thu fri sat", hours=("10:00", "18:00"))
    friday = local("Europe/Amsterdam", 2026, 3, 6, 16)
    # Friday 2h, Saturday 8h, Sunday and Monday closed, Tuesday 2h
    assert due_at(friday, business(12), shop) == local("Europe/Amsterdam", 2026, 3, 10, 12)


def test_a_calendar_without_working_time_is_an_error_not_an_endless_loop():
    mondays = tuple(date(2026, 1, 5) + timedelta(weeks=w) for w in range(4 * 53))
    never = team("never", days="mon", holidays=mondays)
    with pytest.raises(ValueError, match="no working time"):
        due_at(NOW, business(1), never)


# --- daylight saving time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("friday", "due_wall", "due_utc", "elapsed"),
    [
        # last Sunday of March 2026: clocks go from 02:00 to 03:00 in Amsterdam
        (
            local("Europe/Amsterdam", 2026, 3, 27, 12),  # CET, 11:00 UTC
            local("Europe/Amsterdam", 2026, 3, 30, 12),
            utc(2026, 3, 30, 10),
            timedelta(days=3, hours=-1),
        ),  # CEST
        # last Sunday of October 2026: clocks go from 03:00 back to 02:00
        (
            local("Europe/Amsterdam", 2026, 10, 23, 12),  # CEST, 10:00 UTC
            local("Europe/Amsterdam", 2026, 10, 26, 12),
            utc(2026, 10, 26, 11),
            timedelta(days=3, hours=1),
        ),  # CET
    ],
    ids=["spring-forward", "fall-back"],
)
def test_europe_daylight_saving_keeps_the_wall_clock(friday, due_wall, due_utc, elapsed):
    due = due_at(friday, business_days(1), AMS)
    assert due == due_wall
    assert due == due_utc
    assert due - friday == elapsed
    assert business_hours_between(friday, due, AMS) == 8


@pytest.mark.parametrize(
    ("friday", "due_wall", "due_utc"),
    [
        # spring forward on the second Sunday of March
        (
            local("America/New_York", 2026, 3, 6, 12),  # EST, 17:00 UTC
            local("America/New_York", 2026, 3, 9, 12),
            utc(2026, 3, 9, 16),
        ),  # EDT
        # fall back on the first Sunday of November
        (
            local("America/New_York", 2026, 10, 30, 12),  # EDT, 16:00 UTC
            local("America/New_York", 2026, 11, 2, 12),
            utc(2026, 11, 2, 17),
        ),  # EST
    ],
    ids=["spring-forward-second-sunday-of-march", "fall-back-first-sunday-of-november"],
)
def test_us_daylight_saving_keeps_the_wall_clock(friday, due_wall, due_utc):
    due = due_at(friday, business_days(1), NYC)
    assert due == due_wall
    assert due == due_utc


def test_between_the_us_and_the_european_switch_the_offsets_differ_by_five_hours():
    monday = utc(2026, 3, 16, 13)  # New York already on EDT (09:00), Amsterdam still on CET (14:00)
    assert due_at(monday, business(4), NYC) == utc(2026, 3, 16, 17)
    assert due_at(monday, business(4), AMS) == utc(2026, 3, 17, 9)  # three hours today, one tomorrow


def test_a_working_night_across_the_switch_has_an_hour_less_or_more():
    night = team("night", days="mon tue wed thu fri sat sun", hours=("00:00", "06:00"))
    spring = local("Europe/Amsterdam", 2026, 3, 29, 0)
    autumn = local("Europe/Amsterdam", 2026, 10, 25, 0)
    assert business_hours_between(spring, local("Europe/Amsterdam", 2026, 3, 29, 6), night) == 5
    assert business_hours_between(autumn, local("Europe/Amsterdam", 2026, 10, 25, 6), night) == 7
    # six working hours from the short night end one hour into the next one
    assert due_at(spring, business(6), night) == local("Europe/Amsterdam", 2026, 3, 30, 1)
    # an ambiguous wall time: 02:30 happens twice in the long night, at 00:30 and at 01:30 UTC
    first, second = due_at(autumn, business(2.5), night), due_at(autumn, business(3.5), night)
    assert (first, second) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30))
    walls = [t.astimezone(ZoneInfo("Europe/Amsterdam")) for t in (first, second)]
    assert [(w.hour, w.minute, w.fold) for w in walls] == [(2, 30, 0), (2, 30, 1)]


def test_tokyo_has_no_daylight_saving():
    # the European switch weekend changes nothing in Tokyo: Friday 16:00 JST plus 4h is Monday 11:00 JST
    friday = local("Asia/Tokyo", 2026, 3, 27, 16)
    assert due_at(friday, business(4), TYO) == local("Asia/Tokyo", 2026, 3, 30, 11)
    assert due_at(friday, business(4), TYO) - friday == timedelta(days=2, hours=19)


# --- business days, business hours, calendar time --------------------------------------------------------


def test_business_days_business_hours_and_calendar_days_differ():
    friday = local("Europe/Amsterdam", 2026, 3, 6, 15)
    assert due_at(friday, business_days(1), AMS) == local("Europe/Amsterdam", 2026, 3, 9, 15)
    assert due_at(friday, business(8), AMS) == local("Europe/Amsterdam", 2026, 3, 9, 15)
    assert due_at(friday, business_days(2), AMS) == local("Europe/Amsterdam", 2026, 3, 10, 15)
    assert due_at(friday, business_days(0.5), AMS) == local("Europe/Amsterdam", 2026, 3, 9, 11)
    assert due_at(friday, calendar(1), AMS) == local("Europe/Amsterdam", 2026, 3, 7, 15)
    assert due_at(friday, calendar(4, "hours"), AMS) == local("Europe/Amsterdam", 2026, 3, 6, 19)


def test_calendar_time_ignores_weekends_holidays_and_working_hours():
    saturday_night = local("Europe/Amsterdam", 2026, 4, 4, 23)
    assert due_at(saturday_night, calendar(5), EASTER) == saturday_night + timedelta(days=5)


def test_calendar_days_are_elapsed_time_across_daylight_saving():
    friday = local("Europe/Amsterdam", 2026, 3, 27, 12)
    due = due_at(friday, calendar(5), AMS)
    assert due - friday == timedelta(hours=120)
    assert due.astimezone(ZoneInfo("Europe/Amsterdam")).hour == 13  # the wall clock moved with the switch


def test_due_soon_is_a_share_of_the_sla_on_the_same_clock():
    friday = local("Europe/Amsterdam", 2026, 3, 6, 15)
    # 75% of one business day: six working hours (two on Friday, four on Monday)
    assert due_soon_at(friday, business_days(1), AMS, 0.75) == local("Europe/Amsterdam", 2026, 3, 9, 13)
    assert due_soon_at(friday, calendar(5), AMS, 0.75) == friday + timedelta(hours=90)
    assert due_soon_at(friday, business(4), AMS, 0.5) == local("Europe/Amsterdam", 2026, 3, 6, 17)


def test_business_hours_between_counts_only_working_time():
    friday = local("Europe/Amsterdam", 2026, 3, 6, 16)
    assert business_hours_between(friday, local("Europe/Amsterdam", 2026, 3, 9, 10), AMS) == 2
    assert business_hours_between(friday, friday, AMS) == 0
    assert business_hours_between(friday, friday - timedelta(hours=5), AMS) == 0
    saturday, sunday = local("Europe/Amsterdam", 2026, 3, 7, 8), local("Europe/Amsterdam", 2026, 3, 8, 20)
    assert business_hours_between(saturday, sunday, AMS) == 0
    whole_week = local("Europe/Amsterdam", 2026, 3, 9), local("Europe/Amsterdam", 2026, 3, 16)
    assert business_hours_between(*whole_week, AMS) == 40


def test_starts_in_other_offsets_mean_the_same_instant():
    in_tokyo = NOW.astimezone(ZoneInfo("Asia/Tokyo"))
    assert due_at(in_tokyo, business(4), AMS) == due_at(NOW, business(4), AMS)
    assert add_business_hours(in_tokyo, 4, AMS).tzinfo is not None


# --- properties ------------------------------------------------------------------------------------------

ZONES = (
    "UTC",
    "Europe/Amsterdam",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Pacific/Chatham",
)
# Every zone above switches between 01:00 and 04:00 local time. An opening or closing time inside the
# skipped hour does not exist on the day of the switch (see the report); these calendars open and close
# outside that band, and their working day may still span the switch.
SAFE_MINUTES = [m for m in range(24 * 60) if not 60 <= m < 240]
SPAN = (datetime(2026, 1, 1), datetime(2027, 12, 31))
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _switches(zone: str) -> list[datetime]:
    """The instants a zone changes its UTC offset in 2026-2027."""
    tz, found = ZoneInfo(zone), []
    day = datetime(2026, 1, 1, tzinfo=UTC)
    while day.year < 2028:
        nxt = day + timedelta(days=1)
        if day.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            t = day
            while t.astimezone(tz).utcoffset() == day.astimezone(tz).utcoffset():
                t += timedelta(minutes=15)
            found.append(t)
        day = nxt
    return found


SWITCHES = sorted({t for z in ZONES for t in _switches(z)})


def test_the_property_zones_really_switch():
    assert len(_switches("Europe/Amsterdam")) == 4
    assert utc(2026, 3, 29, 1) in SWITCHES
    assert utc(2026, 3, 8, 7) in SWITCHES  # New York
    assert _switches("Asia/Tokyo") == []


@st.composite
def calendars(draw: st.DrawFn) -> Team:
    opens = draw(st.sampled_from([m for m in SAFE_MINUTES if m <= 23 * 60 - 1]))
    closes = draw(st.sampled_from([m for m in SAFE_MINUTES if m >= opens + 60]))
    return Team(
        key="t",
        name="T",
        color="#64748b",
        timezone=ZoneInfo(draw(st.sampled_from(ZONES))),
        working_days=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        opens=time(opens // 60, opens % 60),
        closes=time(closes // 60, closes % 60),
        holidays=frozenset(draw(st.lists(st.dates(date(2025, 12, 1), date(2028, 6, 30)), max_size=12))),
    )


starts = st.one_of(
    st.datetimes(*SPAN, timezones=st.just(UTC)),
    # near a daylight-saving switch of one of the zones
    st.builds(lambda t, s: t + timedelta(seconds=s), st.sampled_from(SWITCHES), st.integers(-4 * 86400, 4 * 86400)),
)
amounts = st.floats(min_value=0.01, max_value=100, allow_nan=False, allow_infinity=False)


def _inside_working_hours(moment: datetime, cal: Team) -> bool:
    wall = moment.astimezone(cal.timezone)
    return is_working_day(wall.date(), cal) and cal.opens <= wall.time() <= cal.closes


@PROPERTY_SETTINGS
@given(cal=calendars(), start=starts, hours=amounts)
def test_a_business_due_time_is_never_in_closed_hours(cal, start, hours):
    due = due_at(start, business(hours), cal)
    assert due > start
    assert _inside_working_hours(due, cal), f"due {due.astimezone(cal.timezone)} outside {cal.opens}-{cal.closes}"


@PROPERTY_SETTINGS
@given(cal=calendars(), start=starts, hours=amounts)
def test_adding_then_measuring_business_hours_round_trips(cal, start, hours):
    due = due_at(start, business(hours), cal)
    assert business_hours_between(start, due, cal) == pytest.approx(hours, abs=1 / 3600)


@PROPERTY_SETTINGS
@given(cal=calendars(), start=starts, days=st.floats(min_value=0.05, max_value=8))
def test_business_days_round_trip_as_working_days_of_hours(cal, start, days):
    due = due_at(start, business_days(days), cal)
    assert _inside_working_hours(due, cal)
    assert business_hours_between(start, due, cal) == pytest.approx(days * cal.hours_per_day, abs=1 / 3600)


@PROPERTY_SETTINGS
@given(cal=calendars(), start=starts, a=amounts, b=amounts)
def test_more_hours_never_give_an_earlier_due_time(cal, start, a, b):
    low, high = sorted((a, b))
    assert due_at(start, business(low), cal) <= due_at(start, business(high), cal)


@PROPERTY_SETTINGS
@given(cal=calendars(), start=starts, a=st.floats(0.01, 50), b=st.floats(0.01, 50))
def test_adding_in_two_steps_is_adding_once(cal, start, a, b):
    two_steps = add_business_hours(add_business_hours(start, a, cal), b, cal)
    assert abs(two_steps - add_business_hours(start, a + b, cal)) <= timedelta(milliseconds=1)


@PROPERTY_SETTINGS
@given(cal=calendars(), start=starts, hours=amounts, share=st.floats(min_value=0.05, max_value=0.95))
def test_due_soon_comes_before_due_and_calendar_time_is_elapsed_time(cal, start, hours, share):
    assert start < due_soon_at(start, business(hours), cal, share) <= due_at(start, business(hours), cal)
    assert due_at(start, calendar(hours, "hours"), cal) == start + timedelta(hours=hours)
