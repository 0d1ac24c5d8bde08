"""Bringing a database up to date: numbered migrations and, on request, the demo registry."""

import structlog

from activities import calendars, registry
from activities.migrations import migrate
from client.startup import connect_postgres, redact

log = structlog.get_logger(__name__)


async def prepare(url: str, *, demo: bool) -> list[str]:
    """Apply missing migrations, seed the calendars' holidays (and load the demo jurisdiction); returns the
    migrations applied now."""
    connection = await connect_postgres(url)
    try:
        applied = await migrate(connection)
        await calendars.seed(connection)
        if demo:
            await registry.load_demo(connection)
    finally:
        await connection.close()
    log.info("database ready", database=redact(url), applied=applied, demo_loaded=demo)
    return applied


async def ensure_exists(server_url: str, name: str) -> None:
    """Create database `name` on the server if it is missing (CREATE DATABASE cannot be conditional)."""
    connection = await connect_postgres(server_url)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
            log.info("database created", database=name)
    finally:
        await connection.close()
