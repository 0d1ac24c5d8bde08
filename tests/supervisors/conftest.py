"""Supervisors' tests share one scripted scenario per module, driven on the time-skipping server."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.supervisors import scenario
from tests.workflows.conftest import Harness
from workers.worker import build_worker
from workflows.case import CaseWorkflow


async def projected(harness: Harness, pool, within: float = 30.0) -> None:
    """Wait until the read model holds every event each started case has recorded (projections are async)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    for workflow_id in harness.started:
        view = await harness.client.get_workflow_handle(workflow_id).query(CaseWorkflow.view)
        while await pool.fetchval("SELECT last_seq FROM cases WHERE case_id = $1", view.case_id) != view.last_seq:
            assert loop.time() < deadline, f"{workflow_id} not projected"
            await asyncio.sleep(0.05)


_case_number_blocks = itertools.count(1)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scripted(time_env, pool) -> AsyncIterator[scenario.Scenario]:
    """The scenario, run once for the module on its own database, replayed at the end."""
    # every module has a fresh database whose case numbers restart, on a server shared by the session
    await pool.execute("SELECT setval('case_number', $1)", 500_000 + 10_000 * next(_case_number_blocks))
    harness = Harness(env=time_env, pool=pool, task_queue=f"whistle-supervisors-{uuid.uuid4()}")
    async with build_worker(time_env.client, pool, harness.task_queue):
        result = await scenario.run(harness)
        await projected(harness, pool)
        yield result
        await harness.replay()
