"""The registry's names, read once and refreshed: every page, answer and printout names what it shows."""

import time

import asyncpg

from activities import registry
from i18n.names import NameBook

FRESH_FOR = 30.0  # seconds: a renamed organisation shows under its new name this soon

_book: tuple[float, NameBook] | None = None


async def name_book(pool: asyncpg.Pool) -> NameBook:
    global _book
    if _book is None or time.monotonic() - _book[0] > FRESH_FOR:
        async with pool.acquire() as connection:
            _book = (time.monotonic(), await registry.name_book(connection))
    return _book[1]
