"""Filtered case lists over the read model: the filter, its sort orders and keyset-pagination cursors."""

import base64
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.case import CaseSummary
from schemas.domain import CloseReason, Code, Level, Severity, Status
from schemas.instant import Instant
from schemas.messages import N_, Invalid
from schemas.task import TaskRole, TaskStatus


class CaseSort(StrEnum):
    DEADLINE = "deadline"  # overdue first, then the soonest deadline; cases without one (closed) last
    OLDEST = "oldest"  # by report time, oldest first
    NEWEST = "newest"  # by report time, newest first


class CaseFilter(BaseModel):
    """Every filter is optional and they combine with AND; list filters match any of their values."""

    model_config = ConfigDict(extra="forbid")

    status: list[Status] = Field(default_factory=list)
    level: list[Level] = Field(default_factory=list)
    severity: list[Severity] = Field(default_factory=list)
    category: list[Code] = Field(default_factory=list)
    street: Code | None = None
    community: Code | None = None
    compound: Code | None = None
    owner: Code | None = Field(default=None, description="organisation owning the case at its current level")
    overdue: bool | None = None
    late: Code | None = Field(
        default=None,
        description="organisation late on an open case: below DISTRICT its owner past the deadline, at DISTRICT a "
        "department whose task deadline passed",
    )
    due_before: Instant | None = Field(default=None, description="deadline before (exclusive): late at that moment")
    resolved_level: list[Level] = Field(default_factory=list, description="resolved at one of these levels")
    close_reason: list[CloseReason] = Field(default_factory=list)
    responded: bool | None = Field(
        default=None, description="accepted before its first deadline passed (the response rate's 响应)"
    )
    supervised: bool | None = Field(default=None, description="flagged for 督办")
    first_time_satisfied: bool | None = Field(default=None, description="satisfied at the first feedback (or not)")
    reported_from: Instant | None = Field(default=None, description="reported at or after (inclusive)")
    reported_to: Instant | None = Field(default=None, description="reported before (exclusive)")
    sort: CaseSort = CaseSort.DEADLINE
    limit: int = Field(default=50, ge=1, le=1000)
    after: str | None = Field(default=None, max_length=200, description="`next_cursor` of the previous page")

    @model_validator(mode="after")
    def _consistent(self) -> "CaseFilter":
        if self.reported_from and self.reported_to and self.reported_from >= self.reported_to:
            raise ValueError(N_("reported_from must be before reported_to"))
        if self.after is not None:
            self.cursor()  # raises ValueError for a cursor that is not one of this sort's
        return self

    def cursor(self) -> tuple[Any, ...] | None:
        """The sort key of the last row of the previous page."""
        if self.after is None:
            return None
        try:
            sort, *key = json.loads(base64.urlsafe_b64decode(self.after.encode()))
        except (ValueError, TypeError) as error:
            raise ValueError(N_("after: not a cursor returned by this list")) from error
        if sort != self.sort or len(key) != len(_KEY_SHAPES[self.sort]):
            raise Invalid(
                N_("after: the cursor belongs to sort='%(given)s', not sort='%(sort)s'"),
                given=sort,
                sort=self.sort.value,
            )
        for value, shape in zip(key, _KEY_SHAPES[self.sort], strict=True):
            if not isinstance(value, shape):
                raise ValueError(N_("after: not a cursor returned by this list"))
        return tuple(key)


# Sort keys as the query compares them: (overdue last-flag, deadline text, case id) or (reported_at text, case id).
_KEY_SHAPES: dict[CaseSort, tuple[type, ...]] = {
    CaseSort.DEADLINE: (bool, str, str),
    CaseSort.OLDEST: (str, str),
    CaseSort.NEWEST: (str, str),
}


def cursor_after(sort: CaseSort, case: CaseSummary) -> str:
    """The cursor that continues a list after `case`."""
    if sort is CaseSort.DEADLINE:
        key: list[Any] = [not case.overdue, _timestamp(case.deadline), case.case_id]
    else:
        key = [_timestamp(case.reported_at), case.case_id]
    return base64.urlsafe_b64encode(json.dumps([sort.value, *key]).encode()).decode()


def _timestamp(at: datetime | None) -> str:
    return "infinity" if at is None else at.isoformat()


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(description="pass as `after` for the next page; null on the last page")


class ReturnAwaiting(BaseModel):
    """A department's return (退单) that waits for the street office to reroute the case or conclude it."""

    case_id: str
    department: str
    person: str | None = None
    reason: str | None = None
    returned_at: datetime
    street: str
    category: str
    description: str


class TaskSummary(BaseModel):
    """A department task as the read model stores it (the `department_tasks` row)."""

    task_id: str
    case_id: str
    department: str
    role: TaskRole
    status: TaskStatus
    summoned_at: datetime
    accept_due: datetime
    work_due: datetime | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    closed_reason: str | None = None
    result: str | None = None
    overdue: bool = False
    supervision: bool = False
    reminders: int = 0


class TaskFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: list[TaskStatus] = Field(
        default_factory=lambda: [TaskStatus.SUMMONED, TaskStatus.ACCEPTED], description="default: open tasks"
    )
    limit: int = Field(default=100, ge=1, le=500)

    @field_validator("status")
    @classmethod
    def _some(cls, status: list[TaskStatus]) -> list[TaskStatus]:
        return status or [TaskStatus.SUMMONED, TaskStatus.ACCEPTED]
