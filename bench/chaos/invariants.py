"""What must hold after the faults, checked for every case once the run has settled.

- intake: every answer to one ticket or Idempotency-Key names one case; no two cases share a ticket; no
  5xx but 503; every case the callers were given exists in Temporal and in the read model, and nothing else;
- projections: the `case_events` rows are the workflow's timeline (no gap, no duplicate, same order), the
  `cases` row is the workflow's summary, each `department_tasks` row is its task workflow's view;
- workflows: none with a failing workflow task or a failing activity, none that ever failed on
  nondeterminism, and every history replays on today's code;
- notifications: every outbox row belongs to an event and is delivered, once per (case, event, recipient),
  and the receiver got each one it is marked delivered to (resends carry the same id);
- statistics: the roll-ups answer as the one-pass count over `case_events` does;
- processes: no child process ended but those the run killed (or a start refused while a dependency was down).
"""

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHistory, WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.worker import Replayer

from activities.rollups import filed_elsewhere
from activities.statistics import one_pass, statistics
from activities.tasks import kept_task
from bench.chaos.drivers import DriveLog, places
from bench.chaos.receiver import WebhookReceiver
from bench.chaos.stack import Child
from client.cases import case_handle, task_handle, workflow_id
from i18n.zone import day_start, local_day
from schemas.case import CaseSummary, CaseView, EventKind, TimelineEvent
from schemas.statistics import StatisticsQuery
from schemas.task import TaskView
from workers.worker import WORKFLOWS
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow

T = TypeVar("T")
NONDETERMINISM = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
_EXAMPLES = 5  # examples kept per invariant
_ATTEMPTS = 8  # reads of a case that keeps moving (its timers still fire) before it counts as a mismatch
_POLL = 0.25
_PARALLEL = 16  # cases checked (histories fetched) at once
_FAILING_ACTIVITY_ATTEMPTS = 3


@dataclass
class Findings:
    checked: Counter[str] = field(default_factory=Counter)
    mismatches: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    counts: Counter[str] = field(default_factory=Counter)  # mismatches per invariant (examples are capped)

    def mismatch(self, invariant: str, example: str) -> None:
        self.counts[invariant] += 1
        if len(self.mismatches[invariant]) < _EXAMPLES:
            self.mismatches[invariant].append(example)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def _answered(ask: Callable[[], Awaitable[T]], within: float = 60.0) -> T:
    """A query's answer, asked again while Temporal or the worker cannot answer yet (bounded)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await ask()
        except (RPCError, WorkflowQueryFailedError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(_POLL)


def _json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _difference(first: dict, second: dict) -> str:
    keys = sorted(key for key in first.keys() | second.keys() if first.get(key) != second.get(key))
    return ", ".join(f"{key}: {first.get(key)!r} != {second.get(key)!r}" for key in keys[:4])


# ---- intake and processes ----------------------------------------------------------------------------------


async def intake(findings: Findings, drive: DriveLog, pool: asyncpg.Pool) -> None:
    for key, ticket in drive.intakes.items():
        findings.checked["intake answers"] += len(ticket.case_ids)
        if len(set(ticket.case_ids)) != 1:
            findings.mismatch("one case per ticket or key", f"{ticket.channel} {key}: {ticket.case_ids}")
    for error in drive.server_errors:
        findings.mismatch("API answers 503, never another 5xx", error)
    for problem in drive.problems:
        findings.mismatch("every path as driven", problem)
    shared = await pool.fetch(
        """SELECT channel, external_id, array_agg(case_id ORDER BY case_id) AS cases FROM cases
            WHERE external_id IS NOT NULL GROUP BY channel, external_id HAVING count(*) > 1"""
    )
    for row in shared:
        findings.mismatch("one case per ticket or key", f"{row['channel']} ticket {row['external_id']}: {row['cases']}")


def processes(findings: Findings, children: list[Child]) -> None:
    for child in children:
        for exit in child.exits:
            if exit.refused_start:
                findings.checked[f"{child.name} starts refused while a dependency was down"] += 1
                continue
            findings.mismatch(
                "no process ends unless killed",
                f"{exit.what} exited with {exit.code} after {exit.after_seconds} s: {exit.last_line}",
            )


async def _workflow_ids(client: Client, workflow_type: str) -> set[str]:
    return {execution.id async for execution in client.list_workflows(f"WorkflowType = '{workflow_type}'")}


async def every_case(findings: Findings, client: Client, pool: asyncpg.Pool, drive: DriveLog) -> list[str]:
    """The cases to check: those the callers were given, which must be those in Temporal and in the read model."""
    given = set(drive.case_ids)
    started = {wid.removeprefix("case-") for wid in await _workflow_ids(client, "CaseWorkflow")}
    projected = {row["case_id"] for row in await pool.fetch("SELECT case_id FROM cases")}
    for case_id in sorted(given - started):
        findings.mismatch("every case given to a caller exists", f"{case_id}: no workflow")
    for case_id in sorted(started - given):
        findings.mismatch("no case no caller was given", f"{case_id}: a workflow no answer named")
    for case_id in sorted(started - projected):
        findings.mismatch("every case in the read model", f"{case_id}: no cases row")
    for case_id in sorted(projected - started):
        findings.mismatch("every case in the read model", f"{case_id}: a cases row without a workflow")
    return sorted(given | started)


# ---- projections -------------------------------------------------------------------------------------------


async def _read_model_of(pool: asyncpg.Pool, view: CaseView, within: float) -> asyncpg.Record | None:
    """The `cases` row once it holds the view's last event (the projection follows each transition)."""
    deadline = time.monotonic() + within
    while True:
        row = await pool.fetchrow("SELECT * FROM cases WHERE case_id = $1", view.case_id)
        if row is not None and row["last_seq"] >= view.last_seq:
            return row
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(_POLL)


