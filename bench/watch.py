"""Seeing cases in the read model as a client would: one poller for every waiting case, not one per case."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

_POLL_SECONDS = 0.02

Condition = Callable[[asyncpg.Record], bool]

# What the watcher polls: rows keyed by case_id for the cases waited on ($1).
CASE_ROWS = "SELECT case_id, status, level FROM cases WHERE case_id = ANY($1::text[])"
# A case's owner (the organisation its level belongs to) has its notification in the outbox.
OWNER_NOTIFIED = """
    SELECT DISTINCT n.case_id FROM notifications n JOIN cases c ON c.case_id = n.case_id AND n.recipient = c.owner
     WHERE n.case_id = ANY($1::text[])
"""


@dataclass
class _Waiter:
    condition: Condition
    seen: asyncio.Future


class ReadModelWatcher:
    """`await watcher.until(case_id, condition)` returns the loop time the poll first saw the case's row match
    (a row of `rows`: by default the case's row in `cases`)."""

    def __init__(self, pool: asyncpg.Pool, rows: str = CASE_ROWS) -> None:
        self._pool = pool
        self._rows = rows
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
                rows = await self._pool.fetch(self._rows, list(self._waiters))
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
