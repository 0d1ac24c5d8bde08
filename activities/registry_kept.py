"""What a process reads from the registry and keeps: the name book, the compound map.

A reading is kept per pool (a process may reach more than one database) and read again once the registry has
changed, which `registry_changes` records: every import, edit and retirement adds a row there. Its last id is
asked for at most every `CHECK_EVERY` seconds, so the hot path (every page and answer names what it shows)
costs no query, and a change made by any process shows in every other within that time. (LISTEN/NOTIFY would
show it sooner but holds a connection per pool outside the pool, and needs a trigger; a second is soon enough
for a renamed organisation or a moved boundary.)
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

CHECK_EVERY = 1.0  # seconds

T = TypeVar("T")


@dataclass
class _Reading(Generic[T]):
    pool: asyncpg.Pool
    version: int  # the last id in registry_changes when it was read
    checked: float  # monotonic time the version was last asked for
    value: T


class Kept(Generic[T]):
    """`await kept(pool)`: what `read` returns, read again only when the registry has changed."""

    def __init__(self, read: Callable[[asyncpg.Connection], Awaitable[T]]) -> None:
        self._read = read
        self._readings: dict[int, _Reading[T]] = {}  # by id(pool): asyncpg pools take no weak references

    async def __call__(self, pool: asyncpg.Pool) -> T:
        reading = self._readings.get(id(pool))
        if reading is not None and reading.pool is pool and time.monotonic() - reading.checked < CHECK_EVERY:
            return reading.value
        checked = time.monotonic()
        async with pool.acquire() as connection:
            version = await connection.fetchval("SELECT coalesce(max(id), 0) FROM registry_changes")
            if reading is None or reading.pool is not pool or reading.version != version:
                reading = _Reading(pool, version, checked, await self._read(connection))
            else:
                reading.checked = checked
        self._readings[id(pool)] = reading
        return reading.value
