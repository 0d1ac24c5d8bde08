"""Workers killed (`kill -9`) around deadline timer firings: every case still climbs, every history replays."""

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError
from temporalio.worker import Replayer

from client import case_reset, cases
from schemas.case import CaseReport
from schemas.domain import Level
from workers.worker import WORKFLOWS

COMPOUNDS = [
    "HP-DF-QH-1",
    "HP-DF-QH-2",
    "HP-DF-YL-1",
    "HP-DF-YL-2",
    "HP-XH-CH-1",
    "HP-XH-CH-2",
    "HP-XH-MY-1",
    "HP-XH-MY-2",
]
# ORDINARY on demo-fast: arrival (the first two) at 10 s, warning at 24 s, deadline at 30 s. One open case per
# compound and category: a second report of the same issue would only follow the first.
CATEGORIES = ["SEWER_BLOCKAGE", "NOISE", "CORRIDOR_CLUTTER", "COOKING_FUMES"]
KILLS = 6
NONDETERMINISM = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR


class WorkerProcess:
    """`whistle worker` as its own process, the way it runs in production; `crash` is a `kill -9`."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._process: asyncio.subprocess.Process | None = None
        self.working = asyncio.Event()
        self.incarnations = 0
        self._watchers: list[asyncio.Task] = []

    async def start(self) -> None:
        # Every other incarnation keeps no workflow in memory: it replays the whole history on each task.
        cached = {"WHISTLE_MAX_CACHED_WORKFLOWS": "0"} if self.incarnations % 2 == 0 else {}
        self.incarnations += 1
        self.working = asyncio.Event()
        self._process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("whistle")),
            "worker",
            env={**self._env, **cached},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._watchers.append(asyncio.create_task(self._watch(self._process, self.working)))

    @staticmethod
    async def _watch(process: asyncio.subprocess.Process, working: asyncio.Event) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            if b"case projected" in line:
                working.set()

    async def crash(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        await self._process.wait()

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            await self.crash()


async def until(check, within: float, what: str):
    """Poll `check` (an async predicate returning a value or None) until it answers, at most `within` s."""
    deadline = asyncio.get_running_loop().time() + within
    while (answer := await check()) is None:
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)
    return answer


async def nondeterminism(client, case_id: str) -> str | None:
    """Why the case is stuck for good, if its last workflow task failed on nondeterminism."""
    failed = case_reset.stuck_task(await cases.case_handle(client, case_id).fetch_history())
    if failed is None or failed.workflow_task_failed_event_attributes.cause != NONDETERMINISM:
        return None
    return f"{case_id} event {failed.event_id}: {failed.workflow_task_failed_event_attributes.failure.message}"


async def level_of(client, case_id: str) -> Level | None:
    """The case's level; None while its last workflow task failed and awaits its retry (queries fail meanwhile)."""
    try:
        return (await cases.view_case(client, case_id)).level
    except RPCError:
        return None


async def _each(histories: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0.0))


async def test_cases_climb_and_replay_after_workers_die_around_timer_firings(dev_env, database_url, pool, task_queue):
    client = dev_env.client
    worker = WorkerProcess(
        {
            **os.environ,
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "DATABASE_URL": database_url,
            "WHISTLE_TASK_QUEUE": task_queue,
        }
    )
    await worker.start()
    try:
        case_ids = []
        for category in CATEGORIES:
            for compound in COMPOUNDS:
                report = CaseReport(compound=compound, category=category, description="reported during crash tests")
                reported = await cases.report_case(client, pool, report, task_queue=task_queue, policy="demo-fast")
                case_ids.append(reported.case_id)
        assert len(set(case_ids)) == len(COMPOUNDS) * len(CATEGORIES)
        views = [await cases.wait_until_open(client, case_id) for case_id in case_ids]
        assert all(view.level is Level.COUNCIL for view in views)

        # Crash right after warnings and deadlines fall due, each time once the last worker has done some work.
        stages = [view.stage for view in views]
        dues = sorted(due for stage in stages for due in (stage.arrival_due, stage.warning_at, stage.deadline) if due)
        for kill in range(KILLS):
            await sleep_until(dues[kill * (len(dues) - 1) // (KILLS - 1)])
            await asyncio.wait_for(worker.working.wait(), timeout=30)
            await worker.crash()
            await worker.start()

        async def all_escalated():
            stuck = [reason for case_id in case_ids if (reason := await nondeterminism(client, case_id))]
            assert not stuck, stuck
            levels = [await level_of(client, case_id) for case_id in case_ids]
            return levels if all(level not in (None, Level.COUNCIL) for level in levels) else None

        await until(all_escalated, within=60, what="every case to climb past COUNCIL")

        handles = [cases.case_handle(client, case_id) for case_id in case_ids]
        for case_id in case_ids:
            view = await cases.view_case(client, case_id)
            handles += [client.get_workflow_handle(task.task_id) for task in view.tasks]
        histories = [await handle.fetch_history() for handle in handles]
        failed = [
            (history.workflow_id, event.event_id)
            for history in histories
            for event in history.events
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            and event.workflow_task_failed_event_attributes.cause == NONDETERMINISM
        ]
        assert not failed
        replayer = Replayer(workflows=WORKFLOWS, data_converter=client.data_converter)
        results = await replayer.replay_workflows(_each(histories), raise_on_replay_failure=True)
        assert len(results.replay_failures) == 0 and len(histories) >= len(case_ids)
        assert worker.incarnations == KILLS + 1
    finally:
        await worker.stop()
