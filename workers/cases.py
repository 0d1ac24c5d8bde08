"""Client-side case operations shared by the CLI and the API: report a case, act on it, read it."""

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import asyncpg
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError

from activities import registry
from schemas.case import CASE_OPENING, CaseReport, CaseStart, CaseView, LinkReport
from workflows.case import CaseWorkflow
from workflows.case_state import token_hash


class IntakeOutcome(StrEnum):
    CREATED = "CREATED"  # a new case was opened
    EXISTING = "EXISTING"  # the same ticket / idempotency key was reported before: that case
    LINKED = "LINKED"  # the same issue is already open in the compound: the reporter follows it


@dataclass(frozen=True)
class ReportedCase:
    case_id: str
    outcome: IntakeOutcome
    token: str | None  # the resident's access token, shown once (None when the report was a repeat)


def workflow_id(case_id: str) -> str:
    return f"case-{case_id}"


def intake_key(report: CaseReport, idempotency_key: str | None) -> str | None:
    if idempotency_key:
        return f"idempotency:{idempotency_key}"
    if report.external_id:
        return f"{report.channel}:{report.external_id}"
    return None


async def report_case(
    client: Client,
    pool: asyncpg.Pool,
    report: CaseReport,
    *,
    task_queue: str,
    policy: str = "default",
    idempotency_key: str | None = None,
) -> ReportedCase:
    """Open a case for a report, exactly once per ticket or idempotency key, linking duplicates.

    Raises `registry.UnknownReference` for an unknown compound, category or policy, and ValueError for an
    anonymous report in a category that needs a name.
    """
    key = intake_key(report, idempotency_key)
    async with pool.acquire() as connection:
        context = await registry.case_context(connection, report.compound, report.category, policy)
        if report.reporter.anonymous and not context.category.anonymous_allowed:
            raise ValueError(f"category {context.category.code} does not accept anonymous reports")
        if key is not None:
            existing = await connection.fetchval("SELECT case_id FROM intake_keys WHERE key = $1", key)
            if existing is not None:
                return _repeat(existing)
        token = secrets.token_urlsafe(24)
        if context.category.deduplicate:
            linked = await _link_to_open_case(client, connection, report, token, context.policy.duplicate_window)
            if linked is not None:
                return await _claim(connection, key, linked, IntakeOutcome.LINKED, token)
        case_id = await registry.next_case_id(connection, datetime.now(UTC).date())
        claimed = await _claim(connection, key, case_id, IntakeOutcome.CREATED, token)
        if claimed.outcome is IntakeOutcome.CREATED:
            await client.start_workflow(
                CaseWorkflow.run,
                CaseStart(case_id=case_id, report=report, token_hash=token_hash(token), policy=policy),
                id=workflow_id(case_id),
                task_queue=task_queue,
            )
        return claimed


async def _claim(connection, key: str | None, case_id: str, outcome: IntakeOutcome, token: str) -> ReportedCase:
    """Bind the intake key to the case; under a concurrent race the first binding wins."""
    if key is not None:
        bound = await connection.fetchval(
            """INSERT INTO intake_keys (key, case_id) VALUES ($1, $2)
               ON CONFLICT (key) DO NOTHING RETURNING case_id""",
            key,
            case_id,
        )
        if bound is None:
            winner = await connection.fetchval("SELECT case_id FROM intake_keys WHERE key = $1", key)
            return _repeat(winner)
    return ReportedCase(case_id=case_id, outcome=outcome, token=token)


def _repeat(case_id: str) -> ReportedCase:
    return ReportedCase(case_id=case_id, outcome=IntakeOutcome.EXISTING, token=None)


async def _link_to_open_case(
    client: Client, connection, report: CaseReport, token: str, window: timedelta
) -> str | None:
    original = await connection.fetchval(
        """SELECT case_id FROM cases
            WHERE compound = $1 AND category = $2 AND status <> 'CLOSED' AND reported_at > now() - $3::interval
            ORDER BY reported_at LIMIT 1""",
        report.compound,
        report.category,
        window,
    )
    if original is None:
        return None
    try:
        await case_handle(client, original).execute_update(
            CaseWorkflow.link_report,
            LinkReport(
                token_hash=token_hash(token),
                channel=report.channel,
                external_id=report.external_id,
                reporter=report.reporter,
            ),
        )
    except (WorkflowUpdateFailedError, RPCError):
        return None  # closed (or ended by an operator) in the meantime: open a new case instead
    return original


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
            if CASE_OPENING not in str(err) or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.02)
