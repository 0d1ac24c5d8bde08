"""A working calendar as data, and the arithmetic of counted time on it.

A calendar is a time zone, the working hours of each weekday, and the dates that differ from that week: the
public holidays (rest days) and the swapped working days (调休, a Saturday or Sunday worked in exchange for a
holiday), whether from the State Council's yearly notice or an administrator's override. It is pure data: a
case carries the calendars it needs in its context snapshot, so workflow code counts time with it without
reading a database, the environment or a clock.

Time counts on one of two clocks. WALL: every minute (the 5341 promises to residents). WORKING: only the
calendar's working hours. A working-time budget's days are working days and the rest working hours: three
working days from Friday 16:00 end on Wednesday at 16:00; from a moment outside working hours they count from
the end of the last working day (from Saturday noon, at Wednesday's close).
"""

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.domain import Code, Name

# No calendar runs a year without a working day; a search for one that long means the calendar is broken.
_SEARCH_LIMIT = 400


class Clock(StrEnum):
    WALL = "WALL"  # every minute counts
    WORKING = "WORKING"  # only the calendar's working hours count


class Weekday(StrEnum):
    MON = "MON"
    TUE = "TUE"
    WED = "WED"
    THU = "THU"
    FRI = "FRI"
    SAT = "SAT"
    SUN = "SUN"

    @classmethod
    def of(cls, day: date) -> "Weekday":
        return list(cls)[day.weekday()]


class Shift(BaseModel):
    """One stretch of working hours within a day, e.g. 09:00–12:00."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self):
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working hours are local times, without a zone")
        if self.start >= self.end:
            raise ValueError(f"a shift must end after it starts ({self.start}–{self.end})")
        return self


Hours = tuple[Shift, ...]

OFFICE_HOURS: Hours = (Shift(start=time(9), end=time(12)), Shift(start=time(13, 30), end=time(18)))
WORKING_WEEK = dict.fromkeys((Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI), OFFICE_HOURS)


def _check_hours(hours: Hours) -> Hours:
    for before, after in zip(hours, hours[1:], strict=False):
        if after.start < before.end:
            raise ValueError(f"working hours overlap or are out of order ({before.end} > {after.start})")
    return hours


class Day(BaseModel):
    """A date that differs from the calendar's week: a rest day (no hours) or a working day with its hours."""

    model_config = ConfigDict(frozen=True)

    hours: Hours = ()
    holiday: Name | None = None  # the holiday it is a rest day of, or that a swapped working day (调休) pays for

    @field_validator("hours")
    @classmethod
    def _ordered(cls, hours: Hours) -> Hours:
        return _check_hours(hours)

    @property
    def working(self) -> bool:
        return bool(self.hours)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class WorkCalendar(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: Code = "CN"
    zone: str = "Asia/Shanghai"
    week: dict[Weekday, Hours] = Field(default_factory=lambda: dict(WORKING_WEEK))
    days: dict[date, Day] = Field(default_factory=dict)

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            _zone(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{zone!r} is not an IANA time zone name (e.g. Asia/Shanghai)") from None
        return zone

    @field_validator("week")
    @classmethod
    def _some_working_weekday(cls, week: dict[Weekday, Hours]) -> dict[Weekday, Hours]:
        for hours in week.values():
            _check_hours(hours)
        if not any(week.values()):
            raise ValueError("the week needs at least one working day")
        return week

    # ---- one day ------------------------------------------------------------------------------------------

    def hours_on(self, day: date) -> Hours:
        exception = self.days.get(day)
        return exception.hours if exception is not None else self.week.get(Weekday.of(day), ())

    def is_working(self, day: date) -> bool:
        return bool(self.hours_on(day))

    def _shifts(self, day: date) -> list[tuple[datetime, datetime]]:
        zone = _zone(self.zone)
        return [(datetime.combine(day, s.start, zone), datetime.combine(day, s.end, zone)) for s in self.hours_on(day)]

    def _length(self, day: date) -> timedelta:
        return sum((end - start for start, end in self._shifts(day)), timedelta())

    def _elapsed(self, day: date, moment: datetime) -> timedelta:
        return sum((max(min(end, moment) - start, timedelta()) for start, end in self._shifts(day)), timedelta())

    def _at(self, day: date, elapsed: timedelta) -> datetime:
        """The first moment of `day` by which `elapsed` (0 < elapsed <= the day's length) has been worked."""
        for start, end in self._shifts(day):
            if elapsed <= end - start:
                return start + elapsed
            elapsed -= end - start
        raise ValueError(f"{day} has less than {elapsed} of working time left")

    def _working_day(self, day: date, step: int) -> date:
        """The nearest working day after (step 1) or before (step -1) `day`."""
        for _ in range(_SEARCH_LIMIT):
            day += timedelta(days=step)
            if self.is_working(day):
                return day
        raise ValueError(f"calendar {self.code} has no working day within {_SEARCH_LIMIT} days of {day}")

    def _position(self, moment: datetime) -> tuple[date, timedelta]:
        """Where `moment` stands in working time: a working day and the time worked in it so far (more than
        nothing). Before a day's hours begin, or on a rest day, that is the whole of the last working day."""
        day = moment.astimezone(_zone(self.zone)).date()
        shifts = self._shifts(day)
        if shifts and moment > shifts[0][0]:
            return day, self._elapsed(day, moment)
        before = self._working_day(day, -1)
        return before, self._length(before)

    # ---- counted time -------------------------------------------------------------------------------------

    def deadline(self, clock: Clock, start: datetime, budget: timedelta) -> datetime:
        """When a budget given at `start` runs out. In working time its days are working days (to the same
        point of the day's work) and the rest working hours."""
        if clock is Clock.WALL:
            return start + budget
        day, worked = self._position(start)
        for _ in range(budget.days):
            day = self._working_day(day, 1)
        worked = min(worked, self._length(day))
        return self._run(day, worked + (budget - timedelta(days=budget.days)))

    def advance(self, clock: Clock, start: datetime, counted: timedelta) -> datetime:
        """The moment `counted` time after `start` (in working time: hours of work, whatever the days)."""
        if clock is Clock.WALL or counted <= timedelta():
            return start + counted if clock is Clock.WALL else start
        day, worked = self._position(start)
        return self._run(day, worked + counted)

    def _run(self, day: date, worked: timedelta) -> datetime:
        while worked > self._length(day):
            worked -= self._length(day)
            day = self._working_day(day, 1)
        return self._at(day, worked)

    def counted(self, clock: Clock, start: datetime, end: datetime) -> timedelta:
        """How much time counts between `start` and `end` (nothing if `end` is not after `start`)."""
        if end <= start:
            return timedelta()
        if clock is Clock.WALL:
            return end - start
        zone = _zone(self.zone)
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        total = timedelta()
        while day <= last:
            for shift_start, shift_end in self._shifts(day):
                total += max(min(shift_end, end) - max(shift_start, start), timedelta())
            day += timedelta(days=1)
        return total

    def holidays_between(self, start: datetime, end: datetime) -> list[str]:
        """The holidays whose rest days fall between `start` and `end`, in order: what a working deadline was
        carried over (国庆假期顺延)."""
        zone = _zone(self.zone)
        first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        names: list[str] = []
        for day in sorted(self.days):
            exception = self.days[day]
            if first <= day <= last and not exception.working and exception.holiday and exception.holiday not in names:
                names.append(exception.holiday)
        return names

    def between(self, first: date, last: date) -> "WorkCalendar":
        """The same calendar keeping only the dates from `first` to `last`: the part a case carries."""
        return self.model_copy(update={"days": {day: d for day, d in self.days.items() if first <= day <= last}})
