"""API tests: the real app (its lifespan, its own Temporal client and pool) over httpx, a worker on a fresh
task queue of the real dev server, and real PostgreSQL."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest_asyncio

from activities import registry
from activities.db import connect
from api import keys
from api.app import create_app
from client.settings import Settings
from schemas.domain import Channel
from schemas.keys import Role
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
        async with httpx.AsyncClient(transport=transport, base_url="http://whistle.test") as client:
            yield client
