"""Figures 1 and 2: the floor's workflows and Whistle's intake, each N items through C concurrent clients."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from temporalio.client import Client

from bench.floor import FloorWorkflow
from bench.reports import report
from bench.watch import ReadModelWatcher
from client.cases import report_case


async def timed_batch(count: int, concurrency: int, item: Callable[[int], Awaitable[float]]) -> tuple[list, float]:
    """Run `item(i)` for i < count, at most `concurrency` at once; returns each item's result and the wall time."""
    gate = asyncio.Semaphore(concurrency)

    async def gated(number: int) -> float:
        async with gate:
            return await item(number)

    loop = asyncio.get_running_loop()
    began = loop.time()
    results = await asyncio.gather(*(gated(number) for number in range(count)))
    return list(results), loop.time() - began


async def floor(client: Client, task_queue: str, count: int, concurrency: int) -> tuple[list[float], float, list[str]]:
    """Start-to-complete latency of each floor workflow, the wall time, and the workflow ids."""
    run = uuid.uuid4().hex[:8]
    loop = asyncio.get_running_loop()

    async def one(number: int) -> float:
        began = loop.time()
        await client.execute_workflow(FloorWorkflow.run, id=f"floor-{run}-{number}", task_queue=task_queue)
        return loop.time() - began

    latencies, seconds = await timed_batch(count, concurrency, one)
    return latencies, seconds, [f"floor-{run}-{number}" for number in range(count)]


async def intake(
    client: Client, pool: asyncpg.Pool, task_queue: str, count: int, concurrency: int
) -> tuple[list[float], float, list[str]]:
    """Report-to-visible latency of each case (its row in `cases`), the wall time, and the case ids."""
    loop = asyncio.get_running_loop()
    case_ids: list[str] = []
    async with ReadModelWatcher(pool) as watcher:

        async def one(number: int) -> float:
            began = loop.time()
            reported = await report_case(client, pool, report(number), task_queue=task_queue)
            case_ids.append(reported.case_id)
            return await watcher.until(reported.case_id) - began

        latencies, seconds = await timed_batch(count, concurrency, one)
    return latencies, seconds, case_ids
