"""Workflow tests: a real Worker on a fresh task queue against the time-skipping server and real PostgreSQL."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from client import cases
from schemas.case import CaseReport, CaseView
from workers.worker import WORKFLOWS, build_worker
from workflows.case import CaseWorkflow


@dataclass
class Harness:
    """Reports cases the way the API and CLI do, and remembers them for the replay check."""

    env: WorkflowEnvironment
    pool: object
    task_queue: str
    started: list[str] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.env.client

    async def report(
        self, compound: str = "HP-DF-QH-1", category: str = "CORRIDOR_CLUTTER", *, policy: str = "default", **fields
    ) -> tuple[WorkflowHandle, str]:
        report = CaseReport(
            compound=compound,
            category=category,
            description=fields.pop("description", "stuff piled in the corridor"),
            **fields,
        )
        reported = await cases.report_case(self.client, self.pool, report, task_queue=self.task_queue, policy=policy)
        self.started.append(cases.workflow_id(reported.case_id))
        await cases.wait_until_open(self.client, reported.case_id)
        return cases.case_handle(self.client, reported.case_id), reported.token

    async def view(self, handle: WorkflowHandle) -> CaseView:
        return await handle.query(CaseWorkflow.view)

    async def handles(self) -> list[WorkflowHandle]:
        handles = []
        for workflow_id in self.started:
            handle = self.client.get_workflow_handle(workflow_id)
            view = await handle.query(CaseWorkflow.view)
            handles += [self.client.get_workflow_handle(task.task_id) for task in view.tasks]
            handles.append(handle)
        return handles

    async def replay(self) -> int:
        """Replay every case (and its department tasks) started in the test, failing on non-determinism."""
        handles = await self.handles()
        replayer = Replayer(workflows=WORKFLOWS, data_converter=self.client.data_converter)
        for handle in handles:
            await replayer.replay_workflow(await handle.fetch_history(), raise_on_replay_failure=True)
        return len(handles)


def idle_tasks(history: WorkflowHistory) -> list[int]:
    """The workflow tasks (completed event ids) that ended with no command and no update answered: the SDK's
    core replays such a task merged with the next (workflows/deadline.py). The time-skipping server keeps the
    task of a refused update too, which a real server drops: look at a real server's histories."""
    events = list(history.events)
    return [
        event.event_id
        for event, following in zip(events, [*events[1:], None], strict=True)
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        and (following is None or EventType.Name(following.event_type) not in _COMMAND_EVENTS)
    ]


_COMMAND_EVENTS = {
    f"EVENT_TYPE_{kind}"
    for kind in (
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "TIMER_STARTED",
        "TIMER_CANCELED",
        "MARKER_RECORDED",
        "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
        "WORKFLOW_PROPERTIES_MODIFIED",
        "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
        "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
        "WORKFLOW_EXECUTION_FAILED",
        "WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
    )
}


@pytest_asyncio.fixture(loop_scope="session", params=["cached", "uncached"])
async def harness(request, fresh_time_env, pool, task_queue) -> AsyncIterator[Harness]:
    """Runs each test twice: with the workflow cache and with max_cached_workflows=0 (replay every task)."""
    options = {"max_cached_workflows": 0} if request.param == "uncached" else {}
    harness = Harness(env=fresh_time_env, pool=pool, task_queue=task_queue)
    async with build_worker(fresh_time_env.client, pool, task_queue, **options):
        yield harness
        assert await harness.replay() >= len(harness.started)
