"""CaseWorkflow: one resident issue climbing COUNCIL -> COMMUNITY -> STREET -> DISTRICT under SLA timers.

The rules live in `CaseState`; this module is the Temporal plumbing: updates with validators, the
`view` query, the timer loop, the read-model projection and the department task children.
"""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.cases import CaseActivities
    from schemas.actions import ActionKind
    from schemas.case import (
        CASE_OPENING,
        Accept,
        AddNote,
        Arrive,
        CaseProjection,
        CaseStart,
        CaseSummary,
        CaseView,
        Conclude,
        DecideExtension,
        DecidePause,
        Feedback,
        LinkReport,
        PresentPlan,
        ReissueToken,
        Rejection,
        RequestExtension,
        RequestPause,
        Reroute,
        ResidentAnswer,
        ResidentRole,
        Resolve,
        Resume,
        Signoff,
        Supervise,
        VolunteerAction,
        VolunteerDispatch,
        Whistle,
        Withdraw,
    )
    from schemas.registry import ContextRequest
    from schemas.task import TaskCancel, TaskChange, TaskRole, TaskStart, task_workflow_id
    from workflows import search_attributes as sa
    from workflows.case_state import CaseState, Rejected
    from workflows.deadline import DeadlineTimer
    from workflows.department_task import DepartmentTaskWorkflow
    from workflows.idle import say_waiting
    from workflows.patches import LEAN_CASE
    from workflows.shared import shared

Command = TypeVar("Command", bound=BaseModel)

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Projection writes retry until PostgreSQL is back: a case never loses an event.
PROJECTION_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


# How far the case's clock may be from the moment intake resolved its context: its calendars begin the day
# before (a clock outside, as a test server's set to another date, resolves the context again).
CONTEXT_SKEW = timedelta(hours=12)


def _context_in_force(start: CaseStart) -> bool:
    return (
        start.context is not None
        and start.context_at is not None
        and abs(workflow.now() - start.context_at) < CONTEXT_SKEW
    )


