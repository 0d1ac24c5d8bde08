"""挂起: a case's level, or a department's task, paused while it waits on something outside everyone's control.

The level's owner (a department, on its task) asks with a reason and an optional until-date; the level above
(the district centre, for departments and at the top) approves or denies. While paused no deadline runs and
no warning or breach fires; on resume every deadline moves by the time that would have counted meanwhile.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel


class PauseReason(StrEnum):
    RESIDENT = "RESIDENT"  # waiting for the resident (access to the flat, documents, an answer)
    THIRD_PARTY = "THIRD_PARTY"  # waiting for a third party (a utility, a contractor, a neighbour)
    WEATHER = "WEATHER"  # the weather does not allow the work
    DECISION = "DECISION"  # waiting for a court's or an administrative decision


class PauseEnd(StrEnum):
    HAND = "HAND"  # resumed by the owner, the decider or a supervisor
    UNTIL = "UNTIL"  # its until-date came
    RESIDENT = "RESIDENT"  # the resident answered
    MOVED = "MOVED"  # the case or task moved on (escalated, resolved, completed, returned, closed)


class Pause(BaseModel):
    """One pause, from its request to its end."""

    by: str
    reason: PauseReason
    note: str | None = None
    until: datetime | None = None
    requested_at: datetime
    decider: str  # who approves: the level above, the district centre, or a supervisor past the policy's limit
    approved_by: str | None = None
    started_at: datetime | None = None  # approved: the clock stopped
    ended_at: datetime | None = None
    ended_by: str | None = None
    end: PauseEnd | None = None
    counted: timedelta | None = None  # what the stopped clock would have counted (working time on a working clock)

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.ended_at is None

    @property
    def length(self) -> timedelta:
        """How long the clock stood still (so far, for a pause still running: until its last change)."""
        if self.started_at is None or self.ended_at is None:
            return timedelta()
        return self.ended_at - self.started_at
