"""The rules of one case, free of Temporal: who may do what at which level, and what it changes.

Every action has a `check_*` (raises `Rejected`, changes nothing; used by update validators) and an
`apply_*` (assumes the check passed; takes `now` from the workflow clock). Timers are data: `next_due`
says when something falls due and `fire_due` applies whatever has.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from schemas.actions import ActionKind
from schemas.calendar import Clock, WorkCalendar
from schemas.case import (
    TASKS_DONE,
    VOLUNTEER_DONE,
    Accept,
    Actor,
    AddNote,
    Arrive,
    Breach,
    BreachKind,
    CaseStart,
    CaseSummary,
    CaseView,
    Conclude,
    DecideExtension,
    DecidePause,
    DepartmentSummons,
    EventKind,
    ExtensionRequest,
    Feedback,
    LinkReport,
    PresentPlan,
    Proposal,
    ReissueToken,
    Rejection,
    RequestExtension,
    RequestPause,
    ResidentAnswer,
    ResidentRole,
    Resolve,
    Resume,
    Signoff,
    Stage,
    Supervise,
    SuperviseAction,
    TimelineEvent,
    Vote,
    Whistle,
    Withdraw,
)
from schemas.domain import CloseReason, Level, PartyRole, Severity, Status
from schemas.messages import N_, Message
from schemas.pause import Pause, PauseEnd, PauseReason
from schemas.policy import Budget
from schemas.registry import CaseContext, VolunteerCredit
from schemas.task import TaskChange, TaskRole, TaskStatus, TaskView, task_workflow_id


class Rejected(Exception):
    """An action the case does not allow; `kind` is a `Rejection`, the refusal says why (an English template
    marked for the catalogue, and its parameters, see `schemas.messages.PARAMETERS`)."""

    def __init__(self, kind: Rejection, template: str, **params: Any) -> None:
        self.words = Message(template=template, params=params)
        super().__init__(self.words.english())
        self.kind = kind


# A return goes back to the street (reroute or conclude) even when the remaining tasks are complete.
RETURNS_GO_TO_STREET = "returns-go-to-street"


def _passes(check: Callable[[str], None], org: str) -> bool:
    try:
        check(org)
    except Rejected:
        return False
    return True


# how many tokens given again to a retried report stay valid beside the first (each retry gives one)
REISSUED_KEPT = 3


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CaseState:
    def __init__(self, start: CaseStart, context: CaseContext, now: datetime, patched: Callable[[str], bool]) -> None:
        self.patched = patched  # `workflow.patched` in the workflow: whether a behaviour change applies
        self.case_id = start.case_id
        self.report = start.report
        self.token_hash = start.token_hash
        self.ctx = context
        self.policy = context.policy
        self.severity: Severity = start.report.severity or context.category.default_severity
        self.reported_at = now
        self.updated_at = now
        self.status = Status.REPORTED
        self.stages: list[Stage] = []
        self.proposal: Proposal | None = None
        self.extension: ExtensionRequest | None = None
        self.pause: Pause | None = None  # 挂起: requested, or running
        self.pauses: list[Pause] = []  # ended
        self.breaches: list[Breach] = []
        self.timeline: list[TimelineEvent] = []
        self.feedback_due: datetime | None = None
        self.resolved_level: Level | None = None
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.close_reason: CloseReason | None = None
        self.reopen_count = 0
        self.unsatisfied_count = 0
        self.first_time_satisfied: bool | None = None
        self.score: int | None = None
        self.whistles = 0
        self.auto_escalations = 0
        self.supervision = False
        self.overdue = False
        self.tasks: dict[str, TaskView] = {}
        self.summons: list[tuple[str, TaskRole]] = []  # departments to start tasks for (drained by workflow)
        self.cancellations: list[str] = []  # open tasks to cancel (drained by workflow)
        self.reroute_due: datetime | None = None
        self.returned: list[str] = []  # departments whose return waits for the street to reroute or conclude
        self.volunteer: str | None = None
        self.linked_reports: list[str] = []
        # each follower's token hash, under the intake key its report came with (else under the hash itself)
        self.followers: dict[str, str] = {}
        self.reissued: list[str] = []  # the reporter's tokens given again to a retried report, latest last
        self.credit: VolunteerCredit | None = None  # points owed to a volunteer (drained by workflow)
        self._record(
            now,
            EventKind.REPORTED,
            None,
            {
                "channel": self.report.channel,
                "category": self.ctx.category.code,
                "severity": self.severity,
                "policy": self.policy.name,
            },
            level=Level.COUNCIL,
        )
        self._enter(Level.COUNCIL, now)

    # ---- who is who -------------------------------------------------------------------------------

    @property
    def stage(self) -> Stage:
        return self.stages[-1]

    @property
    def level(self) -> Level:
        return self.stage.level

    def owner_of(self, level: Level) -> str:
        return {
            Level.COUNCIL: self.ctx.council_owner,
            Level.COMMUNITY: self.ctx.community_org,
            Level.STREET: self.ctx.street_org,
            Level.DISTRICT: self.ctx.district_org,
        }[level]

    def decider_of(self, level: Level) -> str:
        """Who decides an extension at `level`: the level above (the district centre at the top)."""
        above = level.above
        return self.owner_of(above) if above else self.ctx.district_org

    def party_of(self, org: str) -> PartyRole | None:
        for party, code in self.ctx.council.items():
            if code == org:
                return party
        return None

    @property
    def quorum(self) -> int:
        """Sign-offs a council resolution needs: the policy's, or every party of a council with fewer parties
        (a compound without an owners' committee or property company). Councils of three keep the policy's."""
        return min(self.policy.council_quorum, len(self.ctx.council))

    def is_supervisor(self, org: str) -> bool:
        return org == self.ctx.district_org

    def calendar_of(self, org: str) -> WorkCalendar:
        return self.ctx.calendar_of(org)

    @property
    def paused(self) -> bool:
        return self.pause is not None and self.pause.running

    def acts_for_level(self, org: str) -> bool:
        """The current level's owner; at COUNCIL any of the three parties."""
        if self.level is Level.COUNCIL:
            return self.party_of(org) is not None
        return org == self.stage.owner

    def participants(self) -> set[str]:
        return {
            *self.ctx.council.values(),
            self.ctx.community_org,
            self.ctx.street_org,
            self.ctx.district_org,
            *self.tasks,
            *([self.volunteer] if self.volunteer else []),
        }

    # ---- checks shared by several actions -----------------------------------------------------------

    def _require_open(self) -> None:
        if self.status is Status.CLOSED:
            raise self._closed()
        if self.status is Status.RESOLVED:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("case %(case)s is resolved and waiting for the resident's feedback"),
                case=self.case_id,
            )

    def _closed(self) -> Rejected:
        return Rejected(
            Rejection.CLOSED,
            N_("case %(case)s is closed (%(close_reason)s)"),
            case=self.case_id,
            close_reason=self.close_reason,
        )

    def _require_level_actor(self, org: str, action: str) -> None:
        """`action`: an English phrase marked with N_ ("accept", "resolve" ...)."""
        if self.acts_for_level(org):
            return
        if self.level is Level.COUNCIL:
            raise Rejected(
                Rejection.FORBIDDEN,
                N_("%(org)s cannot %(action)s at %(level)s: only one of the council parties can"),
                org=org,
                action=action,
                level=self.level,
            )
        raise Rejected(
            Rejection.FORBIDDEN,
            N_("%(org)s cannot %(action)s at %(level)s: only %(owner)s can"),
            org=org,
            action=action,
            level=self.level,
            owner=self.stage.owner,
        )

    def _require_accepted(self, action: str) -> None:
        if self.status is not Status.IN_PROGRESS:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("cannot %(action)s before the case is accepted at %(level)s (accept first)"),
                action=action,
                level=self.level,
            )

    def _require_resident(self, token: str) -> None:
        if self.token_hash is None:
            raise Rejected(Rejection.FORBIDDEN, N_("this case has no resident access token"))
        if token_hash(token) not in (self.token_hash, *self.reissued):
            raise Rejected(Rejection.FORBIDDEN, N_("the access token does not belong to this case"))

    def _require_clock_running(self, action: str) -> None:
        if self.paused:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("the case is paused (挂起), its deadline stands still: resume it to %(action)s"),
                action=action,
            )

    def _require_departments(self, summons: DepartmentSummons) -> None:
        unknown = [code for code in summons.codes() if code not in self.ctx.departments]
        if unknown:
            raise Rejected(Rejection.INVALID_INPUT, N_("unknown department(s): %(orgs)s"), orgs=unknown)

    # ---- actions --------------------------------------------------------------------------------------

    # ---- what an organisation may do now -------------------------------------------------------------
    # Each `may_*` is the part of a check about who acts and the case's state (raises `Rejected`); the check
    # adds what concerns the command's content. `actions` offers what the `may_*` let through.

    def actions(self, org: str) -> list[ActionKind]:
        may: dict[ActionKind, Callable[[str], None]] = {
            ActionKind.ACCEPT: self.may_accept,
            ActionKind.ARRIVE: self.may_arrive,
            ActionKind.NOTE: self.may_note,
            ActionKind.PLAN: self.may_plan,
            ActionKind.RESOLVE: self.may_resolve,
            ActionKind.SIGNOFF: self.may_signoff,
            ActionKind.WHISTLE: self.may_whistle,
            ActionKind.REQUEST_EXTENSION: self.may_request_extension,
            ActionKind.DECIDE_EXTENSION: self.may_decide_extension,
            ActionKind.REQUEST_PAUSE: self.may_request_pause,
            ActionKind.DECIDE_PAUSE: self.may_decide_pause,
            ActionKind.RESUME: self.may_resume,
            ActionKind.SUPERVISE: self.may_supervise,
            ActionKind.DISPATCH: self.may_dispatch,
            ActionKind.REROUTE: self.may_reroute,
            ActionKind.CONCLUDE: self.may_conclude,
        }
        return [kind for kind, check in may.items() if _passes(check, org)]

    def check_accept(self, cmd: Accept) -> None:
        self.may_accept(cmd.actor.org)

    def may_accept(self, org: str) -> None:
        self._require_open()
        self._require_level_actor(org, N_("accept"))
        if self.status is Status.IN_PROGRESS:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("already accepted at %(level)s by %(org)s"),
                level=self.level,
                org=self.stage.accepted_by,
            )

    def apply_accept(self, cmd: Accept, now: datetime) -> None:
        self.status = Status.IN_PROGRESS
        self.stage.accepted_by = cmd.actor.org
        self.stage.accepted_at = now
        self._record(now, EventKind.ACCEPTED, cmd.actor.org, self._person(cmd.actor))

    def check_arrive(self, cmd: Arrive) -> None:
        self.may_arrive(cmd.actor.org)

    def may_arrive(self, org: str) -> None:
        self._require_open()
        self._require_level_actor(org, N_("record an on-site arrival"))
        if self.stage.arrived_at is not None:
            raise Rejected(Rejection.INVALID_STATE, N_("arrival at %(level)s already recorded"), level=self.level)

    def apply_arrive(self, cmd: Arrive, now: datetime) -> None:
        self.stage.arrived_at = now
        on_time = self.stage.arrival_due is None or now <= self.stage.arrival_due
        self._record(
            now, EventKind.ARRIVED, cmd.actor.org, {"on_time": on_time, "note": cmd.note, **self._person(cmd.actor)}
        )

    def check_note(self, cmd: AddNote) -> None:
        self.may_note(cmd.actor.org)

    def may_note(self, org: str) -> None:
        if self.status is Status.CLOSED:
            raise self._closed()
        if org not in self.participants():
            raise Rejected(
                Rejection.FORBIDDEN,
                N_("%(org)s is not a participant of case %(case)s"),
                org=org,
                case=self.case_id,
            )

    def apply_note(self, cmd: AddNote, now: datetime) -> None:
        self._record(now, EventKind.NOTE, cmd.actor.org, {"text": cmd.text, **self._person(cmd.actor)})

    def check_plan(self, cmd: PresentPlan, now: datetime) -> None:
        self.may_plan(cmd.actor.org)
        if cmd.due_at <= now:
            raise Rejected(Rejection.INVALID_INPUT, N_("the plan's due date must be in the future"))
        if cmd.due_at > now + self.policy.plan_cap:
            raise Rejected(
                Rejection.INVALID_INPUT,
                N_("the plan's due date may be at most %(cap)s from now"),
                cap=self.policy.plan_cap,
            )

    def may_plan(self, org: str) -> None:
        self._require_open()
        self._require_level_actor(org, N_("present a plan"))
        if self.severity is not Severity.COMPLEX:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("solution plans are for COMPLEX cases; this one is %(severity)s"),
                severity=self.severity,
            )
        self._require_accepted(N_("present a plan"))
        self._require_clock_running(N_("present a plan"))
        if self.stage.plan_due is not None:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("a plan was already presented at this level; request an extension to move it"),
            )

    def apply_plan(self, cmd: PresentPlan, now: datetime) -> None:
        self.stage.plan_summary = cmd.summary
        self.stage.plan_due = cmd.due_at
        self._move_deadline(cmd.due_at, now)
        self._record(
            now,
            EventKind.PLAN_PRESENTED,
            cmd.actor.org,
            {"summary": cmd.summary, "due_at": cmd.due_at, **self._person(cmd.actor)},
        )

    def check_resolve(self, cmd: Resolve) -> None:
        self.may_resolve(cmd.actor.org)

    def may_resolve(self, org: str) -> None:
        self._require_open()
        self._require_level_actor(org, N_("resolve"))
        self._require_accepted(N_("resolve"))
        if self.proposal is not None:
            raise Rejected(Rejection.INVALID_STATE, N_("a resolution is already waiting for the council's sign-off"))
        if self.level is not Level.DISTRICT:
            return
        waiting = [code for code, task in self.tasks.items() if task.status.is_open]
        if waiting:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("at DISTRICT the case resolves when its department tasks complete; waiting for %(orgs)s"),
                orgs=waiting,
            )
        self._require_no_return()

    def apply_resolve(self, cmd: Resolve, now: datetime) -> None:
        if self.level is not Level.COUNCIL:
            self._resolve(now, cmd.actor.org, cmd.summary, self._person(cmd.actor))
            return
        party = self.party_of(cmd.actor.org)
        assert party is not None
        self.proposal = Proposal(by=cmd.actor.org, summary=cmd.summary, at=now)
        self._record(
            now, EventKind.RESOLUTION_PROPOSED, cmd.actor.org, {"summary": cmd.summary, **self._person(cmd.actor)}
        )
        self._vote(party, cmd.actor.org, True, None, now, self._person(cmd.actor))

    def check_signoff(self, cmd: Signoff) -> None:
        self.may_signoff(cmd.actor.org)

    def may_signoff(self, org: str) -> None:
        self._require_open()
        if self.level is not Level.COUNCIL:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("sign-off is for the compound council; the case is at %(level)s"),
                level=self.level,
            )
        party = self.party_of(org)
        if party is None:
            raise Rejected(
                Rejection.FORBIDDEN,
                N_("%(org)s is not one of this compound's council parties"),
                org=org,
            )
        if self.proposal is None:
            raise Rejected(Rejection.INVALID_STATE, N_("there is no proposed resolution to sign off"))
        if any(vote.party is party for vote in self.proposal.votes):
            raise Rejected(Rejection.INVALID_STATE, N_("%(party)s has already voted on this resolution"), party=party)

    def apply_signoff(self, cmd: Signoff, now: datetime) -> None:
        party = self.party_of(cmd.actor.org)
        assert party is not None
        self._vote(party, cmd.actor.org, cmd.agree, cmd.comment, now, self._person(cmd.actor))

    def check_whistle(self, cmd: Whistle) -> None:
        self.may_whistle(cmd.actor.org)
        if cmd.departments is not None:
            if self.level is not Level.STREET:
                raise Rejected(Rejection.INVALID_INPUT, N_("only the street names departments when it whistles"))
            self._require_departments(cmd.departments)

    def may_whistle(self, org: str) -> None:
        self._require_open()
        self._require_level_actor(org, N_("whistle"))
        if self.level.above is None:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("the case is already at DISTRICT, the top level; ask a supervisor to supervise"),
            )

    def apply_whistle(self, cmd: Whistle, now: datetime) -> None:
        self.whistles += 1
        self._escalate(
            now, cmd.actor.org, cmd.reason, automatic=False, departments=cmd.departments, who=self._person(cmd.actor)
        )

    def check_request_extension(self, cmd: RequestExtension, now: datetime) -> None:
        self.may_request_extension(cmd.actor.org)
        if cmd.until <= self.stage.deadline:
            raise Rejected(
                Rejection.INVALID_INPUT,
                N_("the new deadline must be after the current one (%(deadline)s)"),
                deadline=self.stage.deadline,
            )
        if cmd.until > now + self.policy.plan_cap:
            raise Rejected(
                Rejection.INVALID_INPUT,
                N_("an extension may reach at most %(cap)s from now"),
                cap=self.policy.plan_cap,
            )

    def may_request_extension(self, org: str) -> None:
        self._require_open()
        self._require_level_actor(org, N_("request an extension"))
        self._require_clock_running(N_("ask for more time"))
        if self.extension is not None:
            raise Rejected(Rejection.INVALID_STATE, N_("an extension request is already waiting for a decision"))

    def apply_request_extension(self, cmd: RequestExtension, now: datetime) -> None:
        self.extension = ExtensionRequest(by=cmd.actor.org, until=cmd.until, reason=cmd.reason, at=now)
        self._record(
            now,
            EventKind.EXTENSION_REQUESTED,
            cmd.actor.org,
            {
                "until": cmd.until,
                "reason": cmd.reason,
                "decider": self.decider_of(self.level),
                **self._person(cmd.actor),
            },
        )

    def check_decide_extension(self, cmd: DecideExtension) -> None:
        self.may_decide_extension(cmd.actor.org)

    def may_decide_extension(self, org: str) -> None:
        self._require_open()
        if self.extension is None:
            raise Rejected(Rejection.INVALID_STATE, N_("there is no extension request to decide"))
        decider = self.decider_of(self.level)
        if org != decider and not self.is_supervisor(org):
            raise Rejected(
                Rejection.FORBIDDEN,
                N_("%(org)s cannot decide this extension: %(decider)s or a supervisor decides"),
                org=org,
                decider=decider,
            )

    def apply_decide_extension(self, cmd: DecideExtension, now: datetime) -> None:
        request = self.extension
        assert request is not None
        self.extension = None
        if cmd.approve:
            self._move_deadline(request.until, now)
            self._record(
                now,
                EventKind.EXTENSION_APPROVED,
                cmd.actor.org,
                {"until": request.until, "reason": cmd.reason, **self._person(cmd.actor)},
            )
        else:
            self._record(
                now, EventKind.EXTENSION_DENIED, cmd.actor.org, {"reason": cmd.reason, **self._person(cmd.actor)}
            )

    def check_supervise(self, cmd: Supervise) -> None:
        self.may_supervise(cmd.actor.org)
        if cmd.action is SuperviseAction.ESCALATE and self.level.above is None:
            raise Rejected(Rejection.INVALID_STATE, N_("the case is already at DISTRICT; urge the late party instead"))

    def may_supervise(self, org: str) -> None:
        self._require_open()
        if not self.is_supervisor(org):
            raise Rejected(
                Rejection.FORBIDDEN,
                N_("%(org)s is not a supervisor of district %(district)s"),
                org=org,
                district=self.ctx.district,
            )

    def apply_supervise(self, cmd: Supervise, now: datetime) -> None:
        self.supervision = True
        late = [t.department for t in self.tasks.values() if t.status.is_open and t.overdue] or [self.stage.owner]
        self._record(
            now,
            EventKind.SUPERVISED,
            cmd.actor.org,
            {
                "action": cmd.action,
                "reason": cmd.reason,
                "against": late,
                # only signed-in people: a key's supervisions, replayed, record what they always did
                **(self._person(cmd.actor) if cmd.actor.account else {}),
            },
        )
        if cmd.action is SuperviseAction.ESCALATE:
            self._escalate(now, cmd.actor.org, f"supervision: {cmd.reason}", automatic=False)

    def check_feedback(self, cmd: Feedback) -> None:
        self._require_resident(cmd.token)
        if self.status is not Status.RESOLVED:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("feedback is given on a resolved case; this one is %(status)s"),
                status=self.status,
            )

    def apply_feedback(self, cmd: Feedback, now: datetime) -> None:
        self.score = cmd.score
        self._record(
            now,
            EventKind.FEEDBACK,
            "resident",
            {
                "satisfied": cmd.satisfied,
                "score": cmd.score,
                "comment": cmd.comment,
            },
        )
        if cmd.satisfied:
            if self.first_time_satisfied is None:
                self.first_time_satisfied = True
            self._close(now, CloseReason.SATISFIED)
            return
        self.first_time_satisfied = False
        self.unsatisfied_count += 1
        self.reopen_count += 1
        self.status = Status.REOPENED
        self.feedback_due = None
        resolved_at = self.resolved_level or self.level
        target = resolved_at.above if self.unsatisfied_count >= 2 and resolved_at.above else resolved_at
        self._record(
            now,
            EventKind.REOPENED,
            "resident",
            {
                "unsatisfied": self.unsatisfied_count,
                "level": target,
            },
        )
        self._enter(target, now, status=Status.REOPENED)

    def residents(self) -> dict[str, ResidentRole]:
        """Every resident's access token hash with their role on the case."""
        residents = dict.fromkeys(self.followers.values(), ResidentRole.FOLLOWER)
        if self.token_hash is not None:
            residents.update(dict.fromkeys((self.token_hash, *self.reissued), ResidentRole.REPORTER))
        return residents

    def resident_role(self, token: str) -> ResidentRole | None:
        return self.residents().get(token_hash(token))

    def check_link(self, cmd: LinkReport) -> None:
        if self.status is Status.CLOSED:
            raise self._closed()

    def apply_link(self, cmd: LinkReport, now: datetime) -> None:
        retried = cmd.intake_key in self.followers
        self.followers[cmd.intake_key or cmd.token_hash] = cmd.token_hash
        if retried:
            # intake linked this report, then failed before recording it; the retry's token is the one
            # the reporter receives, and they are still one reporter
            return
        masked = cmd.reporter.masked()
        label = " ".join(str(part) for part in (cmd.channel, cmd.external_id, masked.phone) if part)
        self.linked_reports.append(label)
        self._record(
            now,
            EventKind.DUPLICATE_LINKED,
            None,
            {
                "channel": cmd.channel,
                "external_id": cmd.external_id,
                "reporter": masked.model_dump(exclude_none=True),
                "reporters": 1 + len(self.linked_reports),
            },
        )

    def check_reissue(self, cmd: ReissueToken) -> None:
        if self.status is Status.CLOSED:
            raise self._closed()

    def apply_reissue(self, cmd: ReissueToken) -> ResidentRole:
        """A follower's new token replaces their last, as a retried link does; the reporter's joins the one the
        case started with (which stays: the first answer may have arrived after all), kept to the last few."""
        if cmd.intake_key in self.followers:
            self.followers[cmd.intake_key] = cmd.token_hash
            return ResidentRole.FOLLOWER
        self.reissued = [*self.reissued[-(REISSUED_KEPT - 1) :], cmd.token_hash]
        return ResidentRole.REPORTER

    def check_withdraw(self, cmd: Withdraw) -> None:
        self._require_resident(cmd.token)
        self._require_open()

    def apply_withdraw(self, cmd: Withdraw, now: datetime) -> None:
        self._record(now, EventKind.WITHDRAWN, "resident", {"reason": cmd.reason})
        self._close(now, CloseReason.WITHDRAWN)

    # ---- department tasks (reported by their child workflows) ---------------------------------------

    def _require_street_decision(self, org: str, action: str) -> None:
        """`action`: an English phrase marked with N_ ("reroute", "conclude")."""
        self._require_open()
        if self.level is not Level.DISTRICT:
            raise Rejected(
                Rejection.INVALID_STATE, N_("the street may %(action)s a case at DISTRICT only"), action=action
            )
        if org != self.ctx.street_org:
            raise Rejected(
                Rejection.FORBIDDEN,
                N_("only the street office %(street)s may %(action)s this case"),
                street=self.ctx.street_org,
                action=action,
            )
        if not self.returned:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("no department has returned this case; nothing to %(action)s"),
                action=action,
            )

    def _require_no_return(self) -> None:
        if self.returned:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_(
                    "%(orgs)s returned the task: the street %(street)s decides next "
                    "(reroute to another department, or conclude that the completed work suffices)"
                ),
                orgs=list(self.returned),
                street=self.ctx.street_org,
            )

    def check_reroute(self, org: str, summons: DepartmentSummons) -> None:
        self.may_reroute(org)
        self._require_departments(summons)
        busy = [code for code in summons.codes() if code in self.tasks and self.tasks[code].status.is_open]
        if busy:
            raise Rejected(Rejection.INVALID_INPUT, N_("already working on this case: %(orgs)s"), orgs=busy)

    def may_reroute(self, org: str) -> None:
        self._require_street_decision(org, N_("reroute"))

    def apply_reroute(
        self, org: str, summons: DepartmentSummons, reason: str, now: datetime, by: Actor | None = None
    ) -> None:
        self.reroute_due = None
        self.returned = []
        who = self._person(by) if by else {}
        details = {"lead": summons.lead, "assist": summons.assist, "reason": reason, **who}
        self._record(now, EventKind.REROUTED, org, details)
        self._summon(summons, now)

    def check_conclude(self, cmd: Conclude) -> None:
        self.may_conclude(cmd.actor.org)

    def may_conclude(self, org: str) -> None:
        self._require_street_decision(org, N_("conclude"))
        waiting = [code for code, task in self.tasks.items() if task.status.is_open]
        if waiting:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("%(orgs)s still working: conclude once every open task is done, or reroute"),
                orgs=waiting,
            )
        if not self._completed():
            raise Rejected(
                Rejection.INVALID_STATE, N_("no department has completed any work; reroute to one that will")
            )

    def apply_conclude(self, cmd: Conclude, now: datetime) -> None:
        self._record(
            now,
            EventKind.CONCLUDED,
            cmd.actor.org,
            {
                "reason": cmd.reason,
                "returned": list(self.returned),
                "completed": self._completed(),
                **self._person(cmd.actor),
            },
        )
        self._resolve(now, cmd.actor.org, cmd.reason)

    def _completed(self) -> list[str]:
        return [code for code, task in self.tasks.items() if task.status is TaskStatus.COMPLETED]

    def apply_task_change(self, change: TaskChange, now: datetime) -> None:
        self.tasks[change.task.department] = change.task
        if change.kind == EventKind.TASK_SUMMONED:
            return  # the case recorded the summons itself; this only brings the task into the view
        self._record(now, change.kind, change.actor, {"department": change.task.department, **change.details})
        if change.task.supervision:
            self.supervision = True
        if self.status is Status.CLOSED or self.level is not Level.DISTRICT:
            return
        if change.task.status is TaskStatus.ACCEPTED and self.status is not Status.IN_PROGRESS:
            self.status = Status.IN_PROGRESS
            self.stage.accepted_by = change.task.department
            self.stage.accepted_at = now
        if change.task.status is TaskStatus.RETURNED:
            self._after_return(change.task.department, now)
        if self._tasks_done() and not (self.returned and self.patched(RETURNS_GO_TO_STREET)):
            self._resolve(now, change.task.department, TASKS_DONE)

    def _tasks_done(self) -> bool:
        live = [t for t in self.tasks.values() if t.status is not TaskStatus.RETURNED]
        lead_done = any(t.role is TaskRole.LEAD and t.status is TaskStatus.COMPLETED for t in live)
        required_done = all(t.status is TaskStatus.COMPLETED for t in live if t.required)
        return lead_done and required_done

    def _after_return(self, department: str, now: datetime) -> None:
        if department not in self.returned:
            self.returned.append(department)
        if all(t.status in (TaskStatus.RETURNED, TaskStatus.CANCELLED) for t in self.tasks.values()):
            self.supervision = True
            self._record(now, EventKind.ALL_RETURNED, None, {"supervisor": self.ctx.district_org})
        self.reroute_due = self._due(self.ctx.street_org, self.policy.budget(Level.STREET, self.severity), now)

    def _summon(self, summons: DepartmentSummons, now: datetime) -> None:
        for code in summons.codes():
            role = TaskRole.LEAD if code == summons.lead else TaskRole.ASSIST
            self.summons.append((code, role))
            # Counted as open from now, so a completion that overtakes the child's first report cannot resolve.
            self.tasks[code] = TaskView(
                task_id=task_workflow_id(self.case_id, code),
                case_id=self.case_id,
                department=code,
                role=role,
                status=TaskStatus.SUMMONED,
                summoned_at=now,
                accept_due=self._due(code, self.policy.department_accept, now),
            )
            self._record(now, EventKind.TASK_SUMMONED, self.ctx.street_org, {"department": code, "role": role})

    # ---- volunteers (三单制) --------------------------------------------------------------------------

    def check_dispatch(self, org: str, volunteer: str) -> None:
        self.may_dispatch(org)

    def may_dispatch(self, org: str) -> None:
        self._require_open()
        if self.level is not Level.COMMUNITY:
            raise Rejected(
                Rejection.INVALID_STATE,
                N_("volunteers are dispatched at COMMUNITY; the case is at %(level)s"),
                level=self.level,
            )
        if org != self.ctx.community_org:
            raise Rejected(
                Rejection.FORBIDDEN,
                N_("only the community %(community)s dispatches volunteers"),
                community=self.ctx.community_org,
            )
        if self.volunteer is not None:
            raise Rejected(
                Rejection.INVALID_STATE, N_("already dispatched to volunteer %(volunteer)s"), volunteer=self.volunteer
            )

    def apply_dispatch(self, org: str, volunteer: str, now: datetime, by: Actor | None = None) -> None:
        self.volunteer = volunteer
        if self.status is not Status.IN_PROGRESS:
            self.status = Status.IN_PROGRESS
            self.stage.accepted_by = org
            self.stage.accepted_at = now
        self._record(now, EventKind.DISPATCHED, org, {"volunteer": volunteer, **(self._person(by) if by else {})})

    def check_volunteer(self, volunteer: str, kind: EventKind) -> None:
        self._require_open()
        if self.volunteer != volunteer:
            raise Rejected(
                Rejection.FORBIDDEN,
                N_("case %(case)s is not dispatched to volunteer %(volunteer)s"),
                case=self.case_id,
                volunteer=volunteer,
            )
        done = {e.kind for e in self.timeline if e.actor == volunteer and e.seq > self._dispatch_seq()}
        if kind is EventKind.VOLUNTEER_ACCEPTED and EventKind.VOLUNTEER_ACCEPTED in done:
            raise Rejected(Rejection.INVALID_STATE, N_("the volunteer has already taken this order"))
        if kind is EventKind.VOLUNTEER_COMPLETED and EventKind.VOLUNTEER_ACCEPTED not in done:
            raise Rejected(
                Rejection.INVALID_STATE, N_("the volunteer must take the order (accept) before completing it")
            )

    def _dispatch_seq(self) -> int:
        return max((e.seq for e in self.timeline if e.kind is EventKind.DISPATCHED), default=0)

    def apply_volunteer(self, volunteer: str, kind: EventKind, text: str | None, now: datetime) -> None:
        self._record(now, kind, volunteer, {"text": text} if text else {})
        if kind is EventKind.VOLUNTEER_COMPLETED:
            self._resolve(now, self.ctx.community_org, text or VOLUNTEER_DONE)

    # ---- pauses (挂起) ---------------------------------------------------------------------------------

    def paused_so_far(self) -> timedelta:
        return sum((pause.length for pause in self.pauses), timedelta())

    def _pause_decider(self, until: datetime | None, now: datetime) -> str:
        """The level above decides a first pause, and later ones within the policy's limit of paused time; past
        it (or without an until-date to measure), a supervisor."""
        if self.pauses and (until is None or self.paused_so_far() + (until - now) > self.policy.pause_limit):
            return self.ctx.district_org
        return self.decider_of(self.level)

    def check_request_pause(self, cmd: RequestPause, now: datetime) -> None:
        self.may_request_pause(cmd.actor.org)
        if cmd.until is not None and cmd.until <= now:
            raise Rejected(Rejection.INVALID_INPUT, N_("the pause's until-date must be in the future"))
        if cmd.until is not None and cmd.until > now + self.policy.plan_cap:
            raise Rejected(
                Rejection.INVALID_INPUT, N_("a pause may reach at most %(cap)s from now"), cap=self.policy.plan_cap
            )

    def may_request_pause(self, org: str) -> None:
        self._require_open()
        self._require_level_actor(org, N_("ask to pause the case"))
        if self.pause is not None and self.paused:
            raise Rejected(Rejection.INVALID_STATE, N_("the case is already paused"))
        if self.pause is not None:
            raise Rejected(Rejection.INVALID_STATE, N_("a pause request is already waiting for a decision"))

    def apply_request_pause(self, cmd: RequestPause, now: datetime) -> None:
        decider = self._pause_decider(cmd.until, now)
        self.pause = Pause(
            by=cmd.actor.org, reason=cmd.reason, note=cmd.note, until=cmd.until, requested_at=now, decider=decider
        )
        details = {"reason": cmd.reason, "note": cmd.note, "until": cmd.until, "decider": decider}
        self._record(now, EventKind.PAUSE_REQUESTED, cmd.actor.org, {**details, **self._person(cmd.actor)})

    def check_decide_pause(self, cmd: DecidePause) -> None:
        self.may_decide_pause(cmd.actor.org)

    def may_decide_pause(self, org: str) -> None:
        self._require_open()
        pause = self.pause
        if pause is None or pause.running:
            raise Rejected(Rejection.INVALID_STATE, N_("there is no pause request to decide"))
        if org == pause.decider or self.is_supervisor(org):
            return
        if pause.decider != self.decider_of(self.level):
            raise Rejected(
                Rejection.FORBIDDEN,
                N_(
                    "the case was paused before and this pause goes past the policy's %(cap)s of paused time: "
                    "only a supervisor (%(decider)s) decides it"
                ),
                cap=self.policy.pause_limit,
                decider=pause.decider,
            )
        raise Rejected(
            Rejection.FORBIDDEN,
            N_("%(org)s cannot decide this pause: %(decider)s or a supervisor decides"),
            org=org,
            decider=pause.decider,
        )

    def apply_decide_pause(self, cmd: DecidePause, now: datetime) -> None:
        pause = self.pause
        assert pause is not None
        if not cmd.approve:
            self.pause = None
            details = {"reason": cmd.reason, "by": pause.by, **self._person(cmd.actor)}
            self._record(now, EventKind.PAUSE_DENIED, cmd.actor.org, details)
            return
        pause.approved_by = cmd.actor.org
        pause.started_at = now
        self._record(
            now,
            EventKind.PAUSED,
            cmd.actor.org,
            {"reason": cmd.reason, "until": pause.until, "cause": pause.reason, **self._person(cmd.actor)},
        )

    def check_resume(self, cmd: Resume) -> None:
        self.may_resume(cmd.actor.org)

    def may_resume(self, org: str) -> None:
        self._require_open()
        pause = self.pause
        if pause is None or not pause.running:
            raise Rejected(Rejection.INVALID_STATE, N_("the case is not paused"))
        if not (self.acts_for_level(org) or org in (pause.by, pause.decider) or self.is_supervisor(org)):
            raise Rejected(
                Rejection.FORBIDDEN,
                N_("%(org)s cannot resume this case: the level's owner or %(decider)s can"),
                org=org,
                decider=pause.decider,
            )

    def apply_resume(self, cmd: Resume, now: datetime) -> None:
        self._resume(now, cmd.actor.org, PauseEnd.HAND, cmd.note, self._person(cmd.actor))

    def check_answer(self, cmd: ResidentAnswer) -> None:
        self._require_resident(cmd.token)
        self._require_open()
        if not (self.paused and self.pause is not None and self.pause.reason is PauseReason.RESIDENT):
            raise Rejected(Rejection.INVALID_STATE, N_("the case is not waiting for the resident's answer"))

    def apply_answer(self, cmd: ResidentAnswer, now: datetime) -> None:
        self._record(now, EventKind.RESIDENT_ANSWERED, "resident", {"text": cmd.text})
        self._resume(now, "resident", PauseEnd.RESIDENT)

    def _resume(
        self, now: datetime, by: str | None, end: PauseEnd, note: str | None = None, who: dict | None = None
    ) -> None:
        """The clock runs again: every deadline of the level moves by the time it would have counted meanwhile."""
        pause, stage = self.pause, self.stage
        assert pause is not None and pause.started_at is not None
        stopped = pause.started_at
        calendar = self.calendar_of(stage.owner)

        def moved(due: datetime, clock: Clock, on: WorkCalendar = calendar) -> datetime:
            return on.advance(clock, now, on.counted(clock, stopped, due)) if due > stopped else due

        stage.deadline = moved(stage.deadline, stage.clock)
        stage.warning_at = moved(stage.warning_at, stage.clock)
        if stage.arrival_due is not None:
            stage.arrival_due = moved(stage.arrival_due, Clock.WALL)
        if self.reroute_due is not None:
            street = self.policy.budget(Level.STREET, self.severity).clock
            self.reroute_due = moved(self.reroute_due, street, self.calendar_of(self.ctx.street_org))
        pause.counted = calendar.counted(stage.clock, stopped, now)
        self._end_pause(now, by, end)
        self._record(
            now,
            EventKind.RESUMED,
            by,
            {
                "end": end,
                "note": note,
                "paused_seconds": int(pause.length.total_seconds()),
                "counted_seconds": int(pause.counted.total_seconds()),
                "deadline": stage.deadline,
                **(who or {}),
            },
        )

    def _end_pause(self, now: datetime, by: str | None, end: PauseEnd) -> None:
        """Close the pause, if any: a running one joins the ended ones, a request still undecided lapses."""
        pause, self.pause = self.pause, None
        if pause is None or not pause.running:
            return
        pause.ended_at, pause.ended_by, pause.end = now, by, end
        self.stage.paused += pause.length
        self.pauses.append(pause)

    # ---- timers ---------------------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        due: list[datetime] = []
        stage = self.stage
        if self.status.is_open and self.paused:
            assert self.pause is not None
            if self.pause.until is not None:
                due.append(self.pause.until)
        elif self.status.is_open:
            if not stage.warned:
                due.append(stage.warning_at)
            if not stage.breached:
                due.append(stage.deadline)
            if stage.arrival_due and stage.arrived_at is None and not stage.arrival_breached:
                due.append(stage.arrival_due)
            if self.reroute_due:
                due.append(self.reroute_due)
        elif self.status is Status.RESOLVED and self.feedback_due:
            due.append(self.feedback_due)
        return min(due) if due else None

    def fire_due(self, now: datetime) -> None:
        stage = self.stage
        if self.status is Status.RESOLVED and self.feedback_due and now >= self.feedback_due:
            self._close(now, CloseReason.NO_FEEDBACK)
            return
        if not self.status.is_open:
            return
        if self.paused:
            assert self.pause is not None
            if self.pause.until is None or now < self.pause.until:
                return
            self._resume(now, None, PauseEnd.UNTIL)
        if stage.arrival_due and stage.arrived_at is None and not stage.arrival_breached and now >= stage.arrival_due:
            stage.arrival_breached = True
            self._breach(now, BreachKind.ARRIVAL, stage.arrival_due)
        if not stage.warned and now >= stage.warning_at:
            stage.warned = True
            self._record(now, EventKind.WARNING, None, {"owner": stage.owner, "deadline": stage.deadline})
        if self.reroute_due and now >= self.reroute_due:
            self.reroute_due = None
            self.supervision = True
            self._breach(now, BreachKind.DEADLINE, now, org=self.ctx.street_org, what="reroute")
        if not stage.breached and now >= stage.deadline:
            stage.breached = True
            self._breach(now, BreachKind.DEADLINE, stage.deadline)
            if self.level.above is not None:
                self.auto_escalations += 1
                self._escalate(now, None, f"{self.level} deadline passed", automatic=True)
            else:
                self.overdue = True
                self.supervision = True

    # ---- internals ------------------------------------------------------------------------------------

    def _record(
        self,
        now: datetime,
        kind: EventKind | str,
        actor: str | None,
        details: dict[str, Any],
        level: Level | None = None,
    ) -> None:
        self.updated_at = now
        self.timeline.append(
            TimelineEvent(
                seq=len(self.timeline) + 1,
                at=now,
                kind=EventKind(kind),
                level=level or self.level,
                actor=actor,
                details={key: value for key, value in details.items() if value is not None},
            )
        )

    @staticmethod
    def _person(actor) -> dict[str, Any]:
        """Who acted, when a person is known: their name, and their account when they signed in."""
        if not actor.person:
            return {}
        return {"person": actor.person, "account": actor.account} if actor.account else {"person": actor.person}

    def _due(self, org: str, budget: Budget, now: datetime) -> datetime:
        return self.calendar_of(org).deadline(budget.clock, now, budget.duration)

    def _warning_at(self, org: str, clock: Clock, start: datetime, deadline: datetime) -> datetime:
        """At the policy's ratio of the time the clock counts from `start` to `deadline`."""
        calendar = self.calendar_of(org)
        return calendar.advance(clock, start, calendar.counted(clock, start, deadline) * self.policy.warning_ratio)

    def _holidays(self, org: str, clock: Clock, start: datetime, deadline: datetime) -> list[str]:
        return self.calendar_of(org).holidays_between(start, deadline) if clock is Clock.WORKING else []

    def _enter(self, level: Level, now: datetime, status: Status = Status.REPORTED) -> None:
        self._end_pause(now, None, PauseEnd.MOVED)
        budget = self.policy.budget(level, self.severity)
        owner = self.owner_of(level)
        deadline = self._due(owner, budget, now)
        needs_arrival = level is Level.COUNCIL and self.ctx.category.needs_arrival and not self.stages
        self.stages.append(
            Stage(
                level=level,
                owner=owner,
                entered_at=now,
                budget=budget.duration,
                clock=budget.clock,
                deadline=deadline,
                warning_at=self._warning_at(owner, budget.clock, now, deadline),
                holidays=self._holidays(owner, budget.clock, now, deadline),
                arrival_due=now + self.policy.arrival if needs_arrival else None,
            )
        )
        self.status = status
        self.proposal = None
        self.extension = None
        self.overdue = False

    def _escalate(
        self,
        now: datetime,
        actor: str | None,
        reason: str,
        automatic: bool,
        departments: DepartmentSummons | None = None,
        who: dict | None = None,
    ) -> None:
        """`who`: the person who whistled (`_person`), if any."""
        source, target = self.level, self.level.above
        assert target is not None
        self._record(
            now,
            EventKind.ESCALATED,
            actor,
            {
                "from": source,
                "to": target,
                "reason": reason,
                "automatic": automatic,
                **(who or {}),
            },
        )
        self._enter(target, now)
        if target is Level.DISTRICT:
            routing = self.ctx.category.routing
            self._summon(departments or DepartmentSummons(lead=routing.lead, assist=routing.assist), now)

    def _move_deadline(self, until: datetime, now: datetime) -> None:
        stage = self.stage
        stage.deadline = until
        stage.warning_at = self._warning_at(stage.owner, stage.clock, now, until)
        stage.holidays = self._holidays(stage.owner, stage.clock, stage.entered_at, until)
        stage.warned = False
        stage.breached = False
        self.overdue = False

    def _breach(
        self, now: datetime, kind: BreachKind, due: datetime, org: str | None = None, what: str | None = None
    ) -> None:
        late = org or self.stage.owner
        self.breaches.append(Breach(kind=kind, level=self.level, org=late, due=due, at=now))
        event = EventKind.ARRIVAL_BREACHED if kind is BreachKind.ARRIVAL else EventKind.SLA_BREACHED
        self._record(now, event, None, {"against": late, "due": due, "what": what})

    def _vote(
        self, party: PartyRole, org: str, agree: bool, comment: str | None, now: datetime, who: dict | None = None
    ) -> None:
        proposal = self.proposal
        assert proposal is not None
        proposal.votes.append(Vote(party=party, org=org, agree=agree, comment=comment, at=now))
        self._record(
            now,
            EventKind.SIGNED_OFF if agree else EventKind.OBJECTED,
            org,
            {
                "party": party,
                "comment": comment,
                **(who or {}),
            },
        )
        quorum = self.quorum
        if proposal.agreed >= quorum:
            self._resolve(now, proposal.by, proposal.summary)
        elif len(self.ctx.council) - proposal.objected < quorum:
            self.proposal = None
            self._record(now, EventKind.PROPOSAL_FAILED, None, {"objections": proposal.objected, "quorum": quorum})

    def _resolve(self, now: datetime, actor: str, summary: str, who: dict | None = None) -> None:
        self._end_pause(now, None, PauseEnd.MOVED)
        self.status = Status.RESOLVED
        self.proposal = None
        self.extension = None
        self.reroute_due = None
        self.returned = []
        self.resolved_level = self.level
        self.resolved_at = now
        self.feedback_due = now + self.policy.feedback_window
        details = {"summary": summary, "feedback_due": self.feedback_due, **(who or {})}
        self._record(now, EventKind.RESOLVED, actor, details)

    def _close(self, now: datetime, reason: CloseReason) -> None:
        self._end_pause(now, None, PauseEnd.MOVED)
        self.status = Status.CLOSED
        self.close_reason = reason
        self.closed_at = now
        self.feedback_due = None
        self.reroute_due = None
        self.returned = []
        self.overdue = False
        self.cancellations = [code for code, task in self.tasks.items() if task.status.is_open]
        completed_by = {e.actor for e in self.timeline if e.kind is EventKind.VOLUNTEER_COMPLETED}
        if reason is CloseReason.SATISFIED and self.volunteer in completed_by:
            self.credit = VolunteerCredit(
                case_id=self.case_id, volunteer=self.volunteer, points=self.policy.volunteer_points
            )
        self._record(now, EventKind.CLOSED, None, {"reason": reason})

    # ---- views ----------------------------------------------------------------------------------------

    def summary(self) -> CaseSummary:
        return CaseSummary(**self._summary_fields())

    def view(self) -> CaseView:
        return CaseView(
            **self._summary_fields(),
            reporter=self.report.reporter.masked(),
            location=self.report.location,
            photo_urls=[str(url) for url in self.report.photo_urls],
            stage=self.stage,
            stages=self.stages,
            council=self.ctx.council,
            proposal=self.proposal,
            extension=self.extension,
            pause=self.pause,
            pauses=self.pauses,
            feedback_due=self.feedback_due,
            breaches=self.breaches,
            tasks=list(self.tasks.values()),
            returned=self.returned,
            volunteer=self.volunteer,
            linked_reports=self.linked_reports,
            timeline=self.timeline,
        )

    def _summary_fields(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "status": self.status,
            "level": self.level,
            "severity": self.severity,
            "category": self.ctx.category.code,
            "channel": self.report.channel,
            "external_id": self.report.external_id,
            "district": self.ctx.district,
            "street": self.ctx.street,
            "community": self.ctx.community,
            "compound": self.ctx.compound,
            "owner": self.stage.owner,
            "description": self.report.description,
            "reported_at": self.reported_at,
            "updated_at": self.updated_at,
            "deadline": self.stage.deadline if self.status.is_open and not self.paused else None,
            "overdue": self.overdue,
            "paused": self.paused,
            "supervision": self.supervision,
            "resolved_level": self.resolved_level,
            "resolved_at": self.resolved_at,
            "closed_at": self.closed_at,
            "close_reason": self.close_reason,
            "reopen_count": self.reopen_count,
            "unsatisfied_count": self.unsatisfied_count,
            "first_time_satisfied": self.first_time_satisfied,
            "score": self.score,
            "whistles": self.whistles,
            "auto_escalations": self.auto_escalations,
            "reporters": 1 + len(self.linked_reports),
            "last_seq": len(self.timeline),
        }
