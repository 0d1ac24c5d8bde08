"""How a CLI command reaches the running system: environment first, else the `whistle dev` manifest."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from temporalio.client import Client

from client.settings import Settings
from client.startup import connect_temporal, create_pool
from devstack.manifest import read_manifest


def cli_settings() -> Settings:
    """Settings from the environment; what is missing comes from `<data dir>/dev.json` of a running `whistle dev`."""
    settings = Settings.from_env()
    if settings.temporal_address and settings.database_url:
        return settings
    manifest = read_manifest(settings.data_dir, "TEMPORAL_ADDRESS/DATABASE_URL are not set")
    return settings.model_copy(
        update={
            "temporal_address": settings.temporal_address or manifest.temporal_address,
            "temporal_namespace": manifest.temporal_namespace,
            "database_url": settings.database_url or manifest.database_url,
            "task_queue": manifest.task_queue,
            "default_policy": manifest.default_policy,
            "payload_key_file": settings.payload_key_file or manifest.payload_key_file,
        }
    )


@dataclass(frozen=True)
class Stack:
    settings: Settings
    client: Client
    pool: asyncpg.Pool


@asynccontextmanager
async def connected(settings: Settings | None = None) -> AsyncIterator[Stack]:
    settings = settings or cli_settings()
    client = await connect_temporal(settings)
    pool = await create_pool(settings.require_database_url())
    try:
        yield Stack(settings=settings, client=client, pool=pool)
    finally:
        await pool.close()
