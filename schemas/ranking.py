"""The red/black list (红黑榜): periods, weights (policy data) and ranked entries."""

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator


class Cadence(StrEnum):
    MONTH = "month"
    WEEK = "week"


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")


class RankingPeriod(BaseModel):
    """A calendar month (`2026-11`) or ISO week (`2026-W47`) on a zone's clock, the deployment's
    (WHISTLE_TIMEZONE): cases reported in [start, end), both held in UTC. Across a daylight-saving change
    the period is an hour shorter or longer."""

    model_config = ConfigDict(frozen=True)

    label: str
    start: AwareDatetime
    end: AwareDatetime

    @staticmethod
    def days(label: str) -> tuple[date, date]:
        """The period's first day and the day after its last (raises ValueError for a label that is neither)."""
        if month := _MONTH.match(label):
            year, number = int(month[1]), int(month[2])
            return date(year, number, 1), date(year + number // 12, number % 12 + 1, 1)
        if week := _WEEK.match(label):
            try:
                monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
            except ValueError as error:
                raise ValueError(f"period {label!r}: {error}") from None
            return monday, monday + timedelta(days=7)
        raise ValueError(f"period {label!r} is neither a month (2026-11) nor an ISO week (2026-W47)")

    @classmethod
    def parse(cls, label: str, zone: tzinfo) -> "RankingPeriod":
        first, following = cls.days(label)
        return cls(label=label, start=_midnight(first, zone), end=_midnight(following, zone))

    @classmethod
    def containing(cls, at: datetime, cadence: Cadence, zone: tzinfo) -> "RankingPeriod":
        day = at.astimezone(zone).date()
        if cadence is Cadence.MONTH:
            return cls.parse(f"{day.year:04d}-{day.month:02d}", zone)
        year, week, _ = day.isocalendar()
        return cls.parse(f"{year:04d}-W{week:02d}", zone)

    @classmethod
    def before(cls, at: datetime, cadence: Cadence, zone: tzinfo) -> "RankingPeriod":
        """The last complete period before `at` (what a scheduled run at the start of a period ranks)."""
        return cls.containing(cls.containing(at, cadence, zone).start - timedelta(seconds=1), cadence, zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


class RankingRun(BaseModel):
    """The ranking workflow's input: an explicit period, or the last complete one of the cadence, on the clock
    of `zone` (an IANA name: whoever starts a run passes the deployment's; None, as in runs started before
    periods were local, is UTC)."""

    period: str | None = None
    cadence: Cadence = Cadence.MONTH
    zone: str | None = None

    @field_validator("period")
    @classmethod
    def known_period(cls, period: str | None) -> str | None:
        if period is not None:
            RankingPeriod.days(period)
        return period

    @field_validator("zone")
    @classmethod
    def known_zone(cls, zone: str | None) -> str | None:
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"zone {zone!r} is not an IANA time zone name (e.g. Asia/Shanghai)") from None
        return zone

    def ranked_period(self, now: datetime) -> RankingPeriod:
        """The period this run ranks when it runs at `now`."""
        zone = ZoneInfo(self.zone) if self.zone else UTC
        return RankingPeriod.parse(self.period, zone) if self.period else RankingPeriod.before(now, self.cadence, zone)


Weight = float


class PropertyCompanyWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sla: Weight = Field(ge=0)  # council stints without a deadline breach
    arrival: Weight = Field(ge=0)  # on-site within the arrival SLA
    kept_in_compound: Weight = Field(ge=0)  # resolved at COUNCIL (矛盾不出小区)
    satisfaction: Weight = Field(ge=0)  # mean feedback score x 20


class DepartmentWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    accepted_on_time: Weight = Field(ge=0)
    completed_on_time: Weight = Field(ge=0)
    kept: Weight = Field(ge=0)  # tasks not returned
    satisfaction: Weight = Field(ge=0)  # mean feedback score of its cases x 20


class EvaluationWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    street: Weight = Field(ge=0)
    district: Weight = Field(ge=0)


class RankingWeights(BaseModel):
    """`activities/data/ranking_weights.json`; documented in docs/statistics.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluations: EvaluationWeights
    property_company: PropertyCompanyWeights
    department: DepartmentWeights
    red_min_satisfaction: float = Field(ge=0, le=100)
    list_size: int = Field(ge=1, le=50)
    min_items: int = Field(ge=1)  # cases (companies) or tasks (departments) in the period to be ranked at all

    @model_validator(mode="after")
    def some_weight_everywhere(self):
        for name in ("evaluations", "property_company", "department"):
            if not sum(getattr(self, name).model_dump().values()):
                raise ValueError(f"{name}: at least one weight must be positive")
        return self


class EntityKind(StrEnum):
    PROPERTY_COMPANY = "PROPERTY_COMPANY"
    DEPARTMENT = "DEPARTMENT"


class ListKind(StrEnum):
    RED = "RED"  # 红榜: the best
    BLACK = "BLACK"  # 黑榜: the worst


class RankingScore(BaseModel):
    org: str
    name: str | None = None
    kind: EntityKind
    items: int  # cases at its compounds (companies) or tasks (departments)
    score: float  # 0-100
    street_evaluation: float | None
    district_evaluation: float | None
    satisfaction: float | None  # 0-100 (mean score x 20)
    red_eligible: bool
    components: dict[str, float] = Field(default_factory=dict)  # 0-100 each, street view over all streets


class ScoredPeriod(BaseModel):
    period: RankingPeriod
    list_size: int
    scores: list[RankingScore]


class RankingEntry(RankingScore):
    board: ListKind | None = None
    position: int | None = None  # 1 = the best on RED, the worst on BLACK


class RankingTable(BaseModel):
    period: RankingPeriod
    computed_at: datetime
    entries: list[RankingEntry]

    def listed(self, kind: EntityKind, which: ListKind) -> list[RankingEntry]:
        chosen = [e for e in self.entries if e.kind is kind and e.board is which]
        return sorted(chosen, key=lambda entry: entry.position or 0)
