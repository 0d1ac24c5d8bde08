"""A PostgreSQL of the test's own, which the test may stop and start again (same data directory)."""

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.postgres import OwnPostgres, create_database, own_postgres_server


@pytest_asyncio.fixture(loop_scope="session")
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    with own_postgres_server("whistle_own") as postgres:
        await create_database(postgres.server, postgres.database)
        yield postgres
