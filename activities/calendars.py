"""Working calendars in PostgreSQL: seeded from `chinese_calendar` (which tracks the State Council's yearly
notice of holidays and swapped working days), an administrator's override of a day, and the part of each
calendar a case carries in its context."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import asyncpg
import chinese_calendar
from pydantic import TypeAdapter

from schemas.calendar import Day, Hours, Weekday, WorkCalendar
from schemas.domain import Code

SOURCE = "chinese_calendar"
# What a case carries: the dates from the day before it starts to well past any budget, extension or pause;
# beyond that its calendar is the plain week.
SNAPSHOT_DAYS = 400

_hours = TypeAdapter(Hours)


class UnknownCalendar(LookupError):
    pass


def statutory_days(workday: Hours) -> dict[date, Day]:
    """Every public holiday (a rest day, weekend days of the holiday included) and swapped working day (worked
    for `workday` hours) that `chinese_calendar` knows: the notices from 2004 up to its latest year."""
    days = {day: Day(holiday=holiday) for day, holiday in chinese_calendar.holidays.items()}
    days.update({day: Day(hours=workday, holiday=holiday) for day, holiday in chinese_calendar.workdays.items()})
    return days


def _workday(week: dict[Weekday, Hours]) -> Hours:
    """The hours of a swapped working day: those of the first working weekday."""
    return next(hours for hours in week.values() if hours)


async def seed(connection: asyncpg.Connection) -> int:
    """Write the statutory days into every calendar seeded from `chinese_calendar`, leaving administrators'
    overrides alone. Idempotent; run on every migration so an upgraded `chinesecalendar` brings the new year."""
    written = 0
    for row in await connection.fetch("SELECT code, week FROM calendars WHERE source = $1", SOURCE):
        week = WorkCalendar(week=row["week"]).week
        days = statutory_days(_workday(week))
        await connection.executemany(
            """INSERT INTO calendar_days (calendar, day, hours, holiday, source) VALUES ($1, $2, $3, $4, 'seed')
               ON CONFLICT (calendar, day) DO UPDATE SET hours = EXCLUDED.hours, holiday = EXCLUDED.holiday
               WHERE calendar_days.source = 'seed'""",
            [(row["code"], day, _dump(d.hours), d.holiday) for day, d in days.items()],
        )
        written += len(days)
    return written


def _dump(hours: Hours) -> list:
    return _hours.dump_python(hours, mode="json")


async def override_day(
    connection: asyncpg.Connection, calendar: Code, day: date, override: Day, *, by: str, reason: str
) -> None:
    """An administrator says what `day` is (a rest day, or a working day with its hours), over the week and the
    seed alike. Cases already running keep the calendar they started with."""
    exists = await connection.fetchval("SELECT 1 FROM calendars WHERE code = $1", calendar)
    if not exists:
        raise UnknownCalendar(f"unknown calendar {calendar!r}")
    await connection.execute(
        """INSERT INTO calendar_days (calendar, day, hours, holiday, source, changed_by, reason, changed_at)
           VALUES ($1, $2, $3, $4, 'override', $5, $6, now())
           ON CONFLICT (calendar, day) DO UPDATE SET hours = EXCLUDED.hours, holiday = EXCLUDED.holiday,
               source = 'override', changed_by = EXCLUDED.changed_by, reason = EXCLUDED.reason, changed_at = now()""",
        calendar,
        day,
        _dump(override.hours),
        override.holiday,
        by,
        reason,
    )


async def clear_override(connection: asyncpg.Connection, calendar: Code, day: date) -> None:
    """Give `day` back to the seed (or to the week)."""
    async with connection.transaction():
        await connection.execute(
            "DELETE FROM calendar_days WHERE calendar = $1 AND day = $2 AND source = 'override'", calendar, day
        )
        await seed(connection)


async def calendar(connection: asyncpg.Connection, code: Code, first: date, last: date) -> WorkCalendar:
    """Calendar `code` with the dates from `first` to `last`."""
    row = await connection.fetchrow("SELECT code, zone, week FROM calendars WHERE code = $1", code)
    if row is None:
        raise UnknownCalendar(f"unknown calendar {code!r}")
    days = await connection.fetch(
        "SELECT day, hours, holiday FROM calendar_days WHERE calendar = $1 AND day BETWEEN $2 AND $3",
        code,
        first,
        last,
    )
    return WorkCalendar(
        code=row["code"],
        zone=row["zone"],
        week=row["week"],
        days={d["day"]: Day(hours=d["hours"], holiday=d["holiday"]) for d in days},
    )


async def for_case(connection: asyncpg.Connection, since: datetime | None, organisations: Iterable[Code]) -> dict:
    """The calendars a case starting at `since` counts its deadlines by: the city's, and those of the
    organisations that name their own (by organisation). Fields of `CaseContext`."""
    first = (since or datetime.now(UTC)).astimezone(UTC).date() - timedelta(days=1)
    last = first + timedelta(days=SNAPSHOT_DAYS)
    city = await connection.fetchval("SELECT code FROM calendars WHERE city")
    own = await connection.fetch(
        """SELECT code, calendar FROM organisations
            WHERE code = ANY($1) AND calendar IS NOT NULL AND calendar IS DISTINCT FROM $2""",
        list(organisations),
        city,
    )
    found = {code: await calendar(connection, code, first, last) for code in {r["calendar"] for r in own}}
    return {
        "calendar": await calendar(connection, city, first, last) if city else None,
        "calendars": {r["code"]: found[r["calendar"]] for r in own},
    }
