"""Migrations apply in order, once, even when two processes race; the demo registry is complete and idempotent."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from activities import registry
from activities.db import connect
from activities.migrations import available, migrate
from schemas.domain import JurisdictionKind, OrgKind

# The seed categories DESIGN.md lists (section 1), by their Chinese names.
SEED_CATEGORIES = {
    "飞线充电",
    "下水道堵塞",
    "楼道杂物",
    "停车难",
    "电梯维保",
    "噪声扰民",
    "油烟扰民",
    "违章搭建",
    "消防通道堵塞",
    "房屋渗水",
    "毁绿种菜",
    "养鸡",
    "路面养护",
    "落水管道",
}


@pytest_asyncio.fixture
async def empty_database(postgres_server) -> AsyncIterator[str]:
    name = f"whistle_empty_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_server.get_uri())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield postgres_server.get_uri(name)


async def recorded(connection: asyncpg.Connection) -> list[int]:
    rows = await connection.fetch("SELECT number FROM schema_migrations ORDER BY applied_at, number")
    return [row["number"] for row in rows]


async def test_migrations_apply_in_order_once(empty_database):
    numbers = [number for number, _, _ in available()]
    assert numbers == sorted(set(numbers)) and len(numbers) >= 3
    connection = await connect(empty_database)
    try:
        first = await migrate(connection)
        assert first == [f"{number:03d}_{name}" for number, name, _ in available()]
        assert await recorded(connection) == numbers
        assert await migrate(connection) == []
        assert await recorded(connection) == numbers
    finally:
        await connection.close()


async def test_concurrent_migrations_apply_each_exactly_once(empty_database):
    connections = [await connect(empty_database) for _ in range(2)]
    try:
        applied = await asyncio.gather(*(migrate(connection) for connection in connections))
        assert sorted(applied, key=len) == [[], [f"{number:03d}_{name}" for number, name, _ in available()]]
        rows = await connections[0].fetch("SELECT number, count(*) AS times FROM schema_migrations GROUP BY number")
        assert {row["number"]: row["times"] for row in rows} == {number: 1 for number, _, _ in available()}
    finally:
        for connection in connections:
            await connection.close()


async def _counts(connection: asyncpg.Connection) -> dict[str, int]:
    tables = ("jurisdictions", "organisations", "compound_parties", "categories", "sla_policies")
    return {table: await connection.fetchval(f"SELECT count(*) FROM {table}") for table in tables}


async def test_demo_registry_is_idempotent_and_complete(database_url):
    connection = await connect(database_url)  # the fixture has loaded the demo once already
    try:
        before = await _counts(connection)
        await registry.load_demo(connection)
        assert await _counts(connection) == before

        kinds = await connection.fetch("SELECT code, kind, parent FROM jurisdictions")
        children: dict[str, list[str]] = {}
        for row in kinds:
            children.setdefault(row["parent"], []).append(row["code"])
        by_kind = {kind: [row["code"] for row in kinds if row["kind"] == kind] for kind in JurisdictionKind}
        assert len(by_kind[JurisdictionKind.DISTRICT]) == 1
        assert len(by_kind[JurisdictionKind.STREET]) >= 2
        for street in by_kind[JurisdictionKind.STREET]:
            assert len(children[street]) >= 2, f"street {street} has fewer than 2 communities"
        for community in by_kind[JurisdictionKind.COMMUNITY]:
            assert len(children[community]) >= 2, f"community {community} has fewer than 2 compounds"

        organisation_kinds = {
            row["code"]: row["kind"] for row in await connection.fetch("SELECT code, kind FROM organisations")
        }
        parties = {row["compound"]: row for row in await connection.fetch("SELECT * FROM compound_parties")}
        assert parties.keys() == set(by_kind[JurisdictionKind.COMPOUND])
        for compound, council in parties.items():
            assert organisation_kinds[council["community_committee"]] == OrgKind.COMMUNITY_COMMITTEE, compound
            assert organisation_kinds[council["owners_committee"]] == OrgKind.OWNERS_COMMITTEE, compound
            assert organisation_kinds[council["property_company"]] == OrgKind.PROPERTY_COMPANY, compound

        departments = {code for code, kind in organisation_kinds.items() if kind == OrgKind.DEPARTMENT}
        assert len(departments) >= 8

        categories = await registry.categories(connection)  # parsed: severity and needs_arrival are typed
        assert SEED_CATEGORIES <= {category.name for category in categories}
        for category in categories:
            routed = {category.routing.lead, *category.routing.assist}
            assert routed <= departments, f"{category.code} routes to unknown departments {routed - departments}"
    finally:
        await connection.close()
