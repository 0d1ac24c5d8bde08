"""API tests: the real app (its lifespan, its own Temporal client and pool) over httpx, a worker on a fresh
task queue of the real dev server, and real PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest_asyncio

from activities import registry
from activities.db import connect
from api import keys
from api.app import create_app
from client.settings import Settings
from client.startup import listen
from devstack.services import ApiServer
from schemas.domain import Channel
from schemas.keys import Role
from tests.waiting import HTTP_TIMEOUT
from workers.worker import build_worker

COMPOUND = "HP-DF-QH-1"  # council: PM-LVYUAN, OC-HP-DF-QH-1, HP-DF-QH; street HP-DF; district centre HP-CENTRE

KEYS: dict[str, tuple[str, Role, Channel | None]] = {
    "property": ("PM-LVYUAN", Role.COUNCIL, None),
    "owners": ("OC-HP-DF-QH-1", Role.COUNCIL, None),
    "community": ("HP-DF-QH", Role.COMMUNITY, None),
    "street": ("HP-DF", Role.STREET, None),
    "centre": ("HP-CENTRE", Role.SUPERVISOR, None),
    "xf": ("XF", Role.DEPARTMENT, None),
    "other_property": ("PM-JINDI", Role.COUNCIL, None),  # council party of other compounds only
    "hotline": ("HOTLINE-12345", Role.INTAKE, Channel.HOTLINE),
    "open311": ("OPEN311-APP", Role.INTAKE, Channel.OPEN311),
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_keys(database_url) -> dict[str, str]:
    """One key per role-holder of the demo compound HP-DF-QH-1, by short name."""
    connection = await connect(database_url)
    try:
        return {
            name: (await keys.issue(connection, org, role, channel=channel)).key
            for name, (org, role, channel) in KEYS.items()
        }
    finally:
        await connection.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def categories(database_url) -> Iterator[str]:
    """A fresh category per report: reports of one compound and category within a day are linked."""
    connection = await connect(database_url)
    try:
        codes = [category.code for category in await registry.categories(connection)]
    finally:
        await connection.close()
    return iter(codes)


def settings_for(dev_env, database_url: str, task_queue: str) -> Settings:
    return Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        database_url=database_url,
        task_queue=task_queue,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def http(dev_env, pool, database_url, task_queue) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(dev_env, database_url, task_queue))
    async with app.router.lifespan_context(app), build_worker(dev_env.client, pool, task_queue):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            timeout=HTTP_TIMEOUT, transport=transport, base_url="http://whistle.test"
        ) as client:
            yield client


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
