"""Importing a city: two districts routing the same categories to departments of their own, councils with fewer
parties, a file with problems that changes nothing and lists every one (with its line), export -> import that
changes nothing, and the migration that moved the demo's routing to its district."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from activities import city_file, registry, registry_edits
from activities.db import connect
from activities.migrations import available
from activities.registry_rows import read_rows
from i18n.language import ENGLISH, speaking
from schemas.domain import PartyRole
from schemas.registry import ChangeAction, ChangeVia
from tests import cities

ACTOR = registry_edits.Actor(name="test", via=ChangeVia.IMPORT)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def city_url(postgres_server) -> str:
    return await cities.registry_database(postgres_server)


@pytest_asyncio.fixture(loop_scope="session")
async def connection(city_url) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect(city_url)
    yield connection
    await connection.close()


def english(problems: list[city_file.Problem]) -> list[str]:
    with speaking(ENGLISH):
        return [str(problem) for problem in problems]


def _validated(content: dict) -> city_file.City:
    return city_file.validate(city_file.parse(cities.yaml_text(content), "city.yaml", json_format=False))


async def test_a_city_of_two_districts_with_councils_of_fewer_parties(connection):
    content = cities.city()
    plan = await registry_edits.import_city(connection, _validated(content), ACTOR)
    assert plan.count(ChangeAction.CHANGED) == 0 and plan.count(ChangeAction.ADDED) > 0
    again = await registry_edits.import_city(connection, _validated(content), ACTOR)
    assert again.changes == [] and again.unchanged == len(plan.changes)  # idempotent

    no_company = await registry.case_context(connection, cities.NO_COMPANY, "LEAK", "default")
    assert no_company.council == {
        PartyRole.COMMUNITY_COMMITTEE: "CN-1-1",
        PartyRole.OWNERS_COMMITTEE: f"OC-{cities.NO_COMPANY}",
    }
    assert no_company.council_owner == "CN-1-1"  # the community stands in
    nobody = await registry.case_context(connection, cities.NOBODY, "LEAK", "default")
    assert nobody.council == {PartyRole.COMMUNITY_COMMITTEE: "CN-1-1"}
    managed = await registry.case_context(connection, cities.WITH_COMPANY, "LEAK", "default")
    assert managed.council[PartyRole.PROPERTY_COMPANY] == managed.council_owner == "CN-PM2"
    assert len(managed.council) == 3

    south = await registry.case_context(connection, cities.SOUTH, "LEAK", "default")
    assert (no_company.district, south.district) == ("CN", "CS")
    assert no_company.category.routing.lead == "CN-SW" and south.category.routing.lead == "CS-SW"
    assert south.category.routing.assist == ["CS-CG"] and south.departments == ["CS-CG", "CS-SW", "CS-XF"]
    assert south.district_org == "CS-CENTRE"

    recorded = await registry_edits.changes(connection, key=cities.NO_COMPANY, part="COUNCIL")
    assert [(c.action, c.actor, c.via) for c in recorded] == [(ChangeAction.ADDED, "test", ChangeVia.IMPORT)]


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[occurrence - 1]


async def test_a_file_with_problems_changes_nothing_and_lists_every_one(connection):
    content = cities.city()
    north, south = content["districts"]
    north["routing"]["NO_SUCH_CATEGORY"] = {"lead": "CN-SW"}  # dangling routing
    north["routing"]["FIRE_LANE"] = {"lead": "CN-FIRE", "assist": ["CS-CG"]}  # unknown; the other district's
    del south["routing"]["LEAK"]  # a category the district does not route
    compounds = north["streets"][1]["communities"][0]["compounds"]
    compounds[1]["code"] = compounds[0]["code"]  # duplicate code
    compounds[2]["property_company"] = "CN-PM9"  # no such company
    compounds.append({"code": "CN-NEW", "name": "新小区"})  # valid, and still not applied
    text = cities.yaml_text(content)
    before = await read_rows(connection)

    with speaking(ENGLISH), pytest.raises(city_file.InvalidCity) as refused:
        city_file.validate(city_file.parse(text, "city.yaml", json_format=False))

    problems = set(english(refused.value.problems))
    duplicate = compounds[0]["code"]
    assert problems == {
        f"districts[0].streets[1].communities[0].compounds[1].code (city.yaml, line "
        f"{_line_of(text, f'code: {duplicate}', 2)}): code {duplicate} is used twice "
        "(also at districts[0].streets[1].communities[0].compounds[0].code)",
        f"districts[0].streets[1].communities[0].compounds[2].property_company (city.yaml, line "
        f"{_line_of(text, 'property_company: CN-PM9')}): CN-PM9 is not a property company of the city",
        f"districts[0].routing.FIRE_LANE.lead (city.yaml, line {_line_of(text, 'lead: CN-FIRE')}): "
        "unknown department CN-FIRE",
        f"districts[0].routing.FIRE_LANE.assist[0] (city.yaml, line {_line_of(text, 'lead: CN-FIRE') + 2}): "
        "CS-CG is a department of district CS, not of CN",
        f"districts[0].routing.NO_SUCH_CATEGORY (city.yaml, line {_line_of(text, 'NO_SUCH_CATEGORY:')}): "
        "unknown category NO_SUCH_CATEGORY",
        f"districts[1].routing (city.yaml, line {_line_of(text, 'routing:', 2)}): no routing for LEAK",
    }
    assert await read_rows(connection) == before


async def test_the_shape_of_a_file_is_checked_before_its_references(connection):
    text = "districts:\n  - code: CN\n    name: 城北区\n    centre: {code: CN-CENTRE}\n    colour: red\n"
    with speaking(ENGLISH), pytest.raises(city_file.InvalidCity) as refused:
        city_file.validate(city_file.parse(text, "city.yaml", json_format=False))
    assert set(english(refused.value.problems)) == {
        "districts[0].centre.name (city.yaml, line 4): missing",
        "districts[0].colour (city.yaml, line 5): unknown field",
    }


async def test_a_code_the_registry_knows_as_another_kind_is_refused_and_nothing_applied(connection):
    content = cities.city()
    await registry_edits.import_city(connection, _validated(content), ACTOR)
    north = content["districts"][0]
    department = north["departments"].pop(2)  # CN-CG becomes a property company
    north["property_companies"].append({"code": department["code"], "name": department["name"]})
    north["routing"]["LEAK"]["assist"] = []
    north["streets"][0]["communities"][0]["compounds"].append({"code": "CN-NEW", "name": "新小区"})
    before = await read_rows(connection)

    with speaking(ENGLISH), pytest.raises(city_file.InvalidCity) as refused:
        await registry_edits.import_city(connection, _validated(content), ACTOR)

    assert [problem.message for problem in refused.value.problems] == [
        "CN-CG is a district department in the registry and cannot become a property company"
    ]
    assert await read_rows(connection) == before


async def test_export_then_import_changes_nothing(connection, tmp_path: Path):
    await registry_edits.import_city(connection, _validated(cities.city()), ACTOR)
    exported = city_file.content(await registry_edits.export_city(connection))

    as_yaml = city_file.parse(city_file.dumps(exported, yaml_format=True), "out.yaml", json_format=False)
    plan = await registry_edits.import_city(connection, city_file.validate(as_yaml), ACTOR, dry_run=True)
    assert plan.changes == [] and plan.kept == 0 and plan.unchanged > 0

    compounds, volunteers = (city_file.split_table(exported, table) for table in ("compounds", "volunteers"))
    (tmp_path / "city.json").write_text(city_file.dumps(exported, yaml_format=False))
    (tmp_path / "compounds.csv").write_text(compounds)
    (tmp_path / "volunteers.csv").write_text(volunteers)
    read = city_file.read(
        tmp_path / "city.json", compounds=tmp_path / "compounds.csv", volunteers=tmp_path / "volunteers.csv"
    )
    assert (await registry_edits.import_city(connection, read, ACTOR, dry_run=True)).changes == []


async def test_csv_rows_with_problems_are_reported_by_line(tmp_path: Path):
    content = cities.city()
    text, compounds, volunteers = cities.as_tables(content)
    rows = compounds.splitlines()
    rows[3] = rows[3].replace("CN-1-1,", "CN-9-9,", 1)  # an unknown community
    cells = rows[5].split(",")
    cells[5] = "maybe"  # owners_committee: not a yes or no
    rows[5] = ",".join(cells)
    (tmp_path / "city.yaml").write_text(text)
    (tmp_path / "compounds.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "volunteers.csv").write_text(volunteers)

    with speaking(ENGLISH), pytest.raises(city_file.InvalidCity) as refused:
        _read_tables(tmp_path)

    assert english(refused.value.problems) == ["compounds.community (compounds.csv, line 4): unknown community CN-9-9"]
    rows[3] = compounds.splitlines()[3]
    (tmp_path / "compounds.csv").write_text("\n".join(rows) + "\n")
    with speaking(ENGLISH), pytest.raises(city_file.InvalidCity) as refused:
        _read_tables(tmp_path)
    [problem] = refused.value.problems
    assert problem.location == city_file.Location("compounds.csv", 6) and problem.message == "must be true or false"


def _read_tables(folder: Path) -> city_file.City:
    return city_file.read(
        folder / "city.yaml", compounds=folder / "compounds.csv", volunteers=folder / "volunteers.csv"
    )


async def test_the_migration_routes_each_category_in_its_lead_departments_district(postgres_server):
    """A registry loaded before 014 kept each category's routing in its definition."""
    name = f"whistle_before_014_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_server.get_uri())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    connection = await connect(postgres_server.get_uri(name))
    try:
        for number, _name, sql in available():
            if number == 14:
                demo = registry.demo_jurisdiction()
                await _load_as_before_014(connection, demo)
            await connection.execute(sql)
        category = await registry.category(connection, "FLYING_WIRE", "HP")
        assert category.routing is not None and (category.routing.lead, category.routing.assist) == (
            "XF",
            ["GD", "CGZF"],
        )
        definition = await connection.fetchval("SELECT definition FROM categories WHERE code = 'FLYING_WIRE'")
        assert "routing" not in definition
        assert await connection.fetchval("SELECT count(*) FROM category_routing") == len(demo["categories"])
    finally:
        await connection.close()


