"""挂起: pausing a level's clock (and a department's task), on the time-skipping server.

The cases run on the `default` policy (wall clock): the community has 4 hours for an ORDINARY case, the street
decides the community's pauses, the district centre a department's and any pause past the policy's limit.
"""

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from schemas.case import (
    Actor,
    DecidePause,
    EventKind,
    RequestExtension,
    RequestPause,
    ResidentAnswer,
    Resume,
    Whistle,
)
from schemas.domain import Level, Severity
from schemas.pause import PauseEnd, PauseReason
from schemas.task import TaskAccept, TaskActor, TaskPause
from tests.waiting import eventually, quiescent
from tests.workflows.ladder import CENTRE, COMMUNITY, OWNERS, STREET, kinds, replays
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow as Task


def event(view, kind: EventKind):
    return next(e for e in view.timeline if e.kind is kind)


def near(moment, expected) -> bool:
    """Timers fire a few milliseconds late, and the steps of a test take real time on the running clock."""
    return abs(moment - expected) < timedelta(seconds=1)


async def at_community(harness):
    handle, token = await harness.report(category="CORRIDOR_CLUTTER", severity=Severity.ORDINARY)
    view = await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=OWNERS, reason="the community decides"))
    assert view.level is Level.COMMUNITY and view.stage.budget == timedelta(hours=4)
    return handle, token, view


async def paused(harness, handle, reason=PauseReason.THIRD_PARTY, until=None):
    now = await harness.env.get_current_time()
    request = RequestPause(actor=COMMUNITY, reason=reason, note="the gas company must cut the supply", until=until)
    asked = await handle.execute_update(CaseWorkflow.request_pause, request)
    assert asked.pause.decider == "HP-DF" and not asked.paused and asked.deadline is not None
    view = await handle.execute_update(CaseWorkflow.decide_pause, DecidePause(actor=STREET, approve=True, reason="ok"))
    assert view.paused and view.deadline is None and view.pause.started_at >= now
    return view


async def rejected(handle, update, payload) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, payload)
    return f"{refused.value.cause.type}: {refused.value.cause}"


async def test_a_pause_approved_mid_budget_holds_the_deadline_and_ends_on_its_date(harness):
    handle, _, before = await at_community(harness)
    await harness.env.sleep(timedelta(hours=1))
    until = await harness.env.get_current_time() + timedelta(days=2)
    view = await paused(harness, handle, until=until)
    stopped = view.pause.started_at
    # two days standing still, far past the 4 hours: no warning, no breach, no climb
    await harness.env.sleep(until - timedelta(minutes=1) - await harness.env.get_current_time())
    view = await harness.view(handle)
    assert view.level is Level.COMMUNITY and view.paused
    assert not {EventKind.WARNING, EventKind.SLA_BREACHED} & set(kinds(view)) and not view.breaches
    await harness.env.sleep(timedelta(minutes=2))
    view = await eventually(lambda: harness.view(handle), lambda v: EventKind.RESUMED in kinds(v))
    resumed = event(view, EventKind.RESUMED)
    assert near(resumed.at, until) and resumed.details["end"] == PauseEnd.UNTIL
    # the deadline and the warning moved by the time the clock stood still
    assert view.stage.paused == resumed.at - stopped and view.pauses[0].end is PauseEnd.UNTIL
    assert view.stage.deadline == before.stage.deadline + (resumed.at - stopped) == view.deadline
    assert view.stage.warning_at == before.stage.warning_at + (resumed.at - stopped)
    await harness.env.sleep(view.stage.warning_at - timedelta(minutes=1) - await harness.env.get_current_time())
    assert EventKind.WARNING not in kinds(await harness.view(handle))
    await harness.env.sleep(view.stage.deadline + timedelta(minutes=1) - await harness.env.get_current_time())
    late = await eventually(lambda: harness.view(handle), lambda v: v.level is Level.STREET)
    assert near(event(late, EventKind.WARNING).at, view.stage.warning_at)
    assert late.breaches[0].due == view.stage.deadline and near(late.breaches[0].at, view.stage.deadline)
    await quiescent(handle)


async def test_a_pause_denied_changes_nothing(harness):
    handle, _, before = await at_community(harness)
    request = RequestPause(actor=COMMUNITY, reason=PauseReason.WEATHER)
    await handle.execute_update(CaseWorkflow.request_pause, request)
    view = await handle.execute_update(
        CaseWorkflow.decide_pause, DecidePause(actor=STREET, approve=False, reason="the rain stops tonight")
    )
    assert kinds(view)[-2:] == [EventKind.PAUSE_REQUESTED, EventKind.PAUSE_DENIED]
    unchanged = {"timeline", "updated_at", "last_seq"}
    assert view.model_dump(exclude=unchanged) == before.model_dump(exclude=unchanged)
    await harness.env.sleep(timedelta(hours=4, minutes=1))
    view = await eventually(lambda: harness.view(handle), lambda v: v.level is Level.STREET)
    assert view.breaches[0].due == before.stage.deadline
    await quiescent(handle)


async def test_the_residents_answer_ends_a_pause_that_waits_for_them(harness):
    handle, token, before = await at_community(harness)
    answer = ResidentAnswer(token=token, text="I am home on Saturday")
    assert "not waiting for the resident's answer" in await rejected(handle, CaseWorkflow.answer, answer)
    view = await paused(harness, handle, reason=PauseReason.RESIDENT)
    stopped = view.pause.started_at
    await harness.env.sleep(timedelta(days=1))
    view = await handle.execute_update(CaseWorkflow.answer, answer)
    assert not view.paused and kinds(view)[-2:] == [EventKind.RESIDENT_ANSWERED, EventKind.RESUMED]
    resumed = view.timeline[-1]
    assert resumed.details["end"] == PauseEnd.RESIDENT and resumed.actor == "resident"
    assert view.stage.deadline == before.stage.deadline + (resumed.at - stopped)


