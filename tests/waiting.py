"""Waiting for a state, never for a guessed time.

Projections, department signals, notification deliveries and a workflow's own follow-up work all happen
after the call that caused them returns. Tests poll for the state they need, under one generous bound:
CI runs on a busy 2-core machine, and a bound only decides how long a real failure takes to report.
"""

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle

from schemas.case import CaseView

WITHIN = 90.0  # seconds
# What a test lets one HTTP request to a live stack take (httpx waits 5 s by default: too short on a busy machine).
HTTP_TIMEOUT = 60.0  # seconds
_POLL = 0.05


async def eventually(
    probe: Callable[[], Any | Awaitable[Any]],
    until: Callable[[Any], bool] = bool,
    *,
    within: float = WITHIN,
    what: str = "the expected state",
    show: Callable[[Any], object] = repr,
) -> Any:
    """Call `probe` (sync or async) until `until` holds for its result, and return that result."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if until(result):
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}; last seen: {show(result)}")
        await asyncio.sleep(_POLL)


_WORKFLOW_TASK_OPEN = {EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED}
# A failed or timed-out workflow task is retried (the retry only reaches the history once it completes).
_WORKFLOW_TASK_RETRIED = {EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT}
# Commands whose outcome the server records later, keyed by the event that closes them (which names the opener).
_OPENERS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity",
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "child start",
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "signal to another workflow",
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "cancel request",
}
_CLOSERS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
}


def in_flight(events: list[HistoryEvent]) -> list[str]:
    """What a workflow's history shows still under way: a workflow task, activities, child starts, signals."""
    pending: dict[int, str] = {}
    workflow_task = False
    for event in events:
        kind = event.event_type
        if kind in _WORKFLOW_TASK_OPEN or kind in _WORKFLOW_TASK_RETRIED:
            workflow_task = True
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            workflow_task = False
        elif kind in _OPENERS:
            pending[event.event_id] = _OPENERS[kind]
        elif kind in _CLOSERS:
            attributes = getattr(event, event.WhichOneof("attributes"))
            opener = getattr(attributes, "scheduled_event_id", 0) or getattr(attributes, "initiated_event_id", 0)
            pending.pop(opener, None)
    return ["workflow task"] * workflow_task + sorted(pending.values())


async def quiescent(handle: WorkflowHandle, *, within: float = WITHIN) -> list[HistoryEvent]:
    """Wait until the workflow has finished everything it started (a closed workflow always has) and return
    its history: the point to snapshot before checking that an action "changes nothing"."""

    async def history() -> list[HistoryEvent]:
        return list((await handle.fetch_history()).events)

    return await eventually(
        history,
        lambda events: not in_flight(events),
        within=within,
        what=f"{handle.id} to finish its work",
        show=in_flight,
    )


async def projected(pool: asyncpg.Pool, view: CaseView) -> None:
    """Wait until the read model holds the case up to the view's last event (each transition projects after)."""
    await eventually(
        lambda: pool.fetchval("SELECT last_seq FROM cases WHERE case_id = $1", view.case_id),
        lambda last: last is not None and last >= view.last_seq,
        what=f"the read model of {view.case_id} up to seq {view.last_seq}",
    )
