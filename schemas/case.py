"""A case: what a resident reports, every action's payload, and the view a workflow query returns."""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, field_validator

from schemas.calendar import Clock
from schemas.domain import (
    NO_NUL,
    Channel,
    CloseReason,
    Code,
    Level,
    LongText,
    Name,
    PartyRole,
    Severity,
    ShortText,
    Status,
)
from schemas.instant import Instant
from schemas.messages import N_
from schemas.pause import Pause, PauseReason
from schemas.people import Account
from schemas.registry import CaseContext
from schemas.task import ExtensionRequest, TaskView

# What a case says itself when it resolves without a person's summary: stored as these English words, read in the
# reader's language (i18n.timeline).
TASKS_DONE = N_("all required department tasks completed")
VOLUNTEER_DONE = N_("completed by volunteer")
OWN_SUMMARIES = frozenset({TASKS_DONE, VOLUNTEER_DONE})

CaseId = Annotated[str, StringConstraints(pattern=r"^WH-\d{8}-\d{6}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{5,18}[0-9]$")]
Token = Annotated[str, StringConstraints(min_length=16, max_length=128)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=NO_NUL)]


def mask_phone(phone: str) -> str:
    """138****5678: the first three and last four digits stay, the rest is hidden."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


class Reporter(BaseModel):
    name: Name | None = None
    phone: Phone | None = None
    anonymous: bool = False

    def masked(self) -> "ReporterView":
        if self.anonymous:
            return ReporterView(anonymous=True)
        return ReporterView(
            name=(self.name[0] + "*" * (len(self.name) - 1)) if self.name else None,
            phone=mask_phone(self.phone) if self.phone else None,
        )


class ReporterView(BaseModel):
    """What handlers, departments and logs may see of a reporter."""

    name: str | None = None
    phone: str | None = None
    anonymous: bool = False


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: ShortText | None = None


class CaseReport(BaseModel):
    """What a resident, hotline operator, grid worker or window clerk submits."""

    model_config = ConfigDict(extra="forbid")

    compound: Code
    category: Code
    severity: Severity | None = None  # default: the category's
    description: LongText
    channel: Channel = Channel.APP
    reporter: Reporter = Reporter()
    location: Location | None = None
    photo_urls: list[HttpUrl] = Field(default_factory=list, max_length=9)
    external_id: ExternalId | None = None  # 12345 ticket number and the like


class CaseStart(BaseModel):
    """The workflow input. The reporter's contact stays here (in Temporal only), never in projections."""

    case_id: CaseId
    report: CaseReport
    token_hash: str | None = None  # sha256 hex of the resident's access token
    policy: Code = "default"
    # the registry context intake resolved for this report, and the moment it resolved it for (its calendars
    # begin the day before); None in inputs from before it was passed: the workflow resolves it in an activity
    context: CaseContext | None = None
    context_at: datetime | None = None


class LinkReport(BaseModel):
    """A later report of the same issue: its reporter follows this case instead of a parallel one."""

    token_hash: str
    channel: Channel
    external_id: ExternalId | None = None
    reporter: Reporter = Reporter()
    # the ticket or Idempotency-Key it came with: a retry of the same report replaces the follower's token
    intake_key: str | None = Field(default=None, max_length=300)


class ReissueToken(BaseModel):
    """A report retried with the same Idempotency-Key and the same content after its answer was lost: the
    resident gets a new access token for the role the first attempt gave them (the first one's stays valid)."""

    intake_key: str = Field(max_length=300)
    token_hash: str


class ResidentRole(StrEnum):
    REPORTER = "REPORTER"  # may view, give feedback and withdraw
    FOLLOWER = "FOLLOWER"  # reported the same issue later: may view


class Actor(BaseModel):
    """Who acts: an organisation (already authenticated by the API or CLI) and optionally a person, with
    their account when they signed in (the name alone is what an API key's caller says)."""

    org: Code
    person: Name | None = None
    account: Account | None = None


class Accept(BaseModel):
    actor: Actor


class Arrive(BaseModel):
    actor: Actor
    note: ShortText | None = None


class AddNote(BaseModel):
    actor: Actor
    text: LongText


class PresentPlan(BaseModel):
    actor: Actor
    summary: LongText
    due_at: Instant


class Resolve(BaseModel):
    actor: Actor
    summary: LongText


class Signoff(BaseModel):
    actor: Actor
    agree: bool
    comment: ShortText | None = None


class DepartmentSummons(BaseModel):
    """Which departments a street whistles for: one lead (主办), optional assistants (协办)."""

    lead: Code
    assist: list[Code] = Field(default_factory=list, max_length=8)

    def codes(self) -> list[str]:
        return [self.lead, *[code for code in self.assist if code != self.lead]]


class Whistle(BaseModel):
    actor: Actor
    reason: ShortText
    departments: DepartmentSummons | None = None


class RequestExtension(BaseModel):
    actor: Actor
    until: Instant
    reason: ShortText


class DecideExtension(BaseModel):
    actor: Actor
    approve: bool
    reason: ShortText


