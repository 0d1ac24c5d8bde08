"""Calendars in PostgreSQL: the seed from chinese_calendar, an administrator's override that a new seed leaves
alone, and the calendars a case's context carries (the city's, and an organisation's own)."""

from datetime import UTC, date, datetime, time

import pytest

from activities import calendars, registry
from schemas.calendar import Day, Shift

OCT_1, OCT_10 = date(2026, 10, 1), date(2026, 10, 10)
SINCE = datetime(2026, 9, 30, 2, tzinfo=UTC)  # 10:00 in Beijing


async def test_the_city_calendar_holds_the_statutory_days_and_seeding_again_changes_nothing(pool):
    async with pool.acquire() as connection:
        city = await calendars.calendar(connection, "CN", date(2026, 9, 1), date(2026, 10, 31))
        assert not city.is_working(OCT_1) and city.days[OCT_1].holiday == "National Day"
        assert city.is_working(OCT_10) and city.is_working(date(2026, 9, 20))
        before = await connection.fetchval("SELECT count(*) FROM calendar_days")
        await calendars.seed(connection)
        assert await connection.fetchval("SELECT count(*) FROM calendar_days") == before


async def test_an_override_wins_over_the_seed_until_it_is_cleared(pool):
    typhoon = date(2026, 10, 9)
    async with pool.acquire() as connection:
        await calendars.override_day(
            connection, "CN", typhoon, Day(holiday="台风停工"), by="admin@HP-CENTRE", reason="typhoon warning"
        )
        await calendars.override_day(
            connection, "CN", OCT_10, Day(hours=(Shift(start=time(9), end=time(12)),)), by="admin", reason="half day"
        )
        await calendars.seed(connection)
        city = await calendars.calendar(connection, "CN", typhoon, OCT_10)
        assert not city.is_working(typhoon) and city.days[typhoon].holiday == "台风停工"
        assert city.hours_on(OCT_10) == (Shift(start=time(9), end=time(12)),)
        row = await connection.fetchrow("SELECT changed_by, reason FROM calendar_days WHERE day = $1", typhoon)
        assert dict(row) == {"changed_by": "admin@HP-CENTRE", "reason": "typhoon warning"}
        for day in (typhoon, OCT_10):
            await calendars.clear_override(connection, "CN", day)
        city = await calendars.calendar(connection, "CN", typhoon, OCT_10)
        assert city.is_working(typhoon) and typhoon not in city.days and city.days[OCT_10].holiday == "National Day"
        with pytest.raises(calendars.UnknownCalendar):
            await calendars.override_day(connection, "XX", typhoon, Day(), by="admin", reason="x")


async def test_a_case_carries_the_city_calendar_and_an_organisations_own(pool):
    async with pool.acquire() as connection:
        await connection.execute(
            """INSERT INTO calendars (code, name, zone, week)
               VALUES ('SIX-DAYS', '六天工作制', 'Asia/Shanghai', $1)""",
            {day: [{"start": "08:00:00", "end": "17:00:00"}] for day in ("MON", "TUE", "WED", "THU", "FRI", "SAT")},
        )
        await connection.execute("UPDATE organisations SET calendar = 'SIX-DAYS' WHERE code = 'SW'")
        try:
            context = await registry.case_context(connection, "HP-DF-QH-1", "SEWER_BLOCKAGE", "default", SINCE)
        finally:
            await connection.execute("UPDATE organisations SET calendar = NULL WHERE code = 'SW'")
    assert context.calendar is not None and context.calendar.code == "CN"
    assert min(context.calendar.days) >= date(2026, 9, 29) and OCT_1 in context.calendar.days
    assert set(context.calendars) == {"SW"} and context.calendar_of("SW").code == "SIX-DAYS"
    assert context.calendar_of("ZJW").code == "CN"
