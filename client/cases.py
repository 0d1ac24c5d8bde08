"""Client-side case operations shared by the CLI and the API: report a case, act on it, read it."""

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities import registry
from activities.cases import kept_residents, kept_view
from activities.tasks import kept_task
from schemas.case import (
    CASE_OPENING,
    RUN_AHEAD,
    CaseReport,
    CaseStart,
    CaseView,
    LinkReport,
    ReissueToken,
    Rejection,
    ResidentRole,
)
from schemas.registry import CaseContext
from schemas.task import TaskView, task_workflow_id
from workflows import search_attributes
from workflows.case import CaseWorkflow
from workflows.case_state import token_hash
from workflows.department_task import DepartmentTaskWorkflow

T = TypeVar("T")


class IntakeOutcome(StrEnum):
    CREATED = "CREATED"  # a new case was opened
    EXISTING = "EXISTING"  # the same ticket / idempotency key was reported before: that case
    LINKED = "LINKED"  # the same issue is already open in the compound: the reporter follows it


@dataclass(frozen=True)
class ReportedCase:
    case_id: str
    outcome: IntakeOutcome
    token: str | None  # the resident's access token, shown once (None for a repeat that is not the same report)


_INTAKE_LOCK = 0x494E_544B  # "INTK": the advisory-lock space of intake keys
_ISSUE_LOCK = 0x4953_5355  # "ISSU": the advisory-lock space of issues (compound, category)


class IdempotencyKeyReused(Exception):
    """An Idempotency-Key that already stands for a different report."""


def workflow_id(case_id: str) -> str:
    return f"case-{case_id}"


def intake_key(report: CaseReport, idempotency_key: str | None, caller_org: str | None = None) -> str | None:
    """What makes a report a repeat: an Idempotency-Key, scoped to the organisation and channel of the
    intake key that sent it (a resident's own is global, and answers only the same report), else the
    channel's ticket id."""
    if idempotency_key:
        if caller_org is not None:
            return f"idempotency@{caller_org}/{report.channel}:{idempotency_key}"
        return f"idempotency:{idempotency_key}"
    if report.external_id:
        return f"{report.channel}:{report.external_id}"
    return None


def _fingerprint(report: CaseReport) -> str:
    return hashlib.sha256(report.model_dump_json().encode()).hexdigest()


async def report_case(
    client: Client,
    pool: asyncpg.Pool,
    report: CaseReport,
    *,
    task_queue: str,
    policy: str = "default",
    idempotency_key: str | None = None,
    caller_org: str | None = None,
) -> ReportedCase:
    """Open a case for a report, exactly once per ticket or idempotency key, linking duplicates.

    `caller_org` is the organisation of the intake key that sent the report (None: a resident's own).
    Raises `registry.UnknownReference` for an unknown compound, category or policy, ValueError for an
    anonymous report in a category that needs a name, and `IdempotencyKeyReused` for a key that
    already stands for a different report.
    """
    key = intake_key(report, idempotency_key, caller_org)
    reported = _fingerprint(report) if idempotency_key else None
    async with pool.acquire() as connection:
        resolved_at = datetime.now(UTC)
        context = await registry.case_context(connection, report.compound, report.category, policy, resolved_at)
        if report.reporter.anonymous and not context.category.anonymous_allowed:
            raise ValueError(f"category {context.category.code} does not accept anonymous reports")
        deduplicate = context.category.deduplicate
        # always in this order (key, then issue), so two reports never wait for each other's second lock
        async with _lock(connection, _INTAKE_LOCK, key), issue_lock(connection, report, deduplicate):
            if key is not None:
                bound = await connection.fetchrow("SELECT case_id, fingerprint FROM intake_keys WHERE key = $1", key)
                if bound is not None:
                    if reported is not None and bound["fingerprint"] != reported:
                        raise IdempotencyKeyReused(
                            "这个 Idempotency-Key 已用于另一份报告，新报告请换一个新的键 / this Idempotency-Key "
                            "was already used for a different report; use a new key for a new report"
                        )
                    return await _resume(
                        client,
                        connection,
                        bound["case_id"],
                        report,
                        policy,
                        task_queue,
                        deduplicate,
                        (context, resolved_at),
                        key if reported is not None else None,
                    )
            token = secrets.token_urlsafe(24)
            if deduplicate:
                linked = await _link_to_open_case(
                    client, connection, report, token, key, context.policy.duplicate_window
                )
                if linked is not None:
                    await _bind(connection, key, linked, reported)
                    return ReportedCase(case_id=linked, outcome=IntakeOutcome.LINKED, token=token)
            case_id = await registry.next_case_id(connection, datetime.now(UTC))
            # Bound before the start: a retry after a crash in between finds the key and starts the case.
            await _bind(connection, key, case_id, reported)
            await _start(
                client, connection, case_id, report, token, policy, task_queue, deduplicate, (context, resolved_at)
            )
            return ReportedCase(case_id=case_id, outcome=IntakeOutcome.CREATED, token=token)


