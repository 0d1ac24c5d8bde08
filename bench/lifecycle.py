"""Figure 3: cases driven to the end, on both paths at once.

Resolved: the property company accepts and resolves, the owners' committee signs off (2 of 3), the resident
is satisfied. Climbed: nobody acts, the case escalates on its few-second budgets up to DISTRICT, every
summoned department accepts and completes, the resident is satisfied.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from bench.reports import council, report
from bench.stack import CLIMB_POLICY, bench_category
from bench.watch import ReadModelWatcher
from client.cases import ReportedCase, case_handle, report_case
from schemas.case import Accept, Actor, Feedback, Rejection, Resolve, Signoff
from schemas.domain import Level, Status
from schemas.task import TaskAccept, TaskActor, TaskComplete
from workflows.case import CaseWorkflow, task_workflow_id
from workflows.department_task import DepartmentTaskWorkflow

T = TypeVar("T")

_CASE_TIMEOUT_SECONDS = 600
# A rejected NotReady update still costs the worker a workflow task: back off instead of hammering.
_RETRY_FIRST_SECONDS = 0.1
_RETRY_MAX_SECONDS = 2.0


def bench_departments() -> list[str]:
    """The departments a climbed case summons at DISTRICT: its category's routing."""
    routing = bench_category().routing
    return [routing.lead, *routing.assist]


def _not_ready(error: Exception) -> bool:
    """A department task that was just started may not exist yet, or not have run its first task."""
    if isinstance(error, RPCError):
        return error.status == RPCStatusCode.NOT_FOUND
    cause = getattr(error, "cause", None)
    return isinstance(cause, ApplicationError) and cause.type == Rejection.NOT_READY


class LifecycleDriver:
    def __init__(
        self, client: Client, pool: asyncpg.Pool, watcher: ReadModelWatcher, task_queue: str, concurrency: int
    ) -> None:
        self.client = client
        self.pool = pool
        self.watcher = watcher
        self.task_queue = task_queue
        self.gate = asyncio.Semaphore(concurrency)  # client calls in progress at once, as in figures 1 and 2
        self.in_flight = 0
        self.peak_in_flight = 0
        self.case_ids: dict[str, list[str]] = {"resolved": [], "climbed": []}
        self.update_timeouts = 0

    async def _call(self, call: Coroutine[Any, Any, T]) -> T:
        try:
            async with self.gate:
                return await call
        finally:
            call.close()  # no-op once awaited; a call cancelled while waiting for the gate never ran

    async def _update(self, handle: WorkflowHandle, update, argument: BaseModel):
        """Execute an update; when an overloaded server times the call out, ask again under the same update
        id, which attaches to the update if the server already has it, so nothing is applied twice."""
        update_id = str(uuid.uuid4())
        while True:
            try:
                return await self._call(handle.execute_update(update, argument, id=update_id))
            except WorkflowUpdateRPCTimeoutOrCancelledError as error:
                if asyncio.current_task().cancelling():
                    # the SDK reports our own cancellation (the case's time limit) as this error
                    raise asyncio.CancelledError() from error
                self.update_timeouts += 1

    async def _report(self, number: int, path: str, policy: str) -> ReportedCase:
        reported = await self._call(
            report_case(self.client, self.pool, report(number), task_queue=self.task_queue, policy=policy)
        )
        self.case_ids[path].append(reported.case_id)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return reported

    async def _finish(self, reported: ReportedCase) -> None:
        handle = case_handle(self.client, reported.case_id)
        assert reported.token is not None
        await self._update(handle, CaseWorkflow.feedback, Feedback(token=reported.token, satisfied=True, score=5))
        await handle.result()
        self.in_flight -= 1

    async def resolved(self, number: int) -> float | None:
        return await self._timed(self._resolved(number))

    async def climbed(self, number: int) -> float | None:
        return await self._timed(self._climbed(number))

    async def _timed(self, drive: Awaitable[None]) -> float | None:
        """Report-to-completed seconds, or None when the case did not complete in time."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            async with asyncio.timeout(_CASE_TIMEOUT_SECONDS):
                await drive
        except TimeoutError:
            return None
        return loop.time() - began

    async def _resolved(self, number: int) -> None:
        reported = await self._report(number, "resolved", "default")
        await self.watcher.until(reported.case_id)
        handle = case_handle(self.client, reported.case_id)
        parties = council(number)
        owner = Actor(org=parties.property_company)
        await self._update(handle, CaseWorkflow.accept, Accept(actor=owner))
        await self._update(handle, CaseWorkflow.resolve, Resolve(actor=owner, summary="corridor cleared"))
        await self._update(handle, CaseWorkflow.signoff, Signoff(actor=Actor(org=parties.owners_committee), agree=True))
        await self._finish(reported)

    async def _climbed(self, number: int) -> None:
        reported = await self._report(number, "climbed", CLIMB_POLICY)
        await self.watcher.until(reported.case_id, lambda row: row["level"] == Level.DISTRICT)
        await asyncio.gather(*(self._department(reported.case_id, code) for code in bench_departments()))
        await self.watcher.until(reported.case_id, lambda row: row["status"] == Status.RESOLVED)
        await self._finish(reported)

    async def _department(self, case_id: str, department: str) -> None:
        task = self.client.get_workflow_handle_for(DepartmentTaskWorkflow.run, task_workflow_id(case_id, department))
        actor = TaskActor(department=department)
        pause = _RETRY_FIRST_SECONDS
        while True:
            try:
                await self._update(task, DepartmentTaskWorkflow.accept, TaskAccept(actor=actor))
                break
            except (RPCError, WorkflowUpdateFailedError) as error:
                if not _not_ready(error):
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RETRY_MAX_SECONDS)
        await self._update(task, DepartmentTaskWorkflow.complete, TaskComplete(actor=actor, result="done on site"))
