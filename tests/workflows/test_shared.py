"""A worker caching many open cases holds one registry context for the cases that carry equal ones."""

import gc
from datetime import UTC, datetime

from activities import registry
from client import cases
from schemas.case import CaseReport, CaseStart
from workers.worker import build_worker
from workflows.case import CaseWorkflow
from workflows.shared import shared

COMPOUND, CATEGORY = "HP-DF-QH-1", "CORRIDOR_CLUTTER"


def test_equal_models_are_one_instance_and_unequal_ones_are_not():
    first = CaseReport(compound=COMPOUND, category=CATEGORY, description="bicycles in the corridor")
    again = first.model_copy()
    other = first.model_copy(update={"description": "boxes in the corridor"})
    assert shared(first) is shared(again) and shared(first) == first
    assert shared(other) is not shared(first) and shared(other) == other


def cached_cases(case_ids: set[str]) -> list[CaseWorkflow]:
    return [o for o in gc.get_objects() if isinstance(o, CaseWorkflow) and o._case and o._case.case_id in case_ids]


async def test_cached_cases_of_a_compound_and_category_share_one_context(fresh_time_env, pool, task_queue):
    # started straight from the same start input intake gives (intake itself would link the second report
    # of an issue to the first case)
    now = datetime.now(UTC)
    async with pool.acquire() as connection:
        context = await registry.case_context(connection, COMPOUND, CATEGORY, "default", now)
        case_ids = [await registry.next_case_id(connection, now) for _ in range(3)]
    client = fresh_time_env.client
    async with build_worker(client, pool, task_queue):
        for number, case_id in enumerate(case_ids):
            report = CaseReport(compound=COMPOUND, category=CATEGORY, description=f"corridor issue {number}")
            start = CaseStart(case_id=case_id, report=report, context=context, context_at=now)
            await client.start_workflow(CaseWorkflow.run, start, id=cases.workflow_id(case_id), task_queue=task_queue)
            await cases.wait_until_open(client, case_id)
        cached = cached_cases(set(case_ids))
        assert len(cached) == 3
        contexts = {id(workflow._case.ctx) for workflow in cached}
        assert len(contexts) == 1, "each cached case holds a copy of its own"
