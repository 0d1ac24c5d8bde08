"""District department tasks (部门报到): one per summoned department."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


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
    result: str | None = None
    evidence_urls: list[str] = []
    return_reason: str | None = None
    overdue: bool = False
    supervision: bool = False
    reminders: int = 0