def issue_lock(connection, report: CaseReport, deduplicate: bool = True) -> AbstractAsyncContextManager[None]:
    """Serialise the link-or-open decision for one issue (compound, category); other issues go on."""
    return _lock(connection, _ISSUE_LOCK, f"{report.compound}/{report.category}" if deduplicate else None)


@asynccontextmanager
async def _lock(connection, space: int, key: str | None) -> AsyncIterator[None]:
    """A session advisory lock across processes (the pool unlocks all of a connection's on release)."""
    if key is None:
        yield
        return
    await connection.execute("SELECT pg_advisory_lock($1, hashtext($2))", space, key)
    try:
        yield
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1, hashtext($2))", space, key)


async def _bind(connection, key: str | None, case_id: str, reported: str | None) -> None:
    if key is not None:
        await connection.execute(
            "INSERT INTO intake_keys (key, case_id, fingerprint) VALUES ($1, $2, $3)", key, case_id, reported
        )


async def _start(
    client: Client,
    connection,
    case_id: str,
    report: CaseReport,
    token: str,
    policy: str,
    task_queue: str,
    deduplicate: bool,
    resolved: tuple[CaseContext, datetime],
) -> None:
    """Start the case with the registry context intake resolved; for an issue others may report too, record it
    as the issue's open case (only once started, so the record never points at a case that does not exist)."""
    await client.start_workflow(
        CaseWorkflow.run,
        CaseStart(
            case_id=case_id,
            report=report,
            token_hash=token_hash(token),
            policy=policy,
            context=resolved[0],
            context_at=resolved[1],
        ),
        id=workflow_id(case_id),
        task_queue=task_queue,
        search_attributes=search_attributes.at_start(resolved[0], report.severity),
    )
    if deduplicate:
        await connection.execute(
            """INSERT INTO open_issues (compound, category, case_id) VALUES ($1, $2, $3)
               ON CONFLICT (compound, category) DO UPDATE SET case_id = excluded.case_id, opened_at = now()""",
            report.compound,
            report.category,
            case_id,
        )


async def _resume(
    client: Client,
    connection,
    case_id: str,
    report: CaseReport,
    policy: str,
    task_queue: str,
    deduplicate: bool,
    resolved: tuple[CaseContext, datetime],
    same_report: str | None,
) -> ReportedCase:
    """A repeated ticket: its case, started now if the first attempt bound the key but never started it.

    A case that started has a read-model row (written before it can close) or is still running, which
    Temporal refuses to start twice; so a closed case is never started again. `same_report` is the intake key
    when the repeat is proven the same report (its Idempotency-Key and its content): its resident is given
    their access token again, since the first answer may never have reached them.
    """
    if await connection.fetchval("SELECT true FROM cases WHERE case_id = $1", case_id):
        return await _repeat(client, case_id, same_report)
    token = secrets.token_urlsafe(24)
    try:
        await _start(client, connection, case_id, report, token, policy, task_queue, deduplicate, resolved)
    except WorkflowAlreadyStartedError:
        return await _repeat(client, case_id, same_report)
    return ReportedCase(case_id=case_id, outcome=IntakeOutcome.CREATED, token=token)


async def _repeat(client: Client, case_id: str, same_report: str | None) -> ReportedCase:
    """The case of a repeat; with a new access token for the same report's resident while the case is open."""
    if same_report is None:
        return ReportedCase(case_id=case_id, outcome=IntakeOutcome.EXISTING, token=None)
    token = secrets.token_urlsafe(24)
    reissue = ReissueToken(intake_key=same_report, token_hash=token_hash(token))
    role = await _ask_open_case(client, case_id, CaseWorkflow.reissue_token, reissue)
    if role is None:
        return ReportedCase(case_id=case_id, outcome=IntakeOutcome.EXISTING, token=None)
    outcome = IntakeOutcome.LINKED if role is ResidentRole.FOLLOWER else IntakeOutcome.EXISTING
    return ReportedCase(case_id=case_id, outcome=outcome, token=token)


# The open cases of an issue, earliest first: the read model's, and the one intake opened last while the
# read model has no row for it yet (its projection lags the start).
_OPEN_CASES = """
    SELECT case_id FROM (
        SELECT case_id, reported_at AS opened_at FROM cases
         WHERE compound = $1 AND category = $2 AND status <> 'CLOSED' AND reported_at > now() - $3::interval
        UNION ALL
        SELECT case_id, opened_at FROM open_issues o
         WHERE compound = $1 AND category = $2 AND opened_at > now() - $3::interval
           AND NOT EXISTS (SELECT FROM cases c WHERE c.case_id = o.case_id)
    ) open ORDER BY opened_at
"""


