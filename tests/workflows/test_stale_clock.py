"""A deadline timer that fired means its deadline is reached, whatever clock the next workflow task runs at."""

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from activities import registry
from schemas.case import EventKind
from schemas.domain import Level, Severity
from schemas.policy import Budget
from tests.waiting import eventually, in_flight, quiescent
from tests.workflows.conftest import Harness
from tests.workflows.stale_clock import StaleClockRunner, answers_or_delivers
from tests.workflows.test_departments import kinds, settled, task, to_district
from workers.worker import WORKFLOWS, activities

HISTORIES = sorted((Path(__file__).parent / "histories").glob("stuck-*.json"))
WFT_STARTED = "EVENT_TYPE_WORKFLOW_TASK_STARTED"


def offending_event(history: dict) -> int:
    """The recorded event the failed workflow task could not reproduce (named in its nondeterminism error)."""
    failed = [e for e in history["events"] if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_FAILED"][-1]
    return int(
        re.search(r"HistoryEvent\(id: (\d+)", failed["workflowTaskFailedEventAttributes"]["failure"]["message"])[1]
    )


def with_stale_task(history: dict) -> dict:
    """The history as the worker that recorded the offending event saw it: that task at the previous task's time."""
    history = json.loads(json.dumps(history))
    started = [e for e in history["events"] if e["eventType"] == WFT_STARTED]
    before = [e for e in started if int(e["eventId"]) < offending_event(history)]
    before[-1]["eventTime"] = before[-2]["eventTime"]
    return history


@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: path.stem)
async def test_stuck_histories_are_the_timer_loop_on_a_stale_clock(path):
    """Recorded stuck cases: a replay at the recorded time escalates where the case re-armed its timer, so no
    code can replay them (`whistle case reset` recovers such a case). With the one task that re-armed set back
    to the previous task's time, every recorded command replays, through the fix's pre-patch path."""
    history = json.loads(path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json(path.stem, history), raise_on_replay_failure=False
    )
    assert isinstance(result.replay_failure, NondeterminismError)
    assert f"HistoryEvent(id: {offending_event(history)}, TimerStarted)" in str(result.replay_failure)
    await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, with_stale_task(history)))


@pytest_asyncio.fixture(loop_scope="session")
async def stale(fresh_time_env, pool, task_queue):
    """A worker whose every timer-firing workflow task runs at the time of the task before it."""
    harness = Harness(env=fresh_time_env, pool=pool, task_queue=task_queue)
    async with Worker(
        fresh_time_env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(pool),
        workflow_runner=StaleClockRunner(),
    ):
        yield harness
        assert await harness.replay() >= len(harness.started)


async def test_case_climbs_when_its_timers_fire_on_a_stale_clock(stale):
    handle, _ = await stale.report(category="CORRIDOR_CLUTTER")
    await stale.env.sleep(timedelta(hours=1))  # COUNCIL: warning at 24 min, deadline at 30 min
    view = await stale.view(handle)
    assert view.level is Level.COMMUNITY
    ladder = [EventKind.WARNING, EventKind.SLA_BREACHED, EventKind.ESCALATED]
    assert [kind for kind in kinds(view) if kind in ladder] == ladder


async def test_department_task_reminds_when_its_timers_fire_on_a_stale_clock(stale):
    handle, _, _ = await to_district(stale)
    await stale.env.sleep(timedelta(hours=30))  # accept missed at 2 h, reminders 1, 2, 4, 8, 8 h later
    view = await settled(stale, handle, lambda v: kinds(v).count(EventKind.TASK_OVERDUE) == 6)
    overdue = [event for event in view.timeline if event.kind is EventKind.TASK_OVERDUE]
    assert [event.details["reminder"] for event in overdue] == [0, 1, 2, 3, 4, 5]


def stale_worker(harness: Harness) -> Worker:
    """A worker like one started after a `kill -9`: no workflow in memory (every task replays the history, no
    sticky queue), and the timer-firing task on the previous task's clock."""
    return Worker(
        harness.client,
        task_queue=harness.task_queue,
        workflows=WORKFLOWS,
        activities=activities(harness.pool),
        workflow_runner=StaleClockRunner(),
        max_cached_workflows=0,
    )


SECONDS_POLICY = "stale-seconds"


async def seconds_policy(pool) -> None:
    """Every level's budget 4 s, its warning at 2 s: deadlines pass on the dev server's real clock."""
    default = next(policy for policy in registry.bundled_policies() if policy.name == "default")
    budgets = {level: {severity: Budget(duration=timedelta(seconds=4)) for severity in Severity} for level in Level}
    policy = default.model_copy(update={"name": SECONDS_POLICY, "budgets": budgets, "warning_ratio": 0.5})
    async with pool.acquire() as connection:
        await registry.save_policy(connection, policy)