async def _load_as_before_014(connection: asyncpg.Connection, demo: dict) -> None:
    district = demo["district"]["code"]
    await connection.execute(
        "INSERT INTO jurisdictions (code, kind, name) VALUES ($1, 'DISTRICT', $2)", district, demo["district"]["name"]
    )
    await connection.executemany(
        "INSERT INTO organisations (code, kind, name, jurisdiction) VALUES ($1, 'DEPARTMENT', $2, $3)",
        [(d["code"], d["name"], district) for d in demo["departments"]],
    )
    await connection.executemany(
        "INSERT INTO categories (code, definition) VALUES ($1, $2)", [(c["code"], c) for c in demo["categories"]]
    )


async def test_a_file_is_checked_with_the_registry_it_joins(connection):
    """A file may list part of the city; what it adds must still fit what the registry keeps."""
    await registry_edits.import_city(connection, _validated(cities.city()), ACTOR)
    west = cities.city(streets=1, communities=1, compounds=1)["districts"][0]
    west = {**west, "code": "CW", "centre": {**west["centre"], "code": "CW-CENTRE"}, "streets": []}
    west["departments"] = [{**d, "code": d["code"].replace("CN-", "CW-")} for d in west["departments"]]
    west["property_companies"] = []
    west["routing"] = {"LEAK": {"lead": "CW-SW"}}
    leak = next(c for c in cities.city()["categories"] if c["code"] == "LEAK")
    before = await read_rows(connection)

    with speaking(ENGLISH), pytest.raises(city_file.InvalidCity) as refused:
        await registry_edits.import_city(connection, _validated({"districts": [west], "categories": [leak]}), ACTOR)

    assert english(refused.value.problems) == [
        "districts.CW.routing (the registry as it would be): no routing for FIRE_LANE"
    ]
    assert await read_rows(connection) == before
