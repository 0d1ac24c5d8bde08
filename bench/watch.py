"""Seeing cases in the read model as a client would: one poller for every waiting case, not one per case."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

_POLL_SECONDS = 0.02

Condition = Callable[[asyncpg.Record], bool]


@dataclass
class _Waiter:
    condition: Condition
    seen: asyncio.Future


class ReadModelWatcher:
    """`await watcher.until(case_id, condition)` returns the loop time the poll first saw the `cases` row match."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiters: dict[str, list[_Waiter]] = {}
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "ReadModelWatcher":
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *_) -> None:
        assert self._task is not None
        self._task.cancel()

    async def until(self, case_id: str, condition: Condition = lambda row: True) -> float:
        waiter = _Waiter(condition, asyncio.get_running_loop().create_future())
        self._waiters.setdefault(case_id, []).append(waiter)
        return await waiter.seen

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._waiters:
                rows = await self._pool.fetch(
                    "SELECT case_id, status, level FROM cases WHERE case_id = ANY($1::text[])", list(self._waiters)
                )
                now = loop.time()
                for row in rows:
                    waiting = self._waiters.get(row["case_id"], [])
                    for waiter in [w for w in waiting if w.condition(row)]:
                        waiting.remove(waiter)
                        if not waiter.seen.done():
                            waiter.seen.set_result(now)
                    if not waiting:
                        self._waiters.pop(row["case_id"], None)
            await asyncio.sleep(_POLL_SECONDS)
