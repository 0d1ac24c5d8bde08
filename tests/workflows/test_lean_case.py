"""What a case costs Temporal: the durable steps it no longer takes, and inputs from before still working."""

from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from activities import registry
from client import cases
from schemas.case import CaseReport, CaseStart
from tests.waiting import eventually
from workflows.case import CaseWorkflow


async def activity_types(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


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
