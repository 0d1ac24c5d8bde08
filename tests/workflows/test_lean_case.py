"""What a case costs Temporal: the durable steps it no longer takes, and inputs from before still working."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from activities import registry
from client import cases
from schemas.case import AddNote, CaseReport, CaseStart, EventKind, Feedback
from schemas.domain import Status
from schemas.task import TaskAccept, TaskActor, TaskComplete
from tests.waiting import eventually, quiescent
from tests.workflows.test_departments import OWNERS, act, settled, task, to_district
from workers.worker import WORKFLOWS
from workflows import search_attributes as sa
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow

HISTORIES = Path(__file__).parent / "histories"


async def activity_types(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def count(handle: WorkflowHandle, event_type: EventType.ValueType) -> int:
    return sum(event.event_type == event_type for event in (await handle.fetch_history()).events)


async def climbed_and_closed(harness) -> tuple[WorkflowHandle, WorkflowHandle]:
    """A case summons CGZF at DISTRICT, CGZF accepts and completes, the resident is satisfied: the case ends."""
    handle, token, case_id = await to_district(harness, "CGZF")
    lead = TaskActor(department="CGZF")
    await act(harness, case_id, "CGZF", DepartmentTaskWorkflow.accept, TaskAccept(actor=lead))
    await act(harness, case_id, "CGZF", DepartmentTaskWorkflow.complete, TaskComplete(actor=lead, result="removed"))
    await settled(harness, handle, lambda v: v.status is Status.RESOLVED)
    closed = await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=True, score=5))
    assert closed.status is Status.CLOSED
    await handle.result()
    return handle, task(harness, case_id, "CGZF")


async def test_a_case_reported_answers_at_once_without_resolving_its_context(harness):
    report = CaseReport(compound="HP-DF-QH-1", category="CORRIDOR_CLUTTER", description="stuff in the corridor")
    reported = await cases.report_case(harness.client, harness.pool, report, task_queue=harness.task_queue)
    harness.started.append(cases.workflow_id(reported.case_id))
    handle = cases.case_handle(harness.client, reported.case_id)
    # no "still opening" window: the first query after the start already sees the case
    view = await handle.query(CaseWorkflow.view)
    assert view.case_id == reported.case_id and view.timeline
    assert "resolve_context" not in await activity_types(handle)


async def test_a_start_input_without_context_still_opens_the_case(harness):
    """Inputs as clients sent them before the context came with the start: the workflow resolves it itself."""
    async with harness.pool.acquire() as connection:
        case_id = await registry.next_case_id(connection, datetime.now(UTC))
    report = CaseReport(compound="HP-DF-QH-1", category="CORRIDOR_CLUTTER", description="stuff in the corridor")
    handle = await harness.client.start_workflow(
        CaseWorkflow.run,
        CaseStart(case_id=case_id, report=report),
        id=cases.workflow_id(case_id),
        task_queue=harness.task_queue,
    )
    harness.started.append(handle.id)
    view = await cases.wait_until_open(harness.client, case_id)
    assert view.level.value == "COUNCIL"
    await eventually(lambda: harness.pool.fetchval("SELECT level FROM cases WHERE case_id = $1", case_id))
    assert "resolve_context" in await activity_types(handle)


async def test_search_attributes_are_set_at_the_start_and_never_upserted(harness):
    handle, _, case_id = await to_district(harness, "CGZF")
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(sa.COMPOUND) == "HP-DF-QH-1" and attributes.get(sa.STREET) == "HP-DF"
    assert attributes.get(sa.CATEGORY) == "ILLEGAL_CONSTRUCTION" and attributes.get(sa.LEVEL) is None
    history = await quiescent(handle)
    upserted = {
        name
        for event in history
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        for name in event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    }
    # only the SDK's own, which makes each patch searchable
    assert upserted <= {"TemporalChangeVersion"}


async def test_a_change_that_keeps_the_deadline_keeps_its_timer(harness):
    handle, _ = await harness.report()
    await quiescent(handle)
    timers = await count(handle, EventType.EVENT_TYPE_TIMER_STARTED)
    for number in range(3):
        await handle.execute_update(CaseWorkflow.note, AddNote(actor=OWNERS, text=f"looked again ({number})"))
    await quiescent(handle)
    assert await count(handle, EventType.EVENT_TYPE_TIMER_STARTED) == timers
    assert await count(handle, EventType.EVENT_TYPE_TIMER_CANCELED) == 0


async def test_a_department_task_does_not_signal_its_own_summons(harness):
    handle, department = await climbed_and_closed(harness)
    # the task told the case of its acceptance and completion; the summons the case recorded itself
    assert await count(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 2
    view = await handle.query(CaseWorkflow.view)
    assert [e.kind for e in view.timeline].count(EventKind.TASK_SUMMONED) == 1
    assert (await department.query(DepartmentTaskWorkflow.view)).status.value == "COMPLETED"


@pytest.mark.parametrize("recorded", ["case-lean", "case-lean-dept-CGZF"])
async def test_a_history_of_the_lean_case_replays(recorded):
    """Recorded with the `lean-case` patch: context in the start input, no upserts, one timer per deadline, no
    summons signal; CGZF summoned at DISTRICT, accepted and completed, the resident satisfied, the case closed."""
    history = WorkflowHistory.from_json(recorded, (HISTORIES / f"{recorded}.json").read_text())
    await Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter).replay_workflow(
        history, raise_on_replay_failure=True
    )
