"""Supervisors' figures over the read model. Every figure is defined once, in `docs/statistics.md`."""

from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from schemas.domain import Code, JurisdictionKind, Level
from schemas.instant import Instant
from schemas.messages import N_
from schemas.search import CaseFilter


class StatisticsQuery(BaseModel):
    """Which cases: those reported in [since, until) in a jurisdiction (district, street, community or compound).

    `since` and `until` are instants; a day a person picks is the instant it begins on the deployment's clock
    (`i18n.zone.day_start`), so "1 to 31 October" is [day_start(10-01), day_start(11-01)).
    """

    model_config = ConfigDict(extra="forbid")

    jurisdiction: Code | None = None  # None: every case
    since: Instant | None = None
    until: Instant | None = None
    as_of: Instant | None = None  # the "now" of overdue-now; None: the database clock

    @field_validator("since", "until", "as_of")
    @classmethod
    def in_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def period_in_order(self):
        if self.since and self.until and self.since >= self.until:
            raise ValueError(N_("since must be before until"))
        return self


class ExportFormat(StrEnum):
    CSV = "csv"  # UTF-8 with a byte-order mark, one table
    XLSX = "xlsx"  # every table of the view, a sheet each

    @property
    def media_type(self) -> str:
        if self is ExportFormat.CSV:
            return "text/csv; charset=utf-8"
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class StatisticsTable(StrEnum):
    """The tables of a statistics view."""

    FIGURES = "figures"
    LEVELS = "levels"
    ORGANISATIONS = "organisations"
    DEPARTMENTS = "departments"
    TREND = "trend"


class Download(BaseModel):
    """How a view is downloaded (`lang` is the page's language choice, read by the language middleware)."""

    format: ExportFormat = ExportFormat.CSV
    lang: str | None = Field(default=None, max_length=16)


class StatisticsDownload(StatisticsQuery, Download):
    table: StatisticsTable = StatisticsTable.FIGURES  # the CSV's table (an XLSX holds them all)

    def query(self) -> StatisticsQuery:
        return StatisticsQuery.model_validate(self.model_dump(include=set(StatisticsQuery.model_fields)))


class CasesDownload(CaseFilter, Download):
    """Every case matching a case list's filters (`limit` and `after` page the list; a download has every page)."""

    def filter(self) -> CaseFilter:
        return CaseFilter.model_validate(self.model_dump(include=set(CaseFilter.model_fields) - {"after"}))


class Ratio(BaseModel):
    """`count` of `of`; `rate` is None when there is nothing to measure (never a made-up 100 %)."""

    count: int = 0
    of: int = 0

    @computed_field
    @property
    def rate(self) -> float | None:
        return self.count / self.of if self.of else None


class Rates(BaseModel):
    """The three rates of the 12345 hotline's 接诉即办 assessment, as `docs/statistics.md` defines them."""

    response: Ratio  # 响应率: cases whose owner reported for duty before any deadline breach, of cases reported
    resolution: Ratio  # 解决率: cases resolved, of cases reported and not withdrawn
    satisfaction: Ratio  # 满意率: cases closed satisfied (the latest verdict), of cases with feedback


class LevelFigures(BaseModel):
    level: Level
    open_now: int  # cases of the period currently open at this level
    resolved: Ratio  # resolved at this level, of all resolved cases
    sla: Ratio  # stints at this level without a deadline breach, of stints entered


class OrganisationFigures(BaseModel):
    """A level owner's record: property companies (COUNCIL), communities, streets, the district centre."""

    org: str
    name: str | None = None
    kind: str | None = None
    sla: Ratio  # its stints without a deadline breach, of its stints
    arrival: Ratio  # on-time arrivals, of cases where an arrival was due from it
    supervised: int  # SUPERVISED events naming it as the late party
    # property companies only: the cases of the compounds it manages
    cases: int = 0
    reached_district: int = 0  # of those, now at DISTRICT
    kept_in_compound: Ratio | None = None  # resolved at COUNCIL, of those resolved
    rates: Rates | None = None  # the three rates over those cases
    first_time_satisfaction: Ratio | None = None
    mean_score: float | None = None


class DepartmentFigures(BaseModel):
    department: str
    name: str | None = None
    tasks: int
    accepted_on_time: Ratio  # accepted by the accept deadline, of tasks summoned
    completed_on_time: Ratio  # completed by the work deadline, of tasks accepted
    mean_accept_minutes: float | None
    mean_completion_hours: float | None
    returns: int  # TASK_RETURNED events
    overdue: int  # tasks flagged overdue (first TASK_OVERDUE of a summons)
    supervised: int  # SUPERVISED events naming it
    mean_score: float | None = None  # latest feedback score of the cases it had a task on


class TrendPoint(BaseModel):
    day: date  # local calendar day (the deployment's zone, `Statistics.zone`) the cases were reported on
    reported: int
    sla: Ratio


class Statistics(BaseModel):
    query: StatisticsQuery
    jurisdiction_kind: JurisdictionKind | None = None
    zone: str  # the deployment's time zone (IANA name): the trend's days are its calendar days
    as_of: datetime
    reported: int
    open: int
    resolved: int  # ever resolved (RESOLVED or CLOSED after a resolution)
    closed: int
    withdrawn: int
    levels: list[LevelFigures]
    whistles: int  # manual escalations
    auto_escalations: int  # deadline expiries that escalated
    escalated_cases: Ratio  # cases that left the compound (any escalation), of cases reported
    sla: Ratio  # all stints, all levels
    arrival: Ratio
    rates: Rates
    first_time_satisfaction: Ratio  # satisfied at the first feedback, of cases with feedback
    mean_score: float | None  # mean of the cases' latest feedback score (1-5)
    reopened: int  # unsatisfied feedback that reopened a case
    overdue_now: int  # open cases past their deadline at `as_of`, whatever their report date
    supervisions: int  # SUPERVISED (督办) events
    supervised_cases: int  # cases flagged for supervision
    returns: int
    task_overdue: int
    departments: list[DepartmentFigures] = Field(default_factory=list)
    organisations: list[OrganisationFigures] = Field(default_factory=list)
    trend: list[TrendPoint] = Field(default_factory=list)

    def level(self, level: Level) -> LevelFigures:
        return next(figures for figures in self.levels if figures.level is level)
