"""District department tasks (部门报到): one child workflow per summoned department."""

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field, HttpUrl

from schemas.calendar import Clock, WorkCalendar
from schemas.domain import Code, LongText, Name, Severity, ShortText
from schemas.instant import Instant
from schemas.pause import Pause, PauseReason
from schemas.people import Account
from schemas.policy import ReminderBackoff


class TaskRole(StrEnum):
    LEAD = "LEAD"  # 主办
    ASSIST = "ASSIST"  # 协办


class TaskStatus(StrEnum):
    SUMMONED = "SUMMONED"
    ACCEPTED = "ACCEPTED"
    COMPLETED = "COMPLETED"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"

    @property
    def is_open(self) -> bool:
        return self in (TaskStatus.SUMMONED, TaskStatus.ACCEPTED)


def task_workflow_id(case_id: str, department: str) -> str:
    return f"case-{case_id}-dept-{department}"


class ExtensionRequest(BaseModel):
    """A request for a later deadline, waiting for its decision (a case's level, or a department's task)."""

    by: str
    until: datetime
    reason: str
    at: datetime


class TaskView(BaseModel):
    task_id: str  # workflow id: case-<case_id>-dept-<code>
    case_id: str
    department: str
    role: TaskRole
    required: bool = True
    status: TaskStatus
    summoned_at: datetime
    accept_due: datetime
    work_due: datetime | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    closed_reason: str | None = None  # return reason or cancellation reason
    result: str | None = None
    evidence_urls: list[str] = Field(default_factory=list)
    overdue: bool = False
    supervision: bool = False
    reminders: int = 0
    extension: ExtensionRequest | None = None  # waiting for the district centre's decision
    pause: Pause | None = None  # 挂起: waiting for the district centre's decision, or running
    pauses: list[Pause] = Field(default_factory=list)  # ended
    version: int = 0  # bumps on every change; the projection keeps the newest


class TaskStart(BaseModel):
    case_id: str
    department: Code
    role: TaskRole
    severity: Severity
    category: Code
    street: Code
    district_org: Code  # who decides a task's extension and hears about supervision
    accept_within: timedelta
    work_within: timedelta
    reminders: ReminderBackoff
    accept_clock: Clock = Clock.WALL
    work_clock: Clock = Clock.WALL
    calendar: WorkCalendar | None = None  # the department's; None (tasks started before calendars): the plain week


class TaskActor(BaseModel):
    department: Code
    person: Name | None = None
    account: Account | None = None  # the signed-in person's account


class TaskAccept(BaseModel):
    actor: TaskActor


class TaskNote(BaseModel):
    actor: TaskActor
    text: LongText


class TaskComplete(BaseModel):
    actor: TaskActor
    result: LongText
    evidence_urls: list[HttpUrl] = Field(default_factory=list, max_length=9)


class TaskReturn(BaseModel):
    actor: TaskActor
    reason: ShortText


class TaskExtension(BaseModel):
    actor: TaskActor
    until: Instant
    reason: ShortText


class TaskPause(BaseModel):
    """挂起: the department asks the district centre to stop its task's clock."""

    actor: TaskActor
    reason: PauseReason
    note: ShortText | None = None
    until: Instant | None = None


class TaskCancel(BaseModel):
    reason: ShortText


class TaskChange(BaseModel):
    """What a task tells its case: the new task state and what happened, for the case timeline."""

    kind: str  # an EventKind value (TASK_*)
    task: TaskView
    actor: str | None = None
    details: dict = Field(default_factory=dict)