@workflow.defn
class CaseWorkflow:
    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        self._case: CaseState | None = None
        self._projected = 0
        self._search: dict[str, object] = {}
        self._tasks: dict[str, workflow.ChildWorkflowHandle] = {}
        self._settling = False
        self._watches: list[asyncio.Task] = []
        self._timer = DeadlineTimer()
        if start.context is not None:
            # the SDK keeps the input for the workflow's life: its context is the worker's one instance
            start.context = shared(start.context)
        if _context_in_force(start) and workflow.patched(LEAN_CASE):
            assert start.context is not None
            self._case = CaseState(start, start.context, workflow.now(), workflow.patched)

    @workflow.run
    async def run(self, start: CaseStart) -> CaseSummary:
        if self._case is None:
            context = await workflow.execute_activity_method(
                CaseActivities.resolve_context,
                ContextRequest(compound=start.report.compound, category=start.report.category, policy=start.policy),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
            )
            self._case = CaseState(start, shared(context), workflow.now(), workflow.patched)
        case = self._case
        while True:
            resumed = await self._settle()
            if case.status.value == "CLOSED" and not self._open_tasks():
                break
            seen = len(case.timeline)
            fire_at = await self._timer.wait(
                case.next_due(), lambda seen=seen: len(case.timeline) != seen, resumed=resumed
            )
            if fire_at is not None:
                case.fire_due(fire_at)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._settle()
        return case.summary()

    async def _settle(self) -> bool:
        """Bring the outside world up to the state: children, search attributes, then the read model; whether
        it waited on any of them (the workflow task is then one their result began).

        Each step awaits, and an update may land meanwhile, so go round until nothing is left pending;
        the run loop only wakes on a new timeline event and would otherwise strand what arrived here.
        """
        case = self._require_case()
        waited = self._unsettled()
        self._settling = True
        while self._unsettled():
            while case.summons:
                department, role = case.summons[0]
                await self._start_task(department, role)
                case.summons.pop(0)
            while case.cancellations:
                department = case.cancellations.pop(0)
                handle = self._tasks.get(department)
                if handle is not None:
                    await handle.signal(DepartmentTaskWorkflow.cancel, TaskCancel(reason=f"case {case.close_reason}"))
            if case.credit is not None:
                await workflow.execute_activity_method(
                    CaseActivities.credit_volunteer, case.credit, start_to_close_timeout=ACTIVITY_TIMEOUT
                )
                case.credit = None
            if self._projected < len(case.timeline):
                upto = len(case.timeline)
                await workflow.execute_activity_method(
                    CaseActivities.project,
                    CaseProjection(
                        summary=case.summary(),
                        events=case.timeline[self._projected : upto],
                        view=case.view().model_copy(update={"timeline": []}),
                        residents=case.residents(),
                    ),
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=PROJECTION_RETRY,
                )
                self._projected = upto
        self._settling = False
        self._upsert_search_attributes()
        return waited

    def _unsettled(self) -> bool:
        case = self._require_case()
        pending = case.summons or case.cancellations or case.credit is not None
        return bool(pending) or self._projected < len(case.timeline)

    def _open_tasks(self) -> bool:
        case = self._require_case()
        return any(task.status.is_open for task in case.tasks.values())

    async def _start_task(self, department: str, role: TaskRole) -> None:
        case = self._require_case()
        policy = case.policy
        self._tasks[department] = await workflow.start_child_workflow(
            DepartmentTaskWorkflow.run,
            TaskStart(
                case_id=case.case_id,
                department=department,
                role=role,
                severity=case.severity,
                category=case.ctx.category.code,
                street=case.ctx.street,
                district_org=case.ctx.district_org,
                accept_within=policy.department_accept.duration,
                work_within=policy.department_work[case.severity].duration,
                reminders=policy.reminders,
                accept_clock=policy.department_accept.clock,
                work_clock=policy.department_work[case.severity].clock,
                calendar=case.calendar_of(department),
            ),
            id=task_workflow_id(case.case_id, department),
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        )
        self._watches.append(asyncio.create_task(self._say_when_ended(self._tasks[department])))

    async def _say_when_ended(self, task: workflow.ChildWorkflowHandle) -> None:
        """A department task's end comes as a result nothing else awaits (its signals told the case already):
        say so, so that the workflow task it begins does not end idle (workflows/idle.py)."""
        with contextlib.suppress(ChildWorkflowError):
            await task
        say_waiting(events=len(self._require_case().timeline))

    def _upsert_search_attributes(self) -> None:
        """Cases started before intake set the fixed attributes at the start upsert every attribute that changed
        (the read model answers every list by level, status, deadline and overdue)."""
        if workflow.patched(LEAN_CASE):
            return
        case = self._require_case()
        values = {
            sa.LEVEL: case.level.value,
            sa.STATUS: case.status.value,
            sa.CATEGORY: case.ctx.category.code,
            sa.SEVERITY: case.severity.value,
            sa.STREET: case.ctx.street,
            sa.COMMUNITY: case.ctx.community,
            sa.COMPOUND: case.ctx.compound,
            sa.DEADLINE: case.stage.deadline,
            sa.OVERDUE: case.overdue,
        }
        changed = [key.value_set(value) for key, value in values.items() if self._search.get(key.name) != value]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._search.update({key.name: value for key, value in values.items()})

    def _require_case(self) -> CaseState:
        if self._case is None:
            raise ApplicationError(CASE_OPENING, type=Rejection.NOT_READY, non_retryable=True)
        return self._case

    def _check(self, check: Callable[[CaseState], None]) -> None:
        """Run a rule check for a validator, turning a rejection into a typed ApplicationError."""
        case = self._require_case()
        try:
            check(case)
        except Rejected as rejected:
            raise ApplicationError(str(rejected), rejected.words, type=rejected.kind, non_retryable=True) from None

    async def _view_with_tasks_started(self) -> CaseView:
        """After a move to DISTRICT, answer once the summoned departments' tasks exist and can be acted on."""
        case = self._require_case()
        await workflow.wait_condition(lambda: not case.summons)
        return self.view()

    # ---- queries ----------------------------------------------------------------------------------------

    @workflow.query
    def view(self) -> CaseView:
        return self._require_case().view()

    @workflow.query
    def actions(self, org: str) -> list[ActionKind]:
        """What `org` may do on the case now: what its update validators would let through."""
        return self._require_case().actions(org)

    # ---- updates: handlers apply, validators check -------------------------------------------------------

    @workflow.update
    def accept(self, cmd: Accept) -> CaseView:
        self._require_case().apply_accept(cmd, workflow.now())
        return self.view()

    @accept.validator
    def _validate_accept(self, cmd: Accept) -> None:
        self._check(lambda case: case.check_accept(cmd))

    @workflow.update
    def arrive(self, cmd: Arrive) -> CaseView:
        self._require_case().apply_arrive(cmd, workflow.now())
        return self.view()

    @arrive.validator
    def _validate_arrive(self, cmd: Arrive) -> None:
        self._check(lambda case: case.check_arrive(cmd))

    @workflow.update
    def note(self, cmd: AddNote) -> CaseView:
        self._require_case().apply_note(cmd, workflow.now())
        return self.view()

    @note.validator
    def _validate_note(self, cmd: AddNote) -> None:
        self._check(lambda case: case.check_note(cmd))

    @workflow.update
    def plan(self, cmd: PresentPlan) -> CaseView:
        self._require_case().apply_plan(cmd, workflow.now())
        return self.view()

    @plan.validator
    def _validate_plan(self, cmd: PresentPlan) -> None:
        self._check(lambda case: case.check_plan(cmd, workflow.now()))

    @workflow.update
    def resolve(self, cmd: Resolve) -> CaseView:
        self._require_case().apply_resolve(cmd, workflow.now())
        return self.view()

    @resolve.validator
    def _validate_resolve(self, cmd: Resolve) -> None:
        self._check(lambda case: case.check_resolve(cmd))

    @workflow.update
    def signoff(self, cmd: Signoff) -> CaseView:
        self._require_case().apply_signoff(cmd, workflow.now())
        return self.view()

    @signoff.validator
    def _validate_signoff(self, cmd: Signoff) -> None:
        self._check(lambda case: case.check_signoff(cmd))

    @workflow.update
    async def whistle(self, cmd: Whistle) -> CaseView:
        self._require_case().apply_whistle(cmd, workflow.now())
        return await self._view_with_tasks_started()

    @whistle.validator
    def _validate_whistle(self, cmd: Whistle) -> None:
        self._check(lambda case: case.check_whistle(cmd))

    @workflow.update
    def request_extension(self, cmd: RequestExtension) -> CaseView:
        self._require_case().apply_request_extension(cmd, workflow.now())
        return self.view()

    @request_extension.validator
    def _validate_request_extension(self, cmd: RequestExtension) -> None:
        self._check(lambda case: case.check_request_extension(cmd, workflow.now()))

    @workflow.update
    def decide_extension(self, cmd: DecideExtension) -> CaseView:
        self._require_case().apply_decide_extension(cmd, workflow.now())
        return self.view()

    @decide_extension.validator
    def _validate_decide_extension(self, cmd: DecideExtension) -> None:
        self._check(lambda case: case.check_decide_extension(cmd))

    @workflow.update
    def request_pause(self, cmd: RequestPause) -> CaseView:
        self._require_case().apply_request_pause(cmd, workflow.now())
        return self.view()

    @request_pause.validator
    def _validate_request_pause(self, cmd: RequestPause) -> None:
        self._check(lambda case: case.check_request_pause(cmd, workflow.now()))

    @workflow.update
    def decide_pause(self, cmd: DecidePause) -> CaseView:
        self._require_case().apply_decide_pause(cmd, workflow.now())
        return self.view()

    @decide_pause.validator
    def _validate_decide_pause(self, cmd: DecidePause) -> None:
        self._check(lambda case: case.check_decide_pause(cmd))

    @workflow.update
    def resume(self, cmd: Resume) -> CaseView:
        self._require_case().apply_resume(cmd, workflow.now())
        return self.view()

    @resume.validator
    def _validate_resume(self, cmd: Resume) -> None:
        self._check(lambda case: case.check_resume(cmd))

    @workflow.update
    def answer(self, cmd: ResidentAnswer) -> CaseView:
        self._require_case().apply_answer(cmd, workflow.now())
        return self.view()

    @answer.validator
    def _validate_answer(self, cmd: ResidentAnswer) -> None:
        self._check(lambda case: case.check_answer(cmd))

    @workflow.update
    async def supervise(self, cmd: Supervise) -> CaseView:
        self._require_case().apply_supervise(cmd, workflow.now())
        return await self._view_with_tasks_started()

    @supervise.validator
    def _validate_supervise(self, cmd: Supervise) -> None:
        self._check(lambda case: case.check_supervise(cmd))

    @workflow.update
    def feedback(self, cmd: Feedback) -> CaseView:
        self._require_case().apply_feedback(cmd, workflow.now())
        return self.view()

    @feedback.validator
    def _validate_feedback(self, cmd: Feedback) -> None:
        self._check(lambda case: case.check_feedback(cmd))

    @workflow.update
    def withdraw(self, cmd: Withdraw) -> CaseView:
        self._require_case().apply_withdraw(cmd, workflow.now())
        return self.view()

    @withdraw.validator
    def _validate_withdraw(self, cmd: Withdraw) -> None:
        self._check(lambda case: case.check_withdraw(cmd))

    @workflow.update
    async def reroute(self, cmd: Reroute) -> CaseView:
        self._require_case().apply_reroute(cmd.actor.org, cmd.departments, cmd.reason, workflow.now(), cmd.actor)
        return await self._view_with_tasks_started()

    @reroute.validator
    def _validate_reroute(self, cmd: Reroute) -> None:
        self._check(lambda case: case.check_reroute(cmd.actor.org, cmd.departments))

    @workflow.update
    def conclude(self, cmd: Conclude) -> CaseView:
        self._require_case().apply_conclude(cmd, workflow.now())
        return self.view()

    @conclude.validator
    def _validate_conclude(self, cmd: Conclude) -> None:
        self._check(lambda case: case.check_conclude(cmd))

    @workflow.update
    def dispatch(self, cmd: VolunteerDispatch) -> CaseView:
        self._require_case().apply_dispatch(cmd.actor.org, cmd.volunteer, workflow.now(), cmd.actor)
        return self.view()

    @dispatch.validator
    def _validate_dispatch(self, cmd: VolunteerDispatch) -> None:
        self._check(lambda case: case.check_dispatch(cmd.actor.org, cmd.volunteer))

    @workflow.update
    def volunteer(self, cmd: VolunteerAction) -> CaseView:
        self._require_case().apply_volunteer(cmd.volunteer, cmd.event_kind, cmd.text, workflow.now())
        return self.view()

    @volunteer.validator
    def _validate_volunteer(self, cmd: VolunteerAction) -> None:
        self._check(lambda case: case.check_volunteer(cmd.volunteer, cmd.event_kind))

    @workflow.update
    def link_report(self, cmd: LinkReport) -> CaseView:
        self._require_case().apply_link(cmd, workflow.now())
        return self.view()

    @link_report.validator
    def _validate_link_report(self, cmd: LinkReport) -> None:
        self._check(lambda case: case.check_link(cmd))

    @workflow.update
    def reissue_token(self, cmd: ReissueToken) -> ResidentRole:
        return self._require_case().apply_reissue(cmd)

    @reissue_token.validator
    def _validate_reissue_token(self, cmd: ReissueToken) -> None:
        self._check(lambda case: case.check_reissue(cmd))

    @workflow.query
    def resident_access(self, token: str) -> ResidentRole | None:
        """Whether an access token belongs to this case's reporter or to a follower (linked duplicate)."""
        return self._require_case().resident_role(token)

    # ---- signals from department tasks --------------------------------------------------------------------

    @workflow.signal
    async def task_changed(self, change: TaskChange) -> None:
        await workflow.wait_condition(lambda: self._case is not None)
        self._require_case().apply_task_change(change, workflow.now())
        if self._settling:  # the run loop, waiting on its own work, says nothing in this task
            say_waiting(events=len(self._require_case().timeline))
