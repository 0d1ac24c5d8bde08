"""DepartmentTaskWorkflow: one summoned department reporting for duty (报到) on a case at DISTRICT.

The department must accept within its accept SLA and complete within its work SLA, or return the task
(退单). A missed deadline flags the task for supervision (督办) and reminds at a bounded back-off. Every
change is told to the parent case (signal) and written to the `department_tasks` read model.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.tasks import TaskActivities
    from schemas.actions import ActionKind
    from schemas.calendar import Clock, WorkCalendar
    from schemas.case import DecideExtension, DecidePause, EventKind, Rejection, Resume
    from schemas.messages import N_, Message
    from schemas.pause import Pause, PauseEnd
    from schemas.task import (
        ExtensionRequest,
        TaskAccept,
        TaskCancel,
        TaskChange,
        TaskComplete,
        TaskExtension,
        TaskNote,
        TaskPause,
        TaskReturn,
        TaskStart,
        TaskStatus,
        TaskView,
    )
    from workflows.deadline import DeadlineTimer
    from workflows.idle import say_waiting
    from workflows.patches import LEAN_CASE
    from workflows.shared import shared

ACTIVITY_TIMEOUT = timedelta(seconds=30)


def _passes(check: Callable[[str], object], org: str) -> bool:
    try:
        check(org)
    except ApplicationError:
        return False
    return True


def _reject(kind: Rejection, template: str, **params: Any) -> ApplicationError:
    """A validator's refusal: the English text, and its template and parameters (`schemas.messages`) as details."""
    message = Message(template=template, params=params)
    return ApplicationError(message.english(), message, type=kind, non_retryable=True)


# The case records a summons itself (with the accept deadline it computes alike), so a task does not signal it
# back; the case ignored that signal but for the copy of the task it carried.


def _recorded_by_the_case(change: TaskChange) -> bool:
    return change.kind == EventKind.TASK_SUMMONED and workflow.patched(LEAN_CASE)


