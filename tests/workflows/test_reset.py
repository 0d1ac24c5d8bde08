"""`whistle case reset`: recover a case stuck on a nondeterminism error, refuse a healthy one."""

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker

from activities import registry
from client import case_reset, cases
from schemas.case import CaseReport, EventKind
from schemas.domain import Level, Severity
from tests.conftest import whistle_cli
from tests.workflows.stale_clock import StaleClockRunner
from workers.worker import WORKFLOWS, activities, build_worker

TIMER_STARTED = EventType.EVENT_TYPE_TIMER_STARTED
TIMER_FIRED = EventType.EVENT_TYPE_TIMER_FIRED
TASK_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
QUICK = "reset-quick"  # demo-fast, quicker still: the arrival timer fires at 2 s, the council's budget ends at 10 s


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def quick_policy(pool) -> str:
    demo_fast = next(policy for policy in registry.bundled_policies() if policy.name == "demo-fast")
    council = {**demo_fast.budgets[Level.COUNCIL], Severity.ORDINARY: timedelta(seconds=10)}
    policy = demo_fast.model_validate(
        {
            **demo_fast.model_dump(),
            "name": QUICK,
            "arrival": timedelta(seconds=2),
            "budgets": {**demo_fast.budgets, Level.COUNCIL: council},
        }
    )
    async with pool.acquire() as connection:
        await registry.save_policy(connection, policy)
    return QUICK


async def until(check, within: float, what: str):
    """Poll `check` (an async predicate) until it holds, at most `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def event_types(handle) -> list[EventType]:
    return [event.event_type for event in (await handle.fetch_history()).events]


def rearmed(types: list[EventType]) -> bool:
    """A timer fired and the case armed another instead of acting: the recorded stuck cases' shape."""
    after_fire = (
        [
            t
            for t in types[types.index(TIMER_FIRED) :]
            if t in (TIMER_STARTED, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        ]
        if TIMER_FIRED in types
        else []
    )
    return bool(after_fire) and after_fire[0] == TIMER_STARTED


async def test_reset_recovers_a_case_stuck_on_nondeterminism(dev_env, database_url, pool, task_queue, quick_policy):
    client = dev_env.client
    # A worker from before the fix (the patch never taken) on the stale clock records what the stuck cases
    # recorded: the arrival timer fires and the case arms it again instead of recording the breach.
    before_the_fix = Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(pool),
        workflow_runner=StaleClockRunner(),
        patch_activation_callback=lambda _: False,
    )
    report = CaseReport(compound="HP-DF-QH-1", category="SEWER_BLOCKAGE", description="sewage in building 3")
    async with before_the_fix:
        reported = await cases.report_case(client, pool, report, task_queue=task_queue, policy=quick_policy)
        await cases.wait_until_open(client, reported.case_id)
        handle = cases.case_handle(client, reported.case_id)
        await until(lambda: _holds(rearmed, handle), within=60, what="the arrival timer to be re-armed")

    # Today's worker replays that history at the recorded time, records the breach where the history has a
    # timer, and fails the task for good.
    async with build_worker(client, pool, task_queue):
        await until(lambda: _holds(lambda types: TASK_FAILED in types, handle), within=60, what="a failed task")
        stuck_run = (await handle.describe()).run_id

        out = await whistle_cli(dev_env, database_url, "case", "reset", reported.case_id)
        assert "已重置" in out
        new_run = (await handle.describe()).run_id
        assert new_run != stuck_run and new_run in out

        async def climbed() -> bool:
            view = await cases.view_case(client, reported.case_id)
            return view.level is Level.COMMUNITY

        await until(climbed, within=90, what="the reset case to climb to COMMUNITY")
        view = await cases.view_case(client, reported.case_id)
        kinds = [event.kind for event in view.timeline]
        assert kinds.count(EventKind.ARRIVAL_BREACHED) == 1 and kinds.count(EventKind.ESCALATED) == 1


async def _holds(predicate, handle) -> bool:
    return predicate(await event_types(handle))


async def test_reset_refuses_a_healthy_case_and_changes_nothing(dev_env, database_url, pool, task_queue):
    client = dev_env.client
    async with build_worker(client, pool, task_queue):
        report = CaseReport(compound="HP-DF-QH-2", category="CORRIDOR_CLUTTER", description="bikes on the stairs")
        reported = await cases.report_case(client, pool, report, task_queue=task_queue)
        await cases.wait_until_open(client, reported.case_id)
        handle = cases.case_handle(client, reported.case_id)
        await until(
            lambda: _holds(lambda types: types[-1] == TIMER_STARTED, handle), within=30, what="the case to sleep"
        )
        before = (await handle.describe()).run_id, await event_types(handle)

        err = await whistle_cli(dev_env, database_url, "case", "reset", reported.case_id, exit_code=1)
        assert len(err.strip().splitlines()) == 1 and "not stuck" in err
        assert ((await handle.describe()).run_id, await event_types(handle)) == before


@pytest.mark.parametrize(("name", "point"), [("stuck-1", 33), ("stuck-2", 58), ("stuck-3", 65)])
async def test_reset_point_of_a_recorded_stuck_case_is_the_task_that_rearmed_its_timer(name, point):
    """Not the last task that completed before the failure: tasks after the re-armed timer replay through it."""
    history = WorkflowHistory.from_json(
        name, json.loads((Path(__file__).parent / "histories" / f"{name}.json").read_text())
    )
    assert case_reset.reset_point(history) == point
    # What the reset run starts from: history up to that task's start, which the current code replays.
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(WorkflowHistory(name, history.events[: point - 1]))
