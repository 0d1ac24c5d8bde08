"""Figure 6: list and statistics queries on a read model seeded with a million cases, in a database of its own.

Seeding and timing come from `bench.million` (the supervisors' list and statistics queries).
"""

import asyncio
import importlib

from activities.db import create_pool
from bench.results import Latency, Queries
from bench.stack import BenchStack

DATABASE = "whistle_million"


async def read_model_queries(stack: BenchStack, rows: int) -> Queries:
    try:
        million = importlib.import_module("bench.million")
    except ModuleNotFoundError:
        return Queries(rows=rows, pending="bench/million.py (seeding and the supervisors' queries) has not landed yet")
    pool = await create_pool(await stack.extra_database(DATABASE))
    try:
        loop = asyncio.get_running_loop()
        began = loop.time()
        await million.seed_cases(pool, rows)
        seeded = loop.time() - began
        timings = await million.time_queries(pool)
    finally:
        await pool.close()
    return Queries(
        rows=rows,
        seed_seconds=round(seeded, 1),
        latency={name: Latency.of(list(samples)) for name, samples in timings.items()},
    )
