"""回访: the resident's feedback decides whether a case is done; silence closes it; withdrawal; tokens."""

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError

from schemas.case import (
    Accept,
    Actor,
    EventKind,
    Feedback,
    ResidentRole,
    Resolve,
    Signoff,
    Whistle,
    Withdraw,
)
from schemas.domain import CloseReason, Level, Status
from schemas.task import TaskStatus
from tests.resident.conftest import COMMUNITY, OWNERS, PROPERTY, REPORTER, STREET
from tests.waiting import eventually, projected
from workflows.case import CaseWorkflow


async def resolve_at_council(handle):
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=PROPERTY))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=PROPERTY, summary="corridor cleared"))
    view = await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=OWNERS, agree=True))
    assert view.status is Status.RESOLVED
    return view


def satisfied(token: str, score: int = 5) -> Feedback:
    return Feedback(token=token, satisfied=True, score=score, comment="thank you")


def unsatisfied(token: str) -> Feedback:
    return Feedback(token=token, satisfied=False, score=2, comment="still cluttered")


async def test_satisfied_first_time_closes_the_case(resident, pool):
    handle, token = await resident.report(reporter=REPORTER)
    resolved = await resolve_at_council(handle)
    assert resolved.feedback_due == resolved.resolved_at + timedelta(days=3)
    view = await handle.execute_update(CaseWorkflow.feedback, satisfied(token, score=5))
    assert view.status is Status.CLOSED and view.close_reason is CloseReason.SATISFIED
    assert view.first_time_satisfied is True and view.score == 5 and view.reopen_count == 0
    await projected(pool, view)
    row = await pool.fetchrow(
        "SELECT status, close_reason, first_time_satisfied, score FROM cases WHERE case_id = $1", view.case_id
    )
    assert dict(row) == {"status": "CLOSED", "close_reason": "SATISFIED", "first_time_satisfied": True, "score": 5}


async def test_unsatisfied_reopens_with_a_fresh_deadline_then_satisfied(resident):
    handle, token = await resident.report(reporter=REPORTER)
    await resolve_at_council(handle)
    await resident.env.sleep(timedelta(hours=5))
    view = await handle.execute_update(CaseWorkflow.feedback, unsatisfied(token))
    reopened = [e for e in view.timeline if e.kind is EventKind.REOPENED][-1]
    assert view.status is Status.REOPENED and view.level is Level.COUNCIL and view.owner == PROPERTY.org
    assert view.stage.entered_at == reopened.at
    assert view.deadline == reopened.at + timedelta(minutes=30)  # the council's ORDINARY budget, from now
    assert view.first_time_satisfied is False and view.reopen_count == 1 and view.feedback_due is None
    with pytest.raises(WorkflowUpdateFailedError) as rejected:  # no second feedback on an open case
        await handle.execute_update(CaseWorkflow.feedback, satisfied(token))
    assert rejected.value.cause.type == "InvalidTransition"
    await resolve_at_council(handle)
    view = await handle.execute_update(CaseWorkflow.feedback, satisfied(token, score=4))
    assert view.status is Status.CLOSED and view.close_reason is CloseReason.SATISFIED
    assert view.first_time_satisfied is False and view.unsatisfied_count == 1 and view.score == 4


async def test_unsatisfied_twice_climbs_one_level(resident):
    handle, token = await resident.report(reporter=REPORTER)
    await resolve_at_council(handle)
    view = await handle.execute_update(CaseWorkflow.feedback, unsatisfied(token))
    assert view.level is Level.COUNCIL
    await resolve_at_council(handle)
    view = await handle.execute_update(CaseWorkflow.feedback, unsatisfied(token))
    assert view.status is Status.REOPENED and view.level is Level.COMMUNITY and view.owner == COMMUNITY.org
    assert view.unsatisfied_count == 2 and view.reopen_count == 2
    assert view.deadline == view.stage.entered_at + timedelta(hours=4)  # the community's ORDINARY budget
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=COMMUNITY))
    view = await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=COMMUNITY, summary="cleared for good"))
    assert view.status is Status.RESOLVED and view.resolved_level is Level.COMMUNITY


