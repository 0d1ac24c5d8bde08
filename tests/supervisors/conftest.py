"""Supervisors' tests share one scripted scenario per module, driven on the time-skipping server."""

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.supervisors import scenario
from tests.waiting import projected, quiescent
from tests.workflows.conftest import Harness
from workers.worker import build_worker
from workflows.case import CaseWorkflow


async def all_projected(harness: Harness, pool) -> None:
    """Wait until each started case has finished its work and the read model holds every event it recorded."""
    for workflow_id in harness.started:
        handle = harness.client.get_workflow_handle(workflow_id)
        await quiescent(handle)
        await projected(pool, await handle.query(CaseWorkflow.view))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scripted(time_env, pool) -> AsyncIterator[scenario.Scenario]:
    """The scenario, run once for the module on its own database, replayed at the end."""
    harness = Harness(env=time_env, pool=pool, task_queue=f"whistle-supervisors-{uuid.uuid4()}")
    async with build_worker(time_env.client, pool, harness.task_queue):
        result = await scenario.run(harness)
        await all_projected(harness, pool)
        yield result
        await harness.replay()