@workflow.defn
class DepartmentTaskWorkflow:
    def __init__(self) -> None:
        self._start: TaskStart | None = None
        self._task: TaskView | None = None
        self._changes: list[TaskChange] = []
        self._next_reminder: datetime | None = None
        self._projected_version = -1
        self._settling = False
        self._timer = DeadlineTimer()

    @workflow.run
    async def run(self, start: TaskStart) -> TaskView:
        now = workflow.now()
        if start.calendar is not None:
            # the SDK keeps the input for the workflow's life: its calendar is the worker's one instance
            start.calendar = shared(start.calendar)
        self._start = start
        self._task = task = TaskView(
            task_id=workflow.info().workflow_id,
            case_id=start.case_id,
            department=start.department,
            role=start.role,
            status=TaskStatus.SUMMONED,
            summoned_at=now,
            accept_due=self._calendar().deadline(start.accept_clock, now, start.accept_within),
        )
        self._change(EventKind.TASK_SUMMONED, None, {"accept_due": task.accept_due})
        resumed = await self._settle()
        while task.status.is_open:
            seen = task.version
            fire_at = await self._timer.wait(self._next_due(), lambda seen=seen: task.version != seen, resumed=resumed)
            if fire_at is not None:
                self._fire_due(fire_at)
            resumed = await self._settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._settle()
        return task

    # ---- timers -------------------------------------------------------------------------------------------

    def _calendar(self) -> WorkCalendar:
        return self._require_start().calendar or WorkCalendar()

    def _clock(self) -> Clock:
        start = self._require_start()
        return start.accept_clock if self._require_task().status is TaskStatus.SUMMONED else start.work_clock

    def _paused(self) -> bool:
        pause = self._require_task().pause
        return pause is not None and pause.running

    def _deadline(self) -> datetime:
        task = self._require_task()
        return task.accept_due if task.status is TaskStatus.SUMMONED else task.work_due or task.accept_due

    def _next_due(self) -> datetime | None:
        """The deadline of the current phase; once it is missed, the next reminder (None after the last). While
        paused (挂起), only the pause's until-date."""
        task = self._require_task()
        if self._paused():
            assert task.pause is not None
            return task.pause.until
        return self._next_reminder if task.overdue else self._deadline()

    def _fire_due(self, now: datetime) -> None:
        task, start = self._require_task(), self._require_start()
        if self._paused():
            self._resume(now, None, PauseEnd.UNTIL)
            return
        phase = "accept" if task.status is TaskStatus.SUMMONED else "work"
        if not task.overdue:
            task.overdue = task.supervision = True
            self._change(
                EventKind.TASK_OVERDUE,
                None,
                {"phase": phase, "due": self._deadline(), "reminder": 0, "supervisor": start.district_org},
            )
            self._schedule_reminder(now)
        elif self._next_reminder is not None and now >= self._next_reminder:
            task.reminders += 1
            self._change(
                EventKind.TASK_OVERDUE,
                None,
                {"phase": phase, "due": self._deadline(), "reminder": task.reminders, "supervisor": start.district_org},
            )
            self._schedule_reminder(now)

    def _schedule_reminder(self, now: datetime) -> None:
        """Reminders back off: initial, 2x, 4x … up to the maximum, and stop after max_reminders."""
        task, backoff = self._require_task(), self._require_start().reminders
        if task.reminders >= backoff.max_reminders:
            self._next_reminder = None
            return
        self._next_reminder = now + min(backoff.initial * (2**task.reminders), backoff.maximum)

    # ---- outside world ------------------------------------------------------------------------------------

    async def _settle(self) -> bool:
        """Write the read model, then tell the parent, so a case showing a change finds it in `department_tasks`;
        whether it waited on either (the workflow task is then one their result began).

        Go round while updates landing during the awaits add more.
        """
        task = self._require_task()
        parent = workflow.info().parent
        waited = self._unsettled()
        self._settling = True
        while self._unsettled():
            if task.version != self._projected_version:
                version = task.version
                await workflow.execute_activity_method(
                    TaskActivities.project_task, task, start_to_close_timeout=ACTIVITY_TIMEOUT
                )
                self._projected_version = version
            while self._changes and self._changes[0].task.version <= self._projected_version:
                change = self._changes.pop(0)
                if parent is not None and not _recorded_by_the_case(change):
                    await workflow.get_external_workflow_handle(parent.workflow_id).signal("task_changed", change)
        self._settling = False
        return waited

    def _unsettled(self) -> bool:
        return bool(self._changes) or self._require_task().version != self._projected_version

    def _change(self, kind: EventKind, actor: str | None, details: dict) -> None:
        task = self._require_task()
        task.version += 1
        self._changes.append(
            TaskChange(
                kind=kind,
                task=task.model_copy(deep=True),
                actor=actor,
                details={key: value for key, value in details.items() if value is not None},
            )
        )

    def _require_task(self) -> TaskView:
        if self._task is None:
            raise _reject(Rejection.NOT_READY, N_("the task is still opening; try again in a moment"))
        return self._task

    def _require_start(self) -> TaskStart:
        assert self._start is not None
        return self._start

    def _require_own(self, department: str, action: str) -> TaskView:
        """`action`: an English phrase marked with N_ ("accept", "complete" ...)."""
        task = self._require_task()
        if department != task.department:
            raise _reject(
                Rejection.FORBIDDEN,
                N_("%(org)s cannot %(action)s a task of %(owner)s"),
                org=department,
                action=action,
                owner=task.department,
            )
        if not task.status.is_open:
            raise _reject(
                Rejection.CLOSED, N_("task %(task)s is %(task_status)s"), task=task.task_id, task_status=task.status
            )
        return task

    # ---- queries and updates ------------------------------------------------------------------------------

    @workflow.query
    def view(self) -> TaskView:
        return self._require_task()

    @workflow.query
    def actions(self, org: str) -> list[ActionKind]:
        """What `org` may do on the task now: what its update validators would let through (each `_may_*` is
        the part of a validator about who acts and the task's state; the validator adds the command's content)."""
        may: dict[ActionKind, Callable[[str], object]] = {
            ActionKind.ACCEPT: self._may_accept,
            ActionKind.NOTE: self._may_note,
            ActionKind.COMPLETE: self._may_complete,
            ActionKind.RETURN: self._may_return,
            ActionKind.REQUEST_EXTENSION: self._may_request_extension,
            ActionKind.DECIDE_EXTENSION: self._may_decide_extension,
            ActionKind.REQUEST_PAUSE: self._may_request_pause,
            ActionKind.DECIDE_PAUSE: self._may_decide_pause,
            ActionKind.RESUME: self._may_resume,
        }
        return [kind for kind, check in may.items() if _passes(check, org)]

    @workflow.update
    def accept(self, cmd: TaskAccept) -> TaskView:
        task, now = self._require_task(), workflow.now()
        task.status = TaskStatus.ACCEPTED
        task.accepted_at = now
        start = self._require_start()
        task.work_due = self._calendar().deadline(start.work_clock, now, start.work_within)
        task.overdue = False
        self._next_reminder = None
        self._change(
            EventKind.TASK_ACCEPTED, cmd.actor.department, {"person": cmd.actor.person, "work_due": task.work_due}
        )
        return task

    @accept.validator
    def _validate_accept(self, cmd: TaskAccept) -> None:
        self._may_accept(cmd.actor.department)

    def _may_accept(self, org: str) -> None:
        task = self._require_own(org, N_("accept"))
        if task.status is not TaskStatus.SUMMONED:
            raise _reject(Rejection.INVALID_STATE, N_("task already accepted at %(at)s"), at=task.accepted_at)

    @workflow.update
    def note(self, cmd: TaskNote) -> TaskView:
        self._change(EventKind.TASK_NOTE, cmd.actor.department, {"text": cmd.text, "person": cmd.actor.person})
        return self._require_task()

    @note.validator
    def _validate_note(self, cmd: TaskNote) -> None:
        self._may_note(cmd.actor.department)

    def _may_note(self, org: str) -> None:
        self._require_own(org, N_("add a note to"))

    @workflow.update
    def complete(self, cmd: TaskComplete) -> TaskView:
        task = self._require_task()
        task.status = TaskStatus.COMPLETED
        task.completed_at = workflow.now()
        task.result = cmd.result
        task.evidence_urls = [str(url) for url in cmd.evidence_urls]
        task.overdue = False
        task.extension = None
        self._end_pause(task.completed_at, None, PauseEnd.MOVED)
        self._change(
            EventKind.TASK_COMPLETED,
            cmd.actor.department,
            {"result": cmd.result, "evidence_urls": task.evidence_urls or None, "person": cmd.actor.person},
        )
        return task

    @complete.validator
    def _validate_complete(self, cmd: TaskComplete) -> None:
        self._may_complete(cmd.actor.department)

    def _may_complete(self, org: str) -> None:
        task = self._require_own(org, N_("complete"))
        if task.status is not TaskStatus.ACCEPTED:
            raise _reject(Rejection.INVALID_STATE, N_("accept the task (report for duty) before completing it"))

    @workflow.update(name="return")
    def return_task(self, cmd: TaskReturn) -> TaskView:
        task = self._require_task()
        task.status = TaskStatus.RETURNED
        task.closed_reason = cmd.reason
        task.overdue = False
        task.extension = None
        self._end_pause(workflow.now(), None, PauseEnd.MOVED)
        self._change(EventKind.TASK_RETURNED, cmd.actor.department, {"reason": cmd.reason, "person": cmd.actor.person})
        return task

    @return_task.validator
    def _validate_return(self, cmd: TaskReturn) -> None:
        self._may_return(cmd.actor.department)

    def _may_return(self, org: str) -> None:
        self._require_own(org, N_("return"))

    @workflow.update
    def request_extension(self, cmd: TaskExtension) -> TaskView:
        task, now = self._require_task(), workflow.now()
        task.extension = ExtensionRequest(by=cmd.actor.department, until=cmd.until, reason=cmd.reason, at=now)
        self._change(
            EventKind.TASK_EXTENSION_REQUESTED,
            cmd.actor.department,
            {
                "requested_until": cmd.until,
                "reason": cmd.reason,
                "decider": self._require_start().district_org,
                "person": cmd.actor.person,
            },
        )
        return task

    @request_extension.validator
    def _validate_request_extension(self, cmd: TaskExtension) -> None:
        self._may_request_extension(cmd.actor.department)
        if cmd.until <= self._deadline():
            raise _reject(
                Rejection.INVALID_INPUT,
                N_("the new deadline must be after the current one (%(deadline)s)"),
                deadline=self._deadline(),
            )

    def _may_request_extension(self, org: str) -> None:
        task = self._require_own(org, N_("request an extension for"))
        if task.extension is not None:
            raise _reject(Rejection.INVALID_STATE, N_("an extension request is already waiting for a decision"))
        if task.status is TaskStatus.SUMMONED:
            raise _reject(Rejection.INVALID_STATE, N_("accept the task before asking for more time"))
        if self._paused():
            raise _reject(
                Rejection.INVALID_STATE, N_("the task is paused (挂起), its deadline stands still: resume first")
            )

    @workflow.update
    def decide_extension(self, cmd: DecideExtension) -> TaskView:
        task = self._require_task()
        request = task.extension
        assert request is not None
        task.extension = None
        if cmd.approve:
            task.work_due = request.until
            task.overdue = False
            self._next_reminder = None
        self._change(
            EventKind.TASK_EXTENSION_APPROVED if cmd.approve else EventKind.TASK_EXTENSION_DENIED,
            cmd.actor.org,
            {
                "approved": cmd.approve,
                "until": request.until if cmd.approve else None,
                "reason": cmd.reason,
            },
        )
        return task

    @decide_extension.validator
    def _validate_decide_extension(self, cmd: DecideExtension) -> None:
        self._may_decide_extension(cmd.actor.org)

    def _may_decide_extension(self, org: str) -> None:
        start = self._require_start()
        if org != start.district_org:
            raise _reject(
                Rejection.FORBIDDEN,
                N_("only the district centre %(decider)s decides task extensions"),
                decider=start.district_org,
            )
        if self._require_task().extension is None:
            raise _reject(Rejection.INVALID_STATE, N_("there is no extension request to decide"))

    # ---- pauses (挂起): the department asks, the district centre decides -----------------------------------------

    @workflow.update
    def request_pause(self, cmd: TaskPause) -> TaskView:
        task, now = self._require_task(), workflow.now()
        decider = self._require_start().district_org
        task.pause = Pause(
            by=cmd.actor.department,
            reason=cmd.reason,
            note=cmd.note,
            until=cmd.until,
            requested_at=now,
            decider=decider,
        )
        details = {"reason": cmd.reason, "note": cmd.note, "until": cmd.until, "decider": decider}
        details["person"] = cmd.actor.person
        self._change(EventKind.TASK_PAUSE_REQUESTED, cmd.actor.department, details)
        return task

    @request_pause.validator
    def _validate_request_pause(self, cmd: TaskPause) -> None:
        self._may_request_pause(cmd.actor.department)
        if cmd.until is not None and cmd.until <= workflow.now():
            raise _reject(Rejection.INVALID_INPUT, N_("the pause's until-date must be in the future"))

    def _may_request_pause(self, org: str) -> None:
        task = self._require_own(org, N_("pause"))
        if task.pause is not None:
            if self._paused():
                raise _reject(Rejection.INVALID_STATE, N_("the task is already paused"))
            raise _reject(Rejection.INVALID_STATE, N_("the task is waiting for a decision on its pause"))

    @workflow.update
    def decide_pause(self, cmd: DecidePause) -> TaskView:
        task, now = self._require_task(), workflow.now()
        pause = task.pause
        assert pause is not None
        if cmd.approve:
            pause.approved_by, pause.started_at = cmd.actor.org, now
            self._change(EventKind.TASK_PAUSED, cmd.actor.org, {"reason": cmd.reason, "until": pause.until})
        else:
            task.pause = None
            self._change(EventKind.TASK_PAUSE_DENIED, cmd.actor.org, {"reason": cmd.reason})
        return task

    @decide_pause.validator
    def _validate_decide_pause(self, cmd: DecidePause) -> None:
        self._may_decide_pause(cmd.actor.org)

    def _may_decide_pause(self, org: str) -> None:
        start, task = self._require_start(), self._require_task()
        if org != start.district_org:
            raise _reject(
                Rejection.FORBIDDEN,
                N_("only the district centre %(decider)s decides task pauses"),
                decider=start.district_org,
            )
        if task.pause is None or task.pause.running or not task.status.is_open:
            raise _reject(Rejection.INVALID_STATE, N_("there is no pause request to decide"))

    @workflow.update
    def resume(self, cmd: Resume) -> TaskView:
        self._resume(workflow.now(), cmd.actor.org, PauseEnd.HAND, cmd.note)
        return self._require_task()

    @resume.validator
    def _validate_resume(self, cmd: Resume) -> None:
        self._may_resume(cmd.actor.org)

    def _may_resume(self, org: str) -> None:
        task, start = self._require_task(), self._require_start()
        if org not in (task.department, start.district_org):
            raise _reject(
                Rejection.FORBIDDEN,
                N_("%(org)s cannot resume the task of %(owner)s"),
                org=org,
                owner=task.department,
            )
        if not task.status.is_open or not self._paused():
            raise _reject(Rejection.INVALID_STATE, N_("the task is not paused"))

    def _resume(self, now: datetime, by: str | None, end: PauseEnd, note: str | None = None) -> None:
        """The clock runs again: the phase's deadline (or, once missed, the next reminder) moves by the time it
        would have counted meanwhile."""
        task, calendar, clock = self._require_task(), self._calendar(), self._clock()
        pause = task.pause
        assert pause is not None and pause.started_at is not None
        stopped = pause.started_at

        def moved(due: datetime, clock: Clock) -> datetime:
            return calendar.advance(clock, now, calendar.counted(clock, stopped, due)) if due > stopped else due

        if task.status is TaskStatus.SUMMONED:
            task.accept_due = moved(task.accept_due, clock)
        elif task.work_due is not None:
            task.work_due = moved(task.work_due, clock)
        if self._next_reminder is not None:
            self._next_reminder = moved(self._next_reminder, Clock.WALL)
        pause.counted = calendar.counted(clock, stopped, now)
        self._end_pause(now, by, end)
        self._change(
            EventKind.TASK_RESUMED,
            by,
            {
                "end": end,
                "note": note,
                "paused_seconds": int(pause.length.total_seconds()),
                "counted_seconds": int(pause.counted.total_seconds()),
                "due": self._deadline(),
            },
        )

    def _end_pause(self, now: datetime | None, by: str | None, end: PauseEnd) -> None:
        task = self._require_task()
        pause, task.pause = task.pause, None
        if pause is None or not pause.running:
            return
        pause.ended_at, pause.ended_by, pause.end = now, by, end
        task.pauses.append(pause)

    @workflow.signal
    def cancel(self, cmd: TaskCancel) -> None:
        task = self._task
        if task is None or not task.status.is_open:
            return
        task.status = TaskStatus.CANCELLED
        task.closed_reason = cmd.reason
        task.overdue = False
        task.extension = None
        self._end_pause(workflow.now(), None, PauseEnd.MOVED)
        self._change(EventKind.TASK_CANCELLED, None, {"reason": cmd.reason})
        if self._settling:  # the run loop, waiting on its own work, says nothing in this task
            say_waiting(version=task.version)
