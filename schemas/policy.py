"""SLA policy as data (5341 standard defaults), validated when loaded and snapshotted per case."""

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.calendar import Clock
from schemas.domain import Code, Level, Severity


class ReminderBackoff(BaseModel):
    """Supervision reminders for a late department: first after `initial`, then doubling up to `maximum`."""

    model_config = ConfigDict(frozen=True)

    initial: timedelta = timedelta(hours=1)
    maximum: timedelta = timedelta(hours=8)
    max_reminders: int = Field(default=5, ge=0, le=50)


class Budget(BaseModel):
    """A time budget and the clock it runs on. Given as a bare duration it is wall-clock, as every budget was
    before clocks (and as the 5341 promises to residents stay); on the WORKING clock its days are working days
    and the rest working hours, on the calendar of the organisation that owns the level."""

    model_config = ConfigDict(frozen=True)

    duration: timedelta
    clock: Clock = Clock.WALL

    @model_validator(mode="before")
    @classmethod
    def _bare_duration(cls, value: Any) -> Any:
        return value if isinstance(value, dict | Budget) else {"duration": value}

    @field_validator("duration")
    @classmethod
    def _positive(cls, duration: timedelta) -> timedelta:
        if duration <= timedelta(0):
            raise ValueError("must be positive")
        return duration


class SlaPolicy(BaseModel):
    """Budgets per level and severity. For COMPLEX cases the level budget is the time to present a plan."""

    model_config = ConfigDict(frozen=True)

    name: Code = "default"
    budgets: dict[Level, dict[Severity, Budget]]
    warning_ratio: float = Field(default=0.8, gt=0, lt=1)  # of the counted time
    arrival: timedelta = timedelta(minutes=5)
    plan_cap: timedelta = timedelta(days=30)
    feedback_window: timedelta = timedelta(days=3)
    council_quorum: int = Field(default=2, ge=1, le=3)
    department_accept: Budget = Budget(duration=timedelta(hours=2))
    department_work: dict[Severity, Budget]
    reminders: ReminderBackoff = ReminderBackoff()
    duplicate_window: timedelta = timedelta(hours=24)
    volunteer_points: int = Field(default=10, ge=0, le=1000)  # credited when a volunteer's case closes satisfied
    # 挂起: paused time (wall clock) a case may spend in more than one pause before a supervisor must approve
    pause_limit: timedelta = timedelta(days=15)

    @field_validator("budgets")
    @classmethod
    def every_level_and_severity(cls, budgets: dict[Level, dict[Severity, Budget]]):
        for level in Level:
            if level not in budgets:
                raise ValueError(f"budgets: level {level} missing")
            for severity in Severity:
                if severity not in budgets[level]:
                    raise ValueError(f"budgets: {level}/{severity} missing")
        return budgets

    @field_validator("department_work")
    @classmethod
    def every_severity(cls, work: dict[Severity, Budget]):
        for severity in Severity:
            if severity not in work:
                raise ValueError(f"department_work: {severity} missing")
        return work

    @model_validator(mode="after")
    def positive_durations(self):
        for field in ("arrival", "plan_cap", "feedback_window", "duplicate_window", "pause_limit"):
            if getattr(self, field) <= timedelta(0):
                raise ValueError(f"{field} must be positive")
        return self

    def budget(self, level: Level, severity: Severity) -> Budget:
        return self.budgets[level][severity]
