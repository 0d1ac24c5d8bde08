"""Client-side case operations shared by the CLI and the API: report a case, act on it, read it."""

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError

from activities import registry
from schemas.case import CaseReport, CaseStart, CaseView, Rejection
from workflows.case import CaseWorkflow
from workflows.case_state import token_hash


@dataclass(frozen=True)
class ReportedCase:
    case_id: str
    token: str  # the resident's access token: shown once, only its hash is kept


def workflow_id(case_id: str) -> str:
    return f"case-{case_id}"


async def report_case(
    client: Client, pool: asyncpg.Pool, report: CaseReport, *, task_queue: str, policy: str = "default"
) -> ReportedCase:
    """Validate the references against the registry, allocate an id, start the case workflow."""
    async with pool.acquire() as connection:
        await registry.case_context(connection, report.compound, report.category, policy)
        case_id = await registry.next_case_id(connection, datetime.now(UTC).date())
    token = secrets.token_urlsafe(24)
    await client.start_workflow(
        CaseWorkflow.run,
        CaseStart(case_id=case_id, report=report, token_hash=token_hash(token), policy=policy),
        id=workflow_id(case_id),
        task_queue=task_queue,
    )
    return ReportedCase(case_id=case_id, token=token)


def case_handle(client: Client, case_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(CaseWorkflow.run, workflow_id(case_id))


async def view_case(client: Client, case_id: str) -> CaseView:
    return await case_handle(client, case_id).query(CaseWorkflow.view)


async def wait_until_open(client: Client, case_id: str, within: float = 30.0) -> CaseView:
    """A new case answers once its first activity has resolved the registry context (milliseconds)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await view_case(client, case_id)
        except WorkflowQueryFailedError as err:
            if Rejection.NOT_READY not in str(err) or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.02)
