"""The registry's names, read again whenever the registry has changed: every page, answer and printout names
what it shows, under the names the registry holds now."""

import asyncpg

from activities import registry
from i18n.names import NameBook

# per pool (a process may reach more than one database): the registry's last change id, and the book read then
_books: dict[int, tuple[asyncpg.Pool, int, NameBook]] = {}


async def name_book(pool: asyncpg.Pool) -> NameBook:
    async with pool.acquire() as connection:
        version = await connection.fetchval("SELECT coalesce(max(id), 0) FROM registry_changes")
        cached = _books.get(id(pool))
        if cached is None or cached[0] is not pool or cached[1] != version:
            cached = (pool, version, await registry.name_book(connection))
            _books[id(pool)] = cached
    return cached[2]
