"""Fixtures of the worker-process tests: a PostgreSQL of the test's own that the test may stop and start again,
and the real API app served over HTTP by uvicorn on a free port, for what a newcomer's browser opens."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest_asyncio

from client.settings import Settings
from client.startup import listen
from devstack.services import ApiServer
from tests.postgres import OwnPostgres, create_database, own_postgres_server

START_SECONDS = 30


@pytest_asyncio.fixture(loop_scope="session")
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    with own_postgres_server("whistle_own") as postgres:
        await create_database(postgres.server, postgres.database)
        yield postgres


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """The API app with these settings, served until the block ends; yields its base URL."""
    listener = listen("127.0.0.1", 0, "API test")
    server = ApiServer(settings, listener)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    while not server.started:  # uvicorn sets `started` once it serves
        assert not serving.done() and loop.time() < deadline, "the API did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        listener.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_url(time_env, database_url) -> AsyncIterator[str]:
    settings = Settings(temporal_address=time_env.client.service_client.config.target_host, database_url=database_url)
    async with serving(settings) as url:
        yield url
