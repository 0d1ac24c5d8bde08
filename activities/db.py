"""The asyncpg pool every activity and read-model query shares."""

import json

import asyncpg


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection)


async def connect(dsn: str) -> asyncpg.Connection:
    """A single connection with the same codecs as the pool (for migrations and one-off commands)."""
    connection = await asyncpg.connect(dsn)
    await _init_connection(connection)
    return connection