async def _case(findings: Findings, client: Client, pool: asyncpg.Pool, case_id: str) -> None:
    handle = case_handle(client, case_id)
    for _attempt in range(_ATTEMPTS):
        view = await _answered(lambda: handle.query(CaseWorkflow.view))
        row = await _read_model_of(pool, view, within=60.0)
        if row is None:
            findings.mismatch("cases row == workflow", f"{case_id}: never projected up to seq {view.last_seq}")
            return
        events = await pool.fetch(
            "SELECT seq, at, kind, level, actor, details FROM case_events WHERE case_id = $1 ORDER BY seq", case_id
        )
        again = await _answered(lambda: handle.query(CaseWorkflow.view))
        if again.last_seq != view.last_seq or row["last_seq"] != view.last_seq:
            continue  # a timer moved the case meanwhile: read it again
        _compare_case(findings, view, row, events)
        await _tasks(findings, client, pool, view)
        return
    findings.mismatch("cases row == workflow", f"{case_id}: kept moving over {_ATTEMPTS} reads")


def _compare_case(findings: Findings, view: CaseView, row: asyncpg.Record, events: list[asyncpg.Record]) -> None:
    findings.checked["cases"] += 1
    findings.checked["events"] += len(view.timeline)
    findings.checked["escalations by a deadline timer"] += sum(
        1 for event in view.timeline if event.kind is EventKind.ESCALATED and event.actor is None
    )
    seqs = [event["seq"] for event in events]
    if seqs != list(range(1, len(seqs) + 1)):
        findings.mismatch("timeline == case_events", f"{view.case_id}: seqs {seqs} (gap or duplicate)")
    projected = [_json(TimelineEvent.model_validate(dict(event))) for event in events]
    timeline = [_json(event) for event in view.timeline]
    if projected != timeline:
        first = next((n for n, (a, b) in enumerate(zip(projected, timeline, strict=False)) if a != b), None)
        where = (
            f"seq {first + 1}: {_difference(projected[first], timeline[first])}"
            if first is not None
            else f"{len(projected)} rows, {len(timeline)} events"
        )
        findings.mismatch("timeline == case_events", f"{view.case_id}: {where}")
    summary = _json(CaseSummary.model_validate(dict(row)))
    state = _json(CaseSummary.model_validate(view.model_dump()))
    if summary != state:
        findings.mismatch("cases row == workflow", f"{view.case_id}: {_difference(summary, state)}")


