"""Recovering a case stuck on a failed workflow task: reset its workflow to just before the task that broke.

A workflow task that fails on nondeterminism fails again on every retry, and queries answer "Workflow Task in
failed state". Temporal's reset starts a new run from the case's history up to a chosen workflow task, which
the current code then runs afresh; the signals and updates recorded after that point are applied again.
"""

import re
import uuid

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory

from client import cases

COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
# The first task of a run made by a reset records a failure with this cause; it is no stuck task.
RESET_CAUSE = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
# "[TMPRL1100] Nondeterminism error: … HistoryEvent(id: 34, TimerStarted)": the recorded event the code could not
# reproduce.
OFFENDING_EVENT = re.compile(r"HistoryEvent\(id: (\d+)")


class NotStuck(ValueError):
    """The case's workflow is not stuck on a failed task: nothing to reset."""


def stuck_task(history: WorkflowHistory) -> HistoryEvent | None:
    """The WorkflowTaskFailed event the case is stuck on: its last workflow task failed (not by a reset)."""
    tasks = [event for event in history.events if event.event_type in (COMPLETED, FAILED)]
    if (
        tasks
        and tasks[-1].event_type == FAILED
        and tasks[-1].workflow_task_failed_event_attributes.cause != RESET_CAUSE
    ):
        return tasks[-1]
    return None


def reset_point(history: WorkflowHistory) -> int:
    """The WorkflowTaskCompleted event to reset a stuck case to.

    After a nondeterminism error that is the task which recorded the event the code cannot reproduce (every
    task after it replays through that event and would fail again); after any other failure, the last task
    that completed before it.
    """
    failed = stuck_task(history)
    if failed is None:
        raise NotStuck("its last workflow task did not fail / 最近一次工作流任务未失败")
    offending = OFFENDING_EVENT.search(failed.workflow_task_failed_event_attributes.failure.message)
    before = int(offending[1]) if offending else failed.event_id
    completed = [
        event.event_id for event in history.events if event.event_type == COMPLETED and event.event_id < before
    ]
    if not completed:
        raise NotStuck("no workflow task completed before the failure / 失败前没有已完成的工作流任务")
    return completed[-1]


async def reset_case(client: Client, case_id: str, reason: str) -> str:
    """Reset a stuck case's workflow to before the task that broke; the new run's id. NotStuck otherwise."""
    description = await cases.case_handle(client, case_id).describe()
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise NotStuck(f"case {case_id} is not stuck: its workflow is {description.status.name} / 案件未卡住")
    run = client.get_workflow_handle(description.id, run_id=description.run_id)
    try:
        point = reset_point(await run.fetch_history())
    except NotStuck as refusal:
        raise NotStuck(f"case {case_id} is not stuck: {refusal}; nothing reset / 案件未卡住，未重置") from None
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=description.id, run_id=description.run_id),
            reason=reason,
            workflow_task_finish_event_id=point,
            request_id=str(uuid.uuid4()),
            reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_ALL_ELIGIBLE,
        )
    )
    return response.run_id