async def test_a_second_pause_past_the_policy_limit_needs_a_supervisor(harness):
    handle, _, _ = await at_community(harness)
    await paused(harness, handle, until=await harness.env.get_current_time() + timedelta(days=10))
    await harness.env.sleep(timedelta(days=9))
    view = await handle.execute_update(CaseWorkflow.resume, Resume(actor=COMMUNITY, note="the gas is off"))
    assert not view.paused and view.pauses[0].end is PauseEnd.HAND
    assert near(view.pauses[0].length, timedelta(days=9))
    # 9 days paused already; 7 more would make 16, past the policy's 15
    until = await harness.env.get_current_time() + timedelta(days=7)
    request = RequestPause(actor=COMMUNITY, reason=PauseReason.DECISION, until=until)
    view = await handle.execute_update(CaseWorkflow.request_pause, request)
    assert view.pause.decider == "HP-CENTRE"
    approve = DecidePause(actor=STREET, approve=True, reason="ok")
    assert "only a supervisor (HP-CENTRE)" in await rejected(handle, CaseWorkflow.decide_pause, approve)
    assert (await harness.view(handle)).pause.started_at is None
    view = await handle.execute_update(CaseWorkflow.decide_pause, approve.model_copy(update={"actor": CENTRE}))
    assert view.paused and view.pause.approved_by == "HP-CENTRE"


async def test_bad_pause_actions_are_refused_and_change_nothing(harness):
    handle, _, _ = await at_community(harness)
    now = await harness.env.get_current_time()
    council = Actor(org="PM-LVYUAN")
    refusals = [
        await rejected(handle, CaseWorkflow.request_pause, RequestPause(actor=council, reason=PauseReason.WEATHER)),
        await rejected(
            handle,
            CaseWorkflow.request_pause,
            RequestPause(actor=COMMUNITY, reason=PauseReason.WEATHER, until=now - timedelta(hours=1)),
        ),
        await rejected(handle, CaseWorkflow.decide_pause, DecidePause(actor=STREET, approve=True, reason="x")),
        await rejected(handle, CaseWorkflow.resume, Resume(actor=COMMUNITY)),
    ]
    assert [refusal.split(":")[0] for refusal in refusals] == [
        "Forbidden",
        "InvalidInput",
        "InvalidTransition",
        "InvalidTransition",
    ]
    view = await paused(harness, handle)
    seq = view.last_seq
    extension = RequestExtension(actor=COMMUNITY, until=now + timedelta(days=1), reason="more time")
    assert "resume it to ask for more time" in await rejected(handle, CaseWorkflow.request_extension, extension)
    again = RequestPause(actor=COMMUNITY, reason=PauseReason.WEATHER)
    assert "already paused" in await rejected(handle, CaseWorkflow.request_pause, again)
    assert "cannot resume" in await rejected(handle, CaseWorkflow.resume, Resume(actor=Actor(org="SW")))
    assert (await harness.view(handle)).last_seq == seq


async def test_a_department_pauses_its_task_with_the_centres_approval(harness):
    handle, _ = await harness.report(category="ILLEGAL_CONSTRUCTION", severity=Severity.ORDINARY)
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=OWNERS, reason="enforcement"))
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=COMMUNITY, reason="enforcement"))
    view = await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=STREET, reason="enforcement"))
    task = harness.client.get_workflow_handle_for(Task.run, view.tasks[0].task_id)
    department = TaskActor(department=view.tasks[0].department)
    accepted = await task.execute_update(Task.accept, TaskAccept(actor=department))
    until = await harness.env.get_current_time() + timedelta(days=5)
    pause = TaskPause(actor=department, reason=PauseReason.DECISION, note="court hearing", until=until)
    asked = await task.execute_update(Task.request_pause, pause)
    assert asked.pause.decider == "HP-CENTRE"
    assert "only the district centre" in await rejected(
        task, Task.decide_pause, DecidePause(actor=STREET, approve=True, reason="x")
    )
    started = await task.execute_update(Task.decide_pause, DecidePause(actor=CENTRE, approve=True, reason="ok"))
    stopped = started.pause.started_at
    # the 2 days of work pass while paused: nobody is late
    await harness.env.sleep(until - timedelta(minutes=1) - await harness.env.get_current_time())
    assert not (await task.query(Task.view)).overdue
    await harness.env.sleep(timedelta(minutes=2))
    view = await eventually(lambda: harness.view(handle), lambda v: EventKind.TASK_RESUMED in kinds(v))
    assert [k for k in kinds(view) if k.startswith("TASK_PAUSE") or k == EventKind.TASK_RESUMED] == [
        EventKind.TASK_PAUSE_REQUESTED,
        EventKind.TASK_PAUSED,
        EventKind.TASK_RESUMED,
    ]
    resumed = await task.query(Task.view)
    assert resumed.pauses[0].end is PauseEnd.UNTIL and near(resumed.pauses[0].ended_at, until)
    assert resumed.work_due == accepted.work_due + (resumed.pauses[0].ended_at - stopped)
    assert not resumed.overdue
    await quiescent(handle)


@pytest.mark.parametrize("recorded", ["case-before-working-time", "case-before-working-time-dept-CGZF"])
async def test_histories_recorded_before_calendars_and_pauses_still_replay(recorded):
    """Recorded with the code before budgets had clocks: wall-clock deadlines, a warning, a breach and climb, an
    extension, a department task with an extension, to CLOSED."""
    await replays(recorded)