async def _tasks(findings: Findings, client: Client, pool: asyncpg.Pool, view: CaseView) -> None:
    for task in view.tasks:
        handle = task_handle(client, view.case_id, task.department)
        for _attempt in range(_ATTEMPTS):
            live = await _answered(lambda handle=handle: handle.query(DepartmentTaskWorkflow.view))
            kept = await _kept_task(pool, live, within=60.0)
            if kept is None:
                findings.mismatch("department_tasks row == workflow", f"{live.task_id}: never projected")
                break
            again = await _answered(lambda handle=handle: handle.query(DepartmentTaskWorkflow.view))
            if again.version != live.version or kept.version != live.version:
                continue
            findings.checked["department tasks"] += 1
            if _json(kept) != _json(live):
                findings.mismatch(
                    "department_tasks row == workflow", f"{live.task_id}: {_difference(_json(kept), _json(live))}"
                )
            break
        else:
            findings.mismatch("department_tasks row == workflow", f"{task.task_id}: kept moving")


async def _kept_task(pool: asyncpg.Pool, live: TaskView, within: float) -> TaskView | None:
    deadline = time.monotonic() + within
    while True:
        kept = await kept_task(pool, live.case_id, live.department)
        if kept is not None and kept.version >= live.version:
            return kept
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(_POLL)


async def projections(findings: Findings, client: Client, pool: asyncpg.Pool, case_ids: list[str]) -> None:
    gate = asyncio.Semaphore(_PARALLEL)

    async def one(case_id: str) -> None:
        async with gate:
            try:
                await _case(findings, client, pool, case_id)
            except (RPCError, WorkflowQueryFailedError) as error:
                findings.mismatch("every case answers its queries", f"{case_id}: {error}")

    await asyncio.gather(*(one(case_id) for case_id in case_ids))


# ---- workflows ---------------------------------------------------------------------------------------------


async def _trouble(client: Client, workflow: str) -> str | None:
    """What keeps a workflow from progressing: a workflow task or an activity failing again and again."""
    described = (await _answered(client.get_workflow_handle(workflow).describe)).raw_description
    if described.HasField("pending_workflow_task") and described.pending_workflow_task.attempt > 1:
        return f"workflow task on attempt {described.pending_workflow_task.attempt}"
    for activity in described.pending_activities:
        if activity.attempt >= _FAILING_ACTIVITY_ATTEMPTS:
            return (
                f"activity {activity.activity_type.name} on attempt {activity.attempt}: {activity.last_failure.message}"
            )
    return None


async def unstuck(findings: Findings, client: Client, workflows: list[str], within: float) -> None:
    """Every workflow free of failing work, waited for (a restart's retries settle), then the rest reported."""
    deadline = time.monotonic() + within
    troubles: dict[str, str | None] = dict.fromkeys(workflows, "unchecked")
    while True:
        pending = [workflow for workflow, trouble in troubles.items() if trouble]
        answers = await asyncio.gather(*(_trouble(client, workflow) for workflow in pending))
        troubles.update(zip(pending, answers, strict=True))
        if not any(answers) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    findings.checked["workflows described"] += len(workflows)
    for workflow, trouble in troubles.items():
        if trouble:
            findings.mismatch("no workflow stuck or failing", f"{workflow}: {trouble}")


async def histories(findings: Findings, client: Client, workflows: list[str]) -> None:
    gate = asyncio.Semaphore(_PARALLEL)

    async def fetch(workflow: str) -> WorkflowHistory:
        async with gate:
            return await _answered(client.get_workflow_handle(workflow).fetch_history)

    fetched = await asyncio.gather(*(fetch(workflow) for workflow in workflows))
    for history in fetched:
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                findings.checked["workflow tasks failed and retried"] += 1
                cause = event.workflow_task_failed_event_attributes.cause
                if cause == NONDETERMINISM:
                    message = event.workflow_task_failed_event_attributes.failure.message
                    findings.mismatch("no nondeterminism", f"{history.workflow_id} event {event.event_id}: {message}")

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in fetched:
            yield history

    replayer = Replayer(workflows=WORKFLOWS, data_converter=client.data_converter)
    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    findings.checked["histories replayed"] += len(fetched)
    for workflow, failure in results.replay_failures.items():
        findings.mismatch("every history replays", f"{workflow}: {str(failure)[:300]}")


