"""The time-skipping test server with its clock set to a chosen moment.

Working-time deadlines depend on the date: a Friday afternoon, the National Day holiday. The test server starts
at the machine's time and only skips forward, and the dates worth testing lie in the past, so the server runs
under libfaketime (the `libfaketime` wheel ships the preloaded library): its clock starts at the moment given
and runs, and skips, from there. Only the server's process is affected; workflow code takes its time from it.
"""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from datetime import UTC, datetime

import asyncpg
import libfaketime

from tests.conftest import time_skipping_server
from tests.workflows.conftest import Harness
from workers.worker import build_worker


@contextmanager
def _started_at(moment: datetime) -> Iterator[None]:
    """Processes started meanwhile see their clock start at `moment`."""
    _, preload = libfaketime.get_reload_information()
    settings = {**preload, "FAKETIME": moment.astimezone(UTC).strftime("@%Y-%m-%d %H:%M:%S"), "TZ": "UTC"}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@asynccontextmanager
async def harness_at(moment: datetime, pool: asyncpg.Pool, task_queue: str, cached: bool) -> AsyncIterator[Harness]:
    """A worker on a time-skipping server whose clock starts at `moment`; every case replays afterwards."""
    async with AsyncExitStack() as stack:
        with _started_at(moment):
            env = await stack.enter_async_context(time_skipping_server())
        harness = Harness(env=env, pool=pool, task_queue=task_queue)
        options = {} if cached else {"max_cached_workflows": 0}
        async with build_worker(env.client, pool, task_queue, **options):
            yield harness
            assert await harness.replay() >= len(harness.started)
