"""The registry in PostgreSQL: the look-ups cases and the API make, and the bundled demo city.

Importing, editing and retiring live in `registry_edits`; the city file in `city_file`."""

import json
from collections.abc import Collection
from datetime import datetime
from importlib import resources

import asyncpg
from pydantic import TypeAdapter

from activities import calendars, registry_edits
from activities.registry_rows import routing_key
from i18n.names import NameBook
from i18n.zone import local_day
from schemas.domain import Code, PartyRole
from schemas.policy import SlaPolicy
from schemas.registry import (
    CaseContext,
    Category,
    ChangeVia,
    City,
    CompoundParties,
    Jurisdiction,
    Organisation,
    RegistryPart,
    Routing,
    Volunteer,
)

_policies = TypeAdapter(list[SlaPolicy])


class UnknownReference(LookupError):
    """A compound, category, policy or organisation that the registry does not hold."""


def bundled_policies() -> list[SlaPolicy]:
    text = resources.files("activities.data").joinpath("sla_policies.json").read_text(encoding="utf-8")
    return _policies.validate_json(text)


def demo_jurisdiction() -> dict:
    text = resources.files("activities.data").joinpath("demo_jurisdiction.json").read_text(encoding="utf-8")
    return json.loads(text)


async def save_policy(connection: asyncpg.Connection, policy: SlaPolicy) -> None:
    await registry_edits.upsert(connection, RegistryPart.POLICY, {policy.name: policy.model_dump(mode="json")})


async def save_category(connection: asyncpg.Connection, category: Category, district: Code) -> None:
    """A category and its routing in one district (as the benchmark adds one)."""
    assert category.routing is not None, "a category is saved with the routing of its district"
    await registry_edits.upsert(
        connection, RegistryPart.CATEGORY, {category.code: category.model_dump(mode="json", exclude={"routing"})}
    )
    routing = {"category": category.code, "district": district, **category.routing.model_dump()}
    await registry_edits.upsert(connection, RegistryPart.ROUTING, {routing_key(category.code, district): routing})


def demo_city() -> City:
    """The bundled demo district (demo_jurisdiction.json, one district in its own layout) and the bundled
    policies, as a city."""
    demo = demo_jurisdiction()
    district = {
        **demo["district"],
        "centre": demo["district_centre"],
        "departments": demo["departments"],
        "property_companies": demo["property_companies"],
        "streets": demo["streets"],
        "routing": {category["code"]: category["routing"] for category in demo["categories"]},
    }
    return City.model_validate(
        {
            "districts": [district],
            "categories": [{k: v for k, v in c.items() if k != "routing"} for c in demo["categories"]],
            "policies": bundled_policies(),
        }
    )


async def load_demo(connection: asyncpg.Connection) -> None:
    """Import the demo district, its councils, departments, categories and policies. Idempotent."""
    await registry_edits.import_city(connection, demo_city(), registry_edits.Actor(name="demo", via=ChangeVia.IMPORT))


async def next_case_id(connection: asyncpg.Connection, reported: datetime) -> str:
    """WH-<yyyymmdd>-<nnnnnn>, the local date of the report: readable over the phone, unique across days."""
    number = await connection.fetchval("SELECT nextval('case_number')")
    return f"WH-{local_day(reported):%Y%m%d}-{number % 1_000_000:06d}"


async def volunteer(connection: asyncpg.Connection, code: Code) -> Volunteer:
    row = await connection.fetchrow(
        "SELECT code, community, name, name_en, employer, points FROM volunteers WHERE code = $1", code
    )
    if row is None:
        raise UnknownReference(f"unknown volunteer {code!r}")
    return Volunteer(**dict(row))


async def volunteers(connection: asyncpg.Connection, community: Code) -> list[Volunteer]:
    rows = await connection.fetch(
        """SELECT code, community, name, name_en, employer, points FROM volunteers
            WHERE community = $1 ORDER BY points DESC, code""",
        community,
    )
    return [Volunteer(**dict(row)) for row in rows]


async def category(connection: asyncpg.Connection, code: Code, district: Code | None = None) -> Category:
    """A category in force, with its routing in `district` (see `categories`)."""
    row = await connection.fetchrow("SELECT definition FROM categories WHERE code = $1 AND retired_at IS NULL", code)
    if row is None:
        raise UnknownReference(f"unknown category {code!r}")
    routing = await _routing(connection, district)
    return Category.model_validate({**row["definition"], "routing": routing.get(code)})


async def categories(connection: asyncpg.Connection, district: Code | None = None) -> list[Category]:
    """The categories in force, each with its routing in `district`; with no district named, in the city's only
    district (in a city of several, no routing)."""
    rows = await connection.fetch("SELECT definition FROM categories WHERE retired_at IS NULL ORDER BY code")
    routing = await _routing(connection, district)
    return [
        Category.model_validate({**row["definition"], "routing": routing.get(row["definition"]["code"])})
        for row in rows
    ]


