"""Counted time on a working calendar: working days, the lunch break, holidays and swapped working days (调休).

The 2026 dates are those of the State Council's notice 《国务院办公厅关于2026年部分节假日安排的通知》 of 4 November
2025: Mid-Autumn Festival 25–27 September (Friday to Sunday) off; National Day 1–7 October off, with Sunday
20 September and Saturday 10 October worked in exchange. (Sunday 27 September is a Mid-Autumn rest day, not a
swapped working day.) `chinese_calendar` must say exactly the same, or these tests fail.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from pydantic import ValidationError

from activities.calendars import statutory_days
from schemas.calendar import OFFICE_HOURS, Clock, Day, Shift, Weekday, WorkCalendar
from schemas.policy import Budget

BEIJING = ZoneInfo("Asia/Shanghai")
WORKING, WALL = Clock.WORKING, Clock.WALL
DAYS = timedelta(days=1)


def at(text: str) -> datetime:
    """A Beijing wall-clock moment: "2026-09-30 10:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


def shown(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %a %H:%M")


@pytest.fixture(scope="module")
def city() -> WorkCalendar:
    return WorkCalendar(days=statutory_days(OFFICE_HOURS))


def test_the_seed_says_what_the_state_council_notice_says():
    rest = [date(2026, 9, 25), date(2026, 9, 26), date(2026, 9, 27), *(date(2026, 10, d) for d in range(1, 8))]
    swapped = [date(2026, 9, 20), date(2026, 10, 10)]
    assert [chinese_calendar.is_workday(day) for day in rest] == [False] * len(rest)
    assert [chinese_calendar.is_workday(day) for day in swapped] == [True, True]
    assert [day.strftime("%a") for day in swapped] == ["Sun", "Sat"]
    days = statutory_days(OFFICE_HOURS)
    assert all(not days[day].working for day in rest)
    assert days[date(2026, 10, 1)].holiday == "National Day"
    assert days[date(2026, 9, 27)].holiday == "Mid-autumn Festival"
    assert all(days[day].hours == OFFICE_HOURS and days[day].holiday == "National Day" for day in swapped)


def test_three_working_days_from_friday_afternoon_end_on_wednesday_at_the_same_hour(city):
    assert shown(city.deadline(WORKING, at("2026-11-27 16:00"), 3 * DAYS)) == "2026-12-02 Wed 16:00"


def test_from_outside_working_hours_the_days_count_from_the_last_close(city):
    # Saturday noon and Monday 08:00 stand where Friday's work ended: three working days end at Wednesday's close
    assert shown(city.deadline(WORKING, at("2026-11-28 12:00"), 3 * DAYS)) == "2026-12-02 Wed 18:00"
    assert shown(city.deadline(WORKING, at("2026-11-30 08:00"), 3 * DAYS)) == "2026-12-02 Wed 18:00"
    # the lunch break counts as the morning's end
    assert shown(city.deadline(WORKING, at("2026-11-30 12:40"), DAYS)) == "2026-12-01 Tue 12:00"


def test_working_hours_skip_the_lunch_break_and_the_night(city):
    assert shown(city.deadline(WORKING, at("2026-11-30 11:00"), timedelta(hours=2))) == "2026-11-30 Mon 14:30"
    assert shown(city.deadline(WORKING, at("2026-11-30 09:00"), timedelta(hours=3))) == "2026-11-30 Mon 12:00"
    assert shown(city.deadline(WORKING, at("2026-11-27 17:00"), timedelta(hours=2))) == "2026-11-30 Mon 10:00"
    # one working day and four working hours
    assert shown(city.deadline(WORKING, at("2026-11-30 10:00"), timedelta(days=1, hours=4))) == "2026-12-01 Tue 15:30"


def test_across_national_day_and_its_swapped_saturday(city):
    # Wednesday 30 September: 8 and 9 October, then Saturday 10 October (worked for National Day)
    start = at("2026-09-30 10:00")
    assert shown(city.deadline(WORKING, start, 3 * DAYS)) == "2026-10-10 Sat 10:00"
    assert city.holidays_between(start, city.deadline(WORKING, start, 3 * DAYS)) == ["National Day"]
    # Monday 28 September at 17:00: 29 and 30 September, then 8 October (the example)
    assert shown(city.deadline(WORKING, at("2026-09-28 17:00"), 3 * DAYS)) == "2026-10-08 Thu 17:00"
    # Thursday 8 October: Friday 9, Saturday 10 (调休), Monday 12
    assert shown(city.deadline(WORKING, at("2026-10-08 17:00"), 3 * DAYS)) == "2026-10-12 Mon 17:00"


def test_the_swapped_sunday_before_national_day_and_mid_autumn(city):
    assert shown(city.deadline(WORKING, at("2026-09-18 16:00"), DAYS)) == "2026-09-20 Sun 16:00"
    start = at("2026-09-24 16:00")  # Thursday; Friday 25 to Sunday 27 are Mid-Autumn's
    assert shown(city.deadline(WORKING, start, DAYS)) == "2026-09-28 Mon 16:00"
    assert city.holidays_between(start, city.deadline(WORKING, start, DAYS)) == ["Mid-autumn Festival"]


def test_wall_clock_counts_every_minute(city):
    friday = at("2026-11-27 16:00")
    assert shown(city.deadline(WALL, friday, timedelta(hours=4))) == "2026-11-27 Fri 20:00"
    assert shown(city.deadline(WALL, friday, DAYS)) == "2026-11-28 Sat 16:00"
    assert city.counted(WALL, friday, friday + 2 * DAYS) == 2 * DAYS


def test_counted_time_and_the_warning_point(city):
    friday = at("2026-11-27 16:00")
    due = city.deadline(WORKING, friday, 3 * DAYS)
    counted = city.counted(WORKING, friday, due)
    assert counted == timedelta(hours=2 + 7.5 + 7.5 + 5.5)
    # 80 % of 22.5 working hours is 18: Friday's 2, Monday's and Tuesday's 7.5, one more on Wednesday
    assert shown(city.advance(WORKING, friday, counted * 0.8)) == "2026-12-02 Wed 10:00"
    assert city.counted(WORKING, at("2026-11-28 09:00"), at("2026-11-29 20:00")) == timedelta()
    # counted hours past a day's worth are hours, not working days: 30 hours are four days of 7.5
    assert shown(city.advance(WORKING, friday, timedelta(hours=30))) == "2026-12-03 Thu 16:00"


def test_an_override_makes_a_day_a_rest_day_or_a_working_day(city):
    typhoon = {date(2026, 12, 1): Day(holiday="台风停工")}
    saturday_shift = {date(2026, 11, 28): Day(hours=(Shift(start=time(9), end=time(12)),))}
    friday = at("2026-11-27 16:00")
    closed = city.model_copy(update={"days": {**city.days, **typhoon}})
    assert shown(closed.deadline(WORKING, friday, 3 * DAYS)) == "2026-12-03 Thu 16:00"
    assert closed.holidays_between(friday, closed.deadline(WORKING, friday, 3 * DAYS)) == ["台风停工"]
    opened = city.model_copy(update={"days": {**city.days, **saturday_shift}})
    assert shown(opened.deadline(WORKING, friday, timedelta(hours=3))) == "2026-11-28 Sat 10:00"


def test_a_calendar_round_trips_as_data_and_keeps_only_the_dates_asked_for(city):
    part = city.between(date(2026, 9, 1), date(2026, 10, 31))
    assert set(part.days) == {d for d in city.days if date(2026, 9, 1) <= d <= date(2026, 10, 31)}
    assert WorkCalendar.model_validate_json(part.model_dump_json()) == part
    assert part.deadline(WORKING, at("2026-09-30 10:00"), 3 * DAYS) == city.deadline(
        WORKING, at("2026-09-30 10:00"), 3 * DAYS
    )


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"zone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"week": {Weekday.MON: ()}}, "at least one working day"),
        ({"week": {Weekday.MON: ({"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"})}}, "overlap"),
        ({"week": {Weekday.MON: ({"start": "12:00", "end": "09:00"},)}}, "end after it starts"),
    ],
)
def test_a_malformed_calendar_is_refused(bad, message):
    with pytest.raises(ValidationError, match=message):
        WorkCalendar(**bad)


def test_a_budget_without_a_clock_is_wall_clock_as_before():
    assert Budget.model_validate("PT30M") == Budget(duration=timedelta(minutes=30), clock=WALL)
    assert Budget.model_validate({"clock": "WORKING", "duration": "P3D"}).clock is WORKING
    with pytest.raises(ValidationError, match="must be positive"):
        Budget.model_validate("PT0S")