class RequestPause(BaseModel):
    """挂起: the level's owner asks to stop the clock while the case waits on something outside its control."""

    actor: Actor
    reason: PauseReason
    note: ShortText | None = None
    until: Instant | None = None  # resume by itself then; without it, by hand (or the resident's answer)


class DecidePause(BaseModel):
    actor: Actor
    approve: bool
    reason: ShortText


class Resume(BaseModel):
    actor: Actor
    note: ShortText | None = None


class ResidentAnswer(BaseModel):
    """The resident answers a case paused to wait for them: the clock runs again."""

    token: Token
    text: LongText


class Reroute(BaseModel):
    """The street sends a returned case to other departments."""

    actor: Actor
    departments: DepartmentSummons
    reason: ShortText


class Conclude(BaseModel):
    """The street decides that the work its departments completed suffices, instead of rerouting a return."""

    actor: Actor
    reason: ShortText


class VolunteerDispatch(BaseModel):
    """社区派单: the community hands a resident's small request to a registered volunteer."""

    actor: Actor
    volunteer: Code


class VolunteerAction(BaseModel):
    """党员接单: the volunteer takes (accept) and finishes (complete) the order."""

    volunteer: Code
    action: Literal["accept", "complete"]
    text: LongText | None = None

    @property
    def event_kind(self) -> "EventKind":
        return EventKind.VOLUNTEER_ACCEPTED if self.action == "accept" else EventKind.VOLUNTEER_COMPLETED


class SuperviseAction(StrEnum):
    URGE = "URGE"  # 催办: recorded against the owner
    ESCALATE = "ESCALATE"  # force the case up one level


class Supervise(BaseModel):
    actor: Actor
    action: SuperviseAction = SuperviseAction.URGE
    reason: ShortText


class Feedback(BaseModel):
    token: Token
    satisfied: bool
    score: int = Field(ge=1, le=5)
    comment: ShortText | None = None


class Withdraw(BaseModel):
    token: Token
    reason: ShortText | None = None


class Rejection(StrEnum):
    """ApplicationError types an update validator raises; the API maps them to HTTP statuses."""

    NOT_READY = "NotReady"  # case still opening (first activity running)
    CLOSED = "CaseClosed"
    FORBIDDEN = "Forbidden"  # actor not allowed to do this here
    INVALID_STATE = "InvalidTransition"
    INVALID_INPUT = "InvalidInput"


CASE_OPENING = N_("the case is still opening; try again in a moment")
# A worker's refusal of a query that would leave a workflow ahead of its history (workers/queries_ahead.py); the
# caller asks again.
RUN_AHEAD = "the workflow ran ahead of its workflow task to answer this query; ask again"


class EventKind(StrEnum):
    REPORTED = "REPORTED"
    ACCEPTED = "ACCEPTED"
    ARRIVED = "ARRIVED"
    ARRIVAL_BREACHED = "ARRIVAL_BREACHED"
    NOTE = "NOTE"
    PLAN_PRESENTED = "PLAN_PRESENTED"
    RESOLUTION_PROPOSED = "RESOLUTION_PROPOSED"
    SIGNED_OFF = "SIGNED_OFF"
    OBJECTED = "OBJECTED"
    PROPOSAL_FAILED = "PROPOSAL_FAILED"
    RESOLVED = "RESOLVED"
    WARNING = "WARNING"
    SLA_BREACHED = "SLA_BREACHED"
    ESCALATED = "ESCALATED"
    EXTENSION_REQUESTED = "EXTENSION_REQUESTED"
    EXTENSION_APPROVED = "EXTENSION_APPROVED"
    EXTENSION_DENIED = "EXTENSION_DENIED"
    SUPERVISED = "SUPERVISED"
    FEEDBACK = "FEEDBACK"
    REOPENED = "REOPENED"
    WITHDRAWN = "WITHDRAWN"
    CLOSED = "CLOSED"
    TASK_SUMMONED = "TASK_SUMMONED"
    TASK_ACCEPTED = "TASK_ACCEPTED"
    TASK_NOTE = "TASK_NOTE"
    TASK_COMPLETED = "TASK_COMPLETED"
    TASK_RETURNED = "TASK_RETURNED"
    TASK_OVERDUE = "TASK_OVERDUE"
    TASK_EXTENSION_REQUESTED = "TASK_EXTENSION_REQUESTED"
    TASK_EXTENSION_APPROVED = "TASK_EXTENSION_APPROVED"
    TASK_EXTENSION_DENIED = "TASK_EXTENSION_DENIED"
    TASK_EXTENDED = "TASK_EXTENDED"  # request and decision alike, in histories recorded before the three above
    TASK_CANCELLED = "TASK_CANCELLED"
    REROUTED = "REROUTED"
    ALL_RETURNED = "ALL_RETURNED"
    CONCLUDED = "CONCLUDED"  # the street: the completed work suffices, a returned task is not rerouted
    DISPATCHED = "DISPATCHED"
    VOLUNTEER_ACCEPTED = "VOLUNTEER_ACCEPTED"
    VOLUNTEER_COMPLETED = "VOLUNTEER_COMPLETED"
    DUPLICATE_LINKED = "DUPLICATE_LINKED"
    PAUSE_REQUESTED = "PAUSE_REQUESTED"
    PAUSED = "PAUSED"
    PAUSE_DENIED = "PAUSE_DENIED"
    RESUMED = "RESUMED"
    RESIDENT_ANSWERED = "RESIDENT_ANSWERED"
    TASK_PAUSE_REQUESTED = "TASK_PAUSE_REQUESTED"
    TASK_PAUSED = "TASK_PAUSED"
    TASK_PAUSE_DENIED = "TASK_PAUSE_DENIED"
    TASK_RESUMED = "TASK_RESUMED"


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


