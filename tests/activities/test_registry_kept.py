"""What a process keeps from the registry (the name book, the compound map) follows the registry once it has
changed, and the hot path, every page naming what it shows, asks the database nothing in between."""

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from activities import locations, registry_edits, registry_kept
from activities.db import create_pool
from client.names import name_book
from schemas.registry import ChangeVia, City

ACTOR = registry_edits.Actor(name="test", via=ChangeVia.IMPORT)
COMPOUND = "HP-DF-QH-2"
EAST = (39.1210, 117.2100)  # latitude, longitude: east of every demo compound, within 400 m of HP-DF-QH-2
AROUND_EAST = {
    "type": "Polygon",
    "coordinates": [
        [[117.2041, 39.1201], [117.2110, 39.1201], [117.2110, 39.1223], [117.2041, 39.1223], [117.2041, 39.1201]]
    ],
}


@pytest_asyncio.fixture(loop_scope="session")
async def queries(database_url) -> AsyncIterator[tuple[asyncpg.Pool, list[str]]]:
    """A pool of one connection, and every query sent over it."""
    pool = await create_pool(database_url, max_size=1)
    sent: list[str] = []
    async with pool.acquire() as connection:
        connection.add_query_logger(lambda record: sent.append(record.query))
    yield pool, sent
    await pool.close()


def _compound(city: City, code: str, **changes) -> City:
    city = city.model_copy(deep=True)
    for district in city.districts:
        for street in district.streets:
            for community in street.communities:
                for index, compound in enumerate(community.compounds):
                    if compound.code == code:
                        community.compounds[index] = compound.model_copy(update=changes)
    return city


async def _change(pool: asyncpg.Pool, code: str, **changes) -> None:
    async with pool.acquire() as connection:
        city = await registry_edits.export_city(connection)
        plan = await registry_edits.import_city(connection, _compound(city, code, **changes), ACTOR)
    assert plan.changes


async def test_a_moved_boundary_routes_once_the_registry_has_changed(pool, monkeypatch):
    monkeypatch.setattr(registry_kept, "CHECK_EVERY", 0.0)
    assert (await locations.compound_map(pool)).locate(*EAST) is None
    await _change(pool, COMPOUND, boundary=AROUND_EAST)
    assert (await locations.compound_map(pool)).locate(*EAST) == COMPOUND


async def test_a_renamed_place_reads_under_its_new_name_once_the_registry_has_changed(pool, monkeypatch):
    monkeypatch.setattr(registry_kept, "CHECK_EVERY", 0.0)
    before = (await name_book(pool)).place(COMPOUND)
    await _change(pool, COMPOUND, name=f"{before}（新）")
    assert (await name_book(pool)).place(COMPOUND) == f"{before}（新）"


async def test_what_is_kept_is_asked_for_again_only_after_a_while(queries, monkeypatch):
    pool, sent = queries
    monkeypatch.setattr(registry_kept, "CHECK_EVERY", 3600.0)
    first = await name_book(pool)
    assert sent, "the first book is read from the database"
    sent.clear()
    assert await name_book(pool) is first
    assert sent == []  # not even a connection taken from the pool

    monkeypatch.setattr(registry_kept, "CHECK_EVERY", 0.0)
    sent.clear()
    assert await name_book(pool) is first  # nothing changed: the version is asked for, the book kept
    assert sent[0] == "SELECT coalesce(max(id), 0) FROM registry_changes" and "name" not in " ".join(sent)


async def test_each_database_has_its_own(pool, queries):
    other, _ = queries
    assert await name_book(pool) is not await name_book(other)