async def _link_to_open_case(
    client: Client, connection, report: CaseReport, token: str, key: str | None, window: timedelta
) -> str | None:
    """Follow the earliest open case of the same issue that still takes reporters."""
    originals = await connection.fetch(_OPEN_CASES, report.compound, report.category, window)
    link = LinkReport(
        token_hash=token_hash(token),
        channel=report.channel,
        external_id=report.external_id,
        reporter=report.reporter,
        intake_key=key,
    )
    for original in originals:
        if await _follow(client, original["case_id"], link):
            return original["case_id"]
    return None


async def _follow(client: Client, case_id: str, link: LinkReport) -> bool:
    """Link a report to a case; False when the case takes no more reporters (closed or ended meanwhile)."""
    return await _ask_open_case(client, case_id, CaseWorkflow.link_report, link) is not None


async def _ask_open_case(client: Client, case_id: str, update: Any, command: BaseModel) -> Any:
    """Run an intake update on a case, waiting for a case started a moment ago to open; None when the case
    refuses it (closed) or has ended meanwhile."""
    while True:
        try:
            return await case_handle(client, case_id).execute_update(update, command)
        except WorkflowUpdateFailedError as error:
            if getattr(error.cause, "type", None) != Rejection.NOT_READY:
                return None
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:  # the case ended meanwhile
                return None
            # Temporal unreachable or overloaded: not an answer about the case. The caller retries (the API
            # answers 503) and the same ticket links once; taking it for "no more reporters" opened a second case.
            raise
        await wait_until_open(client, case_id)


def case_handle(client: Client, case_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(CaseWorkflow.run, workflow_id(case_id))


async def view_case(client: Client, case_id: str) -> CaseView:
    return await case_handle(client, case_id).query(CaseWorkflow.view)


# ---- reads for every audience: the workflow while Temporal has it, else the read model's copy ------------


async def _kept(error: RPCError | WorkflowQueryFailedError, keep: Callable[[], Awaitable[T | None]]) -> T:
    """The read model's copy when Temporal has no such workflow (its retention deletes closed ones) or the
    workflow cannot answer (a replay failing on nondeterminism: docs/reliability.md, finding 7); the error
    again when it has no copy either, or when Temporal failed otherwise."""
    if isinstance(error, RPCError) and error.status != RPCStatusCode.NOT_FOUND:
        raise error
    kept = await keep()
    if kept is None:
        raise error
    return kept


async def read_case_view(
    client: Client, pool: asyncpg.Pool, case_id: str, *, rpc_timeout: timedelta | None = None
) -> CaseView:
    try:
        return await case_handle(client, case_id).query(CaseWorkflow.view, rpc_timeout=rpc_timeout)
    except (RPCError, WorkflowQueryFailedError) as error:
        return await _kept(error, lambda: kept_view(pool, case_id))


async def read_resident_role(
    client: Client, pool: asyncpg.Pool, case_id: str, token: str, *, rpc_timeout: timedelta | None = None
) -> ResidentRole | None:
    """Whether the access token is the case reporter's or a follower's (None: neither)."""
    try:
        return await case_handle(client, case_id).query(CaseWorkflow.resident_access, token, rpc_timeout=rpc_timeout)
    except (RPCError, WorkflowQueryFailedError) as error:
        residents = await _kept(error, lambda: kept_residents(pool, case_id))
        return residents.get(token_hash(token))


def task_handle(client: Client, case_id: str, department: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(DepartmentTaskWorkflow.run, task_workflow_id(case_id, department))


async def read_task_view(
    client: Client, pool: asyncpg.Pool, case_id: str, department: str, *, rpc_timeout: timedelta | None = None
) -> TaskView:
    handle = task_handle(client, case_id, department)
    try:
        return await handle.query(DepartmentTaskWorkflow.view, rpc_timeout=rpc_timeout)
    except (RPCError, WorkflowQueryFailedError) as error:
        return await _kept(error, lambda: kept_task(pool, case_id, department))


async def wait_until_open(client: Client, case_id: str, within: float = 30.0) -> CaseView:
    """A new case answers at once; one started without its context in the input (before intake passed it)
    once its first activity has resolved it (milliseconds)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await view_case(client, case_id)
        except WorkflowQueryFailedError as err:
            if not answers_later(err) or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.02)


def answers_later(error: WorkflowQueryFailedError) -> bool:
    """A query refused for a moment: the case is still opening, or the worker would not answer ahead of its
    workflow task (workers/queries_ahead.py); asking again answers."""
    return CASE_OPENING in str(error) or RUN_AHEAD in str(error)