async def task_workflows(client: Client) -> list[str]:
    return sorted(await _workflow_ids(client, "DepartmentTaskWorkflow"))


def case_workflows(case_ids: list[str]) -> list[str]:
    return [workflow_id(case_id) for case_id in case_ids]


# ---- notifications -----------------------------------------------------------------------------------------


async def notifications(findings: Findings, pool: asyncpg.Pool, receiver: WebhookReceiver, within: float) -> None:
    deadline = time.monotonic() + within
    while await pool.fetchval("SELECT count(*) FROM notifications WHERE delivered_at IS NULL"):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    rows = await pool.fetch(
        """SELECT n.case_id, n.seq, n.recipient, n.delivered_at, n.channel, n.attempts, n.last_error,
                  e.seq IS NOT NULL AS has_event
             FROM notifications n LEFT JOIN case_events e USING (case_id, seq)"""
    )
    findings.checked["notifications"] += len(rows)
    marked = set()
    for row in rows:
        notification = f"{row['case_id']}:{row['seq']}:{row['recipient']}"
        if not row["has_event"]:
            findings.mismatch("every notification belongs to an event", notification)
        if row["delivered_at"] is None:
            findings.mismatch(
                "every notification delivered",
                f"{notification} after {row['attempts']} attempts: {row['last_error']}",
            )
        elif row["channel"] != "webhook":
            findings.mismatch(
                "every notification delivered", f"{notification} went to {row['channel']}, not the webhook"
            )
        else:
            marked.add(notification)
    for notification in sorted(marked - set(receiver.received)):
        findings.mismatch(
            "delivered once per (case, event, recipient)", f"{notification}: marked delivered, never received"
        )
    for notification in sorted(set(receiver.received) - {f"{r['case_id']}:{r['seq']}:{r['recipient']}" for r in rows}):
        findings.mismatch("delivered once per (case, event, recipient)", f"{notification}: received, no outbox row")
    for notification in receiver.bad:
        findings.mismatch("webhooks signed", f"{notification}: bad signature or id")
    findings.checked["webhook resends (same X-Whistle-Id)"] += sum(n - 1 for n in receiver.received.values())
    findings.checked["webhook deliveries refused while failing"] += receiver.refused
    findings.checked["webhook deliveries cut off by a kill"] += receiver.cut_off


# ---- statistics --------------------------------------------------------------------------------------------


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _first_difference(path: str, first: Any, second: Any) -> str | None:
    if isinstance(first, dict) and isinstance(second, dict):
        for key in sorted(first.keys() | second.keys(), key=str):
            found = _first_difference(f"{path}.{key}", first.get(key), second.get(key))
            if found:
                return found
        return None
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        for n, (a, b) in enumerate(zip(first, second, strict=True)):
            found = _first_difference(f"{path}[{n}]", a, b)
            if found:
                return found
        return None
    return None if first == second else f"{path}: {first!r} != {second!r}"


async def statistics_agree(findings: Findings, pool: asyncpg.Pool) -> None:
    """Run with no worker left: nothing moves between the two counts."""
    now = datetime.now(UTC)
    today = local_day(now)
    since, until = day_start(today - timedelta(days=1)), day_start(today + timedelta(days=1))
    jurisdictions: list[str | None] = [
        None,
        *sorted({p.street for p in places()}),
        *sorted({p.compound for p in places()}),
    ]
    async with pool.acquire() as connection:
        if await filed_elsewhere(connection):
            findings.mismatch("statistics == one-pass recount", "the roll-ups cannot answer (filed elsewhere)")
            return
        for jurisdiction in jurisdictions:
            query = StatisticsQuery(jurisdiction=jurisdiction, since=since, until=until, as_of=now)
            rolled = _rounded((await statistics(connection, query)).model_dump(mode="json"))
            counted = _rounded((await one_pass(connection, query)).model_dump(mode="json"))
            findings.checked["statistics compared"] += 1
            difference = _first_difference(jurisdiction or "all", rolled, counted)
            if difference:
                findings.mismatch("statistics == one-pass recount", difference)
