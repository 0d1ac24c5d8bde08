"""Numbered SQL migrations beside this module, each applied once, in order, in its own transaction."""

from importlib import resources

import asyncpg
import structlog

log = structlog.get_logger(__name__)

# Any constant shared by every Whistle process: two starting at once serialise on it.
_MIGRATION_LOCK = 0x5748_4953  # "WHIS"


def available() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every `sql/NNN_name.sql`, sorted by number."""
    found = []
    for entry in resources.files("activities.sql").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append((int(number), rest.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(connection: asyncpg.Connection) -> list[str]:
    """Apply what is missing; returns the names applied now."""
    applied_now: list[str] = []
    await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await connection.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   number integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {row["number"] for row in await connection.fetch("SELECT number FROM schema_migrations")}
        for number, name, sql in available():
            if number in done:
                continue
            async with connection.transaction():
                await connection.execute(sql)
                await connection.execute("INSERT INTO schema_migrations (number, name) VALUES ($1, $2)", number, name)
            applied_now.append(f"{number:03d}_{name}")
            log.info("migration applied", migration=f"{number:03d}_{name}")
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied_now
