"""A query taken by a worker ahead of the workflow task it came before (docs/reliability.md, finding 7).

The case asks for its projection and its worker goes away; a query comes while the case waits on the
projection (Temporal hands it straight to a worker: no workflow task is pending), the projection's result
comes before any worker is back, and then an update. The restarted worker is given the query first, with
the result in its history, then the workflow task with the update. Before the fix that worker ran the
result for the query (the deadline timer armed), kept the run, and ran the update after it, where every
replay runs the update first: "Update machine does not handle this event: TimerStarted".
"""

import asyncio

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from client import cases
from schemas.case import RUN_AHEAD, Actor, AddNote, CaseReport
from tests.waiting import eventually, quiescent
from workers.worker import WORKFLOWS, activities, build_worker
from workflows.case import CaseWorkflow

# One case per compound and category (a second report of the same issue is linked to the first case), in a
# compound with an owners' committee to write the note.
PLAYS = 30


def _has(kind: EventType.ValueType):
    return lambda history: any(event.event_type == kind for event in history.events)


async def _admitted(client: Client, handle: WorkflowHandle, update_id: str) -> None:
    """Wait until Temporal holds the update (for the next workflow task), before any worker has seen it."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(workflow_execution=WorkflowExecution(workflow_id=handle.id), update_id=update_id),
        wait_policy=WaitPolicy(
            lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
        ),
    )

    async def known() -> bool:
        try:
            await client.workflow_service.poll_workflow_execution_update(request)
        except RPCError:  # not yet admitted
            return False
        return True

    await eventually(known, what=f"update {update_id} to be admitted")


async def _issues(pool) -> list[tuple[str, str, str]]:
    """(compound, category, owners' committee) for PLAYS distinct issues of the registry."""
    rows = await pool.fetch(
        """SELECT p.compound, c.code, p.owners_committee FROM compound_parties p CROSS JOIN categories c
            WHERE p.owners_committee IS NOT NULL ORDER BY c.code, p.compound LIMIT $1""",
        PLAYS,
    )
    return [tuple(row) for row in rows]


async def _query_ahead_of_the_task(
    client: Client, pool, task_queue: str, compound: str, category: str, owners: str
) -> bool:
    """Play the case once; whether the restarted worker was given the query before the workflow task."""
    report = CaseReport(compound=compound, category=category, description="reported to test a query ahead")
    reported = await cases.report_case(client, pool, report, task_queue=task_queue, policy="default")
    handle = cases.case_handle(client, reported.case_id)
    gone = Worker(client, task_queue=task_queue, workflows=WORKFLOWS, workflow_runner=UnsandboxedWorkflowRunner())
    async with gone:  # runs the case's first workflow task: the projection is asked for
        await eventually(handle.fetch_history, _has(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED))
    query = asyncio.ensure_future(handle.query(CaseWorkflow.view))  # no workflow task pending: straight to a worker
    await asyncio.sleep(0)  # the query on its way before the projection can finish (else: another case)
    async with Worker(client, task_queue=task_queue, activities=activities(pool)):
        await eventually(handle.fetch_history, _has(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED))
    note = AddNote(actor=Actor(org=owners), text="居民又来问了")
    update_id = f"note-{reported.case_id}"
    update = asyncio.ensure_future(handle.execute_update(CaseWorkflow.note, note, id=update_id))
    await _admitted(client, handle, update_id)
    async with build_worker(client, pool, task_queue):
        try:
            await query
            refused = False
        except WorkflowQueryFailedError as error:
            assert RUN_AHEAD in str(error)
            refused = True
        await update
        await quiescent(handle)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=client.data_converter)
    await replayer.replay_workflow(await handle.fetch_history(), raise_on_replay_failure=True)
    return refused


async def test_a_query_ahead_of_a_workflow_task_leaves_a_history_that_replays(dev_env, pool, task_queue):
    # Whether the query reaches Temporal before the projection's result, and which of the query and the task
    # the worker is given first, are races (the query wins most): play another case until it won both.
    issues = await _issues(pool)
    assert len(issues) == PLAYS
    for compound, category, owners in issues:
        if await _query_ahead_of_the_task(dev_env.client, pool, task_queue, compound, category, owners):
            return
    raise AssertionError(f"in {PLAYS} cases the worker was never given the query before the task")
