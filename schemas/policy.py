"""SLA policy as data (5341 standard defaults), validated when loaded and snapshotted per case."""

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.domain import Code, Level, Severity


class ReminderBackoff(BaseModel):
    """Supervision reminders for a late department: first after `initial`, then doubling up to `maximum`."""

    model_config = ConfigDict(frozen=True)

    initial: timedelta = timedelta(hours=1)
    maximum: timedelta = timedelta(hours=8)
    max_reminders: int = Field(default=5, ge=0, le=50)


class SlaPolicy(BaseModel):
    """Budgets per level and severity. For COMPLEX cases the level budget is the time to present a plan."""

    model_config = ConfigDict(frozen=True)

    name: Code = "default"
    budgets: dict[Level, dict[Severity, timedelta]]
    warning_ratio: float = Field(default=0.8, gt=0, lt=1)
    arrival: timedelta = timedelta(minutes=5)
    plan_cap: timedelta = timedelta(days=30)
    feedback_window: timedelta = timedelta(days=3)
    council_quorum: int = Field(default=2, ge=1, le=3)
    department_accept: timedelta = timedelta(hours=2)
    department_work: dict[Severity, timedelta]
    reminders: ReminderBackoff = ReminderBackoff()
    duplicate_window: timedelta = timedelta(hours=24)
    volunteer_points: int = Field(default=10, ge=0, le=1000)  # credited when a volunteer's case closes satisfied

    @field_validator("budgets")
    @classmethod
    def every_level_and_severity(cls, budgets: dict[Level, dict[Severity, timedelta]]):
        for level in Level:
            if level not in budgets:
                raise ValueError(f"budgets: level {level} missing")
            for severity in Severity:
                if severity not in budgets[level]:
                    raise ValueError(f"budgets: {level}/{severity} missing")
                if budgets[level][severity] <= timedelta(0):
                    raise ValueError(f"budgets: {level}/{severity} must be positive")
        return budgets

    @field_validator("department_work")
    @classmethod
    def every_severity(cls, work: dict[Severity, timedelta]):
        for severity in Severity:
            if severity not in work:
                raise ValueError(f"department_work: {severity} missing")
            if work[severity] <= timedelta(0):
                raise ValueError(f"department_work: {severity} must be positive")
        return work

    @model_validator(mode="after")
    def positive_durations(self):
        for field in ("arrival", "plan_cap", "feedback_window", "department_accept", "duplicate_window"):
            if getattr(self, field) <= timedelta(0):
                raise ValueError(f"{field} must be positive")
        return self

    def budget(self, level: Level, severity: Severity) -> timedelta:
        return self.budgets[level][severity]

    def warning_offset(self, budget: timedelta) -> timedelta:
        return budget * self.warning_ratio
