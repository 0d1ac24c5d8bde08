"""A person's inbox: the cases and department tasks waiting on their organisation, and what each expects next."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from schemas.domain import Code, Level, Status


class Expected(StrEnum):
    """What the organisation is expected to do next on an inbox item."""

    ACCEPT = "ACCEPT"  # 待接单
    ARRIVE = "ARRIVE"  # 待到场
    SIGNOFF = "SIGNOFF"  # 待签字确认 (a council proposal its party has not voted on)
    AWAIT_SIGNOFF = "AWAIT_SIGNOFF"  # its own proposal waits for the other parties
    RESOLVE = "RESOLVE"  # 待办结
    REPORT_FOR_DUTY = "REPORT_FOR_DUTY"  # 待报到 (a department's summoned task)
    COMPLETE = "COMPLETE"  # a department's accepted task: 待办结
    DECIDE_EXTENSION = "DECIDE_EXTENSION"  # 待审批延期
    DECIDE_PAUSE = "DECIDE_PAUSE"  # 待审批挂起
    REROUTE = "REROUTE"  # a department returned it: 待改派
    AWAIT_DEPARTMENTS = "AWAIT_DEPARTMENTS"  # at DISTRICT: the departments report and work


class InboxFilter(BaseModel):
    status: list[Status] = Field(default_factory=list)
    level: list[Level] = Field(default_factory=list)
    category: list[Code] = Field(default_factory=list)
    overdue: bool | None = None
    text: str | None = Field(default=None, max_length=100, description="a case id, or words of the description")
    page: int = Field(default=1, ge=1, le=10_000)
    size: int = Field(default=20, ge=1, le=100)


class InboxItem(BaseModel):
    case_id: str
    task: bool  # a department's task on the case (else the case itself)
    description: str
    category: str
    compound: str
    level: Level
    status: Status
    deadline: datetime | None
    overdue: bool
    expected: Expected


class InboxPage(BaseModel):
    items: list[InboxItem]
    total: int
    page: int
    pages: int