class TimelineEvent(BaseModel):
    seq: int
    at: datetime
    kind: EventKind
    level: Level
    actor: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("details")
    @classmethod
    def _in_key_order(cls, details: dict[str, Any]) -> dict[str, Any]:
        """Keys sorted: `case_events.details` (jsonb) gives them back in its own order, and an event read
        from there must render exactly as the same event from the workflow."""
        return _sorted_keys(details)


class BreachKind(StrEnum):
    DEADLINE = "DEADLINE"
    ARRIVAL = "ARRIVAL"


class Breach(BaseModel):
    kind: BreachKind
    level: Level
    org: str  # the late party
    due: datetime
    at: datetime


class Stage(BaseModel):
    """The case's time at one level: who owns it, its budget and deadlines."""

    level: Level
    owner: str
    entered_at: datetime
    budget: timedelta
    clock: Clock = Clock.WALL  # what the budget counts: every minute, or the owner's working hours
    deadline: datetime
    warning_at: datetime  # at the policy's warning ratio of the counted time
    holidays: list[str] = Field(default_factory=list)  # holidays a working deadline was carried over (顺延)
    paused: timedelta = timedelta()  # how long the clock stood still at this level (挂起)
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    warned: bool = False
    breached: bool = False
    arrival_due: datetime | None = None
    arrived_at: datetime | None = None
    arrival_breached: bool = False
    plan_summary: str | None = None
    plan_due: datetime | None = None


class Vote(BaseModel):
    party: PartyRole
    org: str
    agree: bool
    comment: str | None = None
    at: datetime


class Proposal(BaseModel):
    """A council resolution waiting for its quorum of the three parties."""

    by: str
    summary: str
    at: datetime
    votes: list[Vote] = Field(default_factory=list)

    @property
    def agreed(self) -> int:
        return sum(1 for vote in self.votes if vote.agree)

    @property
    def objected(self) -> int:
        return sum(1 for vote in self.votes if not vote.agree)


class CaseSummary(BaseModel):
    """The case as the read model stores it (the `cases` row). No reporter contact details."""

    case_id: str
    status: Status
    level: Level
    severity: Severity
    category: str
    channel: Channel
    external_id: str | None = None
    district: str
    street: str
    community: str
    compound: str
    owner: str
    description: str
    reported_at: datetime
    updated_at: datetime
    deadline: datetime | None = None  # none while closed, resolved or paused
    overdue: bool = False
    paused: bool = False  # 挂起: the level's clock stands still
    supervision: bool = False  # flagged for 督办
    resolved_level: Level | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: CloseReason | None = None
    reopen_count: int = 0
    unsatisfied_count: int = 0
    first_time_satisfied: bool | None = None
    score: int | None = None
    whistles: int = 0  # manual escalations
    auto_escalations: int = 0
    reporters: int = 1  # the original plus linked duplicates
    last_seq: int = 0


class CaseView(CaseSummary):
    """Everything a participant may see: the `view` query's answer and every update's result."""

    reporter: ReporterView
    location: Location | None = None
    photo_urls: list[str] = Field(default_factory=list)
    stage: Stage | None = None
    stages: list[Stage] = Field(default_factory=list)
    council: dict[PartyRole, str] = Field(default_factory=dict)
    proposal: Proposal | None = None
    extension: ExtensionRequest | None = None
    pause: Pause | None = None  # waiting for a decision, or running
    pauses: list[Pause] = Field(default_factory=list)  # ended
    feedback_due: datetime | None = None
    breaches: list[Breach] = Field(default_factory=list)
    tasks: list[TaskView] = Field(default_factory=list)
    returned: list[str] = Field(default_factory=list)  # departments whose return waits for the street's decision
    volunteer: str | None = None
    linked_reports: list[str] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)


class CaseProjection(BaseModel):
    """One idempotent write of the read model: the case row, the events not yet written, and what keeps the
    case fully viewable once Temporal's retention has deleted its closed workflow."""

    summary: CaseSummary
    events: list[TimelineEvent]
    # The `view` query's answer without its timeline (`case_events` holds that): bounded, however long
    # the case runs. None from workflows started before it was sent.
    view: CaseView | None = None
    residents: dict[str, ResidentRole] = Field(default_factory=dict)  # access token sha256 hex -> role