async def test_case_whose_warning_fires_after_its_deadline_on_a_stale_clock_replays(dev_env, pool, task_queue):
    """Found by `whistle chaos`: no worker ran while a case's warning and then its deadline fell due; the
    worker started after it ran the warning timer's task on the previous task's clock, so it fired the warning
    alone there and the deadline a task later; replayed at the recorded time, that task fired both at once
    (nondeterminism, the case stuck for good). A timer that fired fires what was due at its own instant."""
    await seconds_policy(pool)
    harness = Harness(env=dev_env, pool=pool, task_queue=task_queue)
    async with stale_worker(harness):
        handle, _ = await harness.report(category="CORRIDOR_CLUTTER", policy=SECONDS_POLICY)
        await quiescent(handle)  # projected, its warning timer armed
        deadline = (await harness.view(handle)).stage.deadline
    await eventually(lambda: datetime.now(UTC), lambda now: now > deadline + timedelta(seconds=1), what="the deadline")
    async with stale_worker(harness):
        view = await settled(harness, handle, lambda v: v.level is Level.COMMUNITY)
        ladder = [EventKind.WARNING, EventKind.SLA_BREACHED, EventKind.ESCALATED]
        assert [kind for kind in kinds(view) if kind in ladder] == ladder
        assert await harness.replay() == 1


def answers_late(harness: Harness) -> Worker:
    """A worker of the workflows alone whose every task that answers or delivers (an activity's result, an
    update, a signal) runs on the clock of the task before it."""
    return Worker(
        harness.client,
        task_queue=harness.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=StaleClockRunner(stale=answers_or_delivers),
    )


def activity_worker(harness: Harness) -> Worker:
    return Worker(harness.client, task_queue=harness.task_queue, activities=activities(harness.pool))


async def skip_while_its_activity_waits(harness: Harness, handle, duration: timedelta) -> None:
    """Skip `duration` on the test server's clock, during which `handle`'s timer fires and the workflow waits
    on the activity it then schedules, no worker running it (its worker killed). The server stops its clock
    while an activity is scheduled; one more unlock, for as long as that activity waits, lets it run on."""
    test_service = harness.client.test_service
    sleeping = asyncio.create_task(harness.env.sleep(duration))
    try:
        await eventually(
            handle.fetch_history,
            lambda history: in_flight(list(history.events)) == ["activity"],
            what=f"{handle.id} to wait on its activity",
            show=lambda history: in_flight(list(history.events)),
        )
        await test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
        try:
            await sleeping
        finally:
            await test_service.lock_time_skipping(LockTimeSkippingRequest())
    finally:
        sleeping.cancel()


async def test_case_climbs_when_a_projection_answers_after_its_deadline_on_a_stale_clock(
    fresh_time_env, pool, task_queue
):
    """Chaos finding 3: a worker started after a kill ran a case's task on the previous task's clock where that
    task was not a timer's (an activity's result). The deadline the task arms was still ahead on that clock and
    already past on the recorded one; were a timer armed only for a deadline ahead, the replay would find no
    timer where the worker started one (nondeterminism, the case stuck)."""
    harness = Harness(env=fresh_time_env, pool=pool, task_queue=task_queue)
    async with answers_late(harness):
        async with activity_worker(harness):
            handle, _ = await harness.report(category="CORRIDOR_CLUTTER")
            await quiescent(handle)
        # COUNCIL: the warning fires at 24 min; its projection answers at 35 min, past the deadline at 30 min
        await skip_while_its_activity_waits(harness, handle, timedelta(minutes=35))
        async with activity_worker(harness):
            await quiescent(handle)
            await harness.env.sleep(timedelta(hours=1))
            view = await settled(harness, handle, lambda v: v.level is Level.COMMUNITY)
        assert await harness.replay() == 1
    ladder = [EventKind.WARNING, EventKind.SLA_BREACHED, EventKind.ESCALATED]
    assert [kind for kind in kinds(view) if kind in ladder] == ladder


async def test_department_task_reminds_when_a_projection_answers_after_its_reminder_on_a_stale_clock(
    fresh_time_env, pool, task_queue
):
    """The same for a department task: its missed acceptance projects, and answers only after the first
    reminder was due."""
    harness = Harness(env=fresh_time_env, pool=pool, task_queue=task_queue)
    async with answers_late(harness):
        async with activity_worker(harness):
            handle, _, case_id = await to_district(harness)
            lead = task(harness, case_id, "CGZF")
            await quiescent(lead)
            await quiescent(handle)
        # accept missed at 2 h; its projection answers at 3 h 30 min, past the first reminder at 3 h
        await skip_while_its_activity_waits(harness, lead, timedelta(hours=3, minutes=30))
        async with activity_worker(harness):
            await quiescent(lead)
            await harness.env.sleep(timedelta(hours=30))  # reminders 2, 4, 8, 8 h later
            view = await settled(harness, handle, lambda v: kinds(v).count(EventKind.TASK_OVERDUE) == 6)
            assert await harness.replay() == 2
    overdue = [event for event in view.timeline if event.kind is EventKind.TASK_OVERDUE]
    assert [event.details["reminder"] for event in overdue] == [0, 1, 2, 3, 4, 5]