async def test_silence_closes_with_no_feedback_exactly_at_the_window(resident):
    handle, token = await resident.report(reporter=REPORTER)
    resolved = await resolve_at_council(handle)
    await resident.env.sleep(timedelta(days=3) - timedelta(seconds=1))
    assert (await resident.view(handle)).status is Status.RESOLVED
    await resident.env.sleep(timedelta(seconds=2))
    view = await resident.view(handle)
    assert view.status is Status.CLOSED and view.close_reason is CloseReason.NO_FEEDBACK
    assert int((view.closed_at - resolved.resolved_at).total_seconds()) == 3 * 24 * 3600
    assert view.first_time_satisfied is None and view.score is None
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):  # closed, and the workflow has ended
        await handle.execute_update(CaseWorkflow.feedback, satisfied(token))


async def test_withdraw_closes_an_open_case(resident, pool):
    handle, token = await resident.report(compound="HP-DF-YL-2", reporter=REPORTER)
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=Actor(org="PM-LVYUAN")))
    view = await handle.execute_update(CaseWorkflow.withdraw, Withdraw(token=token, reason="neighbour moved it"))
    assert view.status is Status.CLOSED and view.close_reason is CloseReason.WITHDRAWN and view.deadline is None
    assert [e.kind for e in view.timeline[-2:]] == [EventKind.WITHDRAWN, EventKind.CLOSED]
    assert view.first_time_satisfied is None
    await eventually(lambda: ended(handle), what="the case workflow to end")
    await projected(pool, view)
    assert await pool.fetchval("SELECT close_reason FROM cases WHERE case_id = $1", view.case_id) == "WITHDRAWN"


async def test_withdraw_cancels_the_department_tasks(resident):
    handle, token = await resident.report(reporter=REPORTER)
    async with asyncio.timeout(60):  # fail, never hang, if a whistle does not come back
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=PROPERTY, reason="beyond the council"))
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=COMMUNITY, reason="needs the street"))
        view = await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=STREET, reason="fire hazard"))
    assert view.level is Level.DISTRICT

    async def tasks_open() -> bool:
        tasks = (await resident.view(handle)).tasks
        return len(tasks) == 2 and all(task.status is TaskStatus.SUMMONED for task in tasks)

    await eventually(tasks_open, what="department tasks summoned")
    view = await handle.execute_update(CaseWorkflow.withdraw, Withdraw(token=token, reason="neighbour moved it"))
    assert view.status is Status.CLOSED and view.close_reason is CloseReason.WITHDRAWN

    async def tasks_cancelled() -> bool:
        tasks = (await resident.view(handle)).tasks
        return all(task.status is TaskStatus.CANCELLED for task in tasks)

    await eventually(tasks_cancelled, what="department tasks cancelled")
    await eventually(lambda: ended(handle), what="the case workflow to end once its tasks are gone")


async def ended(handle) -> bool:
    return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_withdraw_after_resolution_is_rejected(resident):
    handle, token = await resident.report(reporter=REPORTER)
    await resolve_at_council(handle)
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(CaseWorkflow.withdraw, Withdraw(token=token))
    assert rejected.value.cause.type == "InvalidTransition"
    assert (await resident.view(handle)).status is Status.RESOLVED


async def test_wrong_token_is_rejected_and_changes_nothing(resident):
    handle, token = await resident.report(reporter=REPORTER)
    _, other_token = await resident.report(compound="HP-DF-QH-2", reporter=REPORTER)
    await resolve_at_council(handle)
    before = await resident.view(handle)
    for wrong in ("x" * 32, other_token):
        for update, payload in (
            (CaseWorkflow.feedback, satisfied(wrong)),
            (CaseWorkflow.withdraw, Withdraw(token=wrong)),
        ):
            with pytest.raises(WorkflowUpdateFailedError) as rejected:
                await handle.execute_update(update, payload)
            assert rejected.value.cause.type == "Forbidden"
            assert "does not belong to this case" in str(rejected.value.cause)
        assert await handle.query(CaseWorkflow.resident_access, wrong) is None
    assert await handle.query(CaseWorkflow.resident_access, token) is ResidentRole.REPORTER
    after = await resident.view(handle)
    assert after.timeline == before.timeline and after.status is Status.RESOLVED