async def _routing(connection: asyncpg.Connection, district: Code | None) -> dict[str, Routing]:
    rows = await connection.fetch(
        """SELECT category, lead, assist FROM category_routing
            WHERE district = coalesce($1, (SELECT min(code) FROM jurisdictions WHERE kind = 'DISTRICT'
                                            HAVING count(*) = 1))""",
        district,
    )
    return {row["category"]: Routing(lead=row["lead"], assist=row["assist"]) for row in rows}


async def policy(connection: asyncpg.Connection, name: Code) -> SlaPolicy:
    row = await connection.fetchrow("SELECT definition FROM sla_policies WHERE name = $1", name)
    if row is None:
        raise UnknownReference(f"unknown SLA policy {name!r}")
    return SlaPolicy.model_validate(row["definition"])


async def case_context(
    connection: asyncpg.Connection,
    compound: Code,
    category_code: Code,
    policy_name: Code,
    since: datetime | None = None,
) -> CaseContext:
    """compound -> community -> street -> district, the council, the category (routed in the district), the policy
    in force and the calendars of the organisations owning the levels (from `since`, the case's start; default now)."""
    row = await connection.fetchrow(
        """SELECT cp.code AS compound, cm.code AS community, st.code AS street, d.code AS district,
                  p.community_committee, p.owners_committee, p.property_company,
                  (SELECT o.code FROM organisations o
                    WHERE o.jurisdiction = d.code AND o.kind = 'DISTRICT_CENTRE' LIMIT 1) AS district_org
             FROM jurisdictions cp
             JOIN jurisdictions cm ON cm.code = cp.parent AND cm.kind = 'COMMUNITY'
             JOIN jurisdictions st ON st.code = cm.parent AND st.kind = 'STREET'
             JOIN jurisdictions d ON d.code = st.parent AND d.kind = 'DISTRICT'
             JOIN compound_parties p ON p.compound = cp.code
            WHERE cp.code = $1 AND cp.kind = 'COMPOUND'""",
        compound,
    )
    if row is None:
        raise UnknownReference(f"unknown compound {compound!r}")
    if row["district_org"] is None:
        raise UnknownReference(f"district {row['district']!r} has no command centre organisation")
    departments = await connection.fetch(
        """SELECT code FROM organisations
            WHERE kind = 'DEPARTMENT' AND jurisdiction = $1 AND retired_at IS NULL ORDER BY code""",
        row["district"],
    )
    routed = await category(connection, category_code, row["district"])
    if routed.routing is None:
        raise UnknownReference(f"category {category_code!r} has no routing in district {row['district']!r}")
    parties = {
        PartyRole.COMMUNITY_COMMITTEE: row["community_committee"],
        PartyRole.OWNERS_COMMITTEE: row["owners_committee"],
        PartyRole.PROPERTY_COMPANY: row["property_company"],
    }
    return CaseContext(
        district=row["district"],
        street=row["street"],
        community=row["community"],
        compound=row["compound"],
        council={party: code for party, code in parties.items() if code is not None},
        community_org=row["community"],
        street_org=row["street"],
        district_org=row["district_org"],
        departments=[r["code"] for r in departments],
        category=routed,
        policy=await policy(connection, policy_name),
        **await calendars.for_case(
            connection,
            since,
            [row["property_company"], row["community"], row["street"], row["district_org"]]
            + [r["code"] for r in departments],
        ),
    )


async def jurisdictions(connection: asyncpg.Connection) -> list[Jurisdiction]:
    rows = await connection.fetch("SELECT code, kind, name, name_en, parent FROM jurisdictions ORDER BY code")
    return [Jurisdiction(**dict(row)) for row in rows]


async def organisations(connection: asyncpg.Connection) -> list[Organisation]:
    rows = await connection.fetch(
        """SELECT code, kind, name, name_en, jurisdiction, duties FROM organisations
            WHERE retired_at IS NULL ORDER BY code"""
    )
    return [Organisation(**dict(row)) for row in rows]


async def councils(connection: asyncpg.Connection) -> list[CompoundParties]:
    """Every compound's council."""
    rows = await connection.fetch(
        """SELECT compound, community_committee, owners_committee, property_company
             FROM compound_parties ORDER BY compound"""
    )
    return [CompoundParties(**dict(row)) for row in rows]


async def name_book(connection: asyncpg.Connection, codes: Collection[str] | None = None) -> NameBook:
    """Every code a person may read, with its names: organisations, volunteers, categories, and places (only
    `codes`, if given: the few one message names)."""
    wanted = None if codes is None else list(codes)
    names = await connection.fetch(
        """SELECT code, name, name_en FROM (
                     SELECT code, name, name_en FROM organisations
           UNION ALL SELECT code, name, name_en FROM volunteers
           UNION ALL SELECT code, definition->>'name', definition->>'name_en' FROM categories) named
            WHERE $1::text[] IS NULL OR code = ANY($1::text[])""",
        wanted,
    )
    places = await connection.fetch(
        "SELECT code, name, name_en FROM jurisdictions WHERE $1::text[] IS NULL OR code = ANY($1::text[])", wanted
    )
    return NameBook(
        {row["code"]: (row["name"], row["name_en"]) for row in names},
        {row["code"]: (row["name"], row["name_en"]) for row in places},
    )
