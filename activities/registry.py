"""The registry in PostgreSQL: demo jurisdiction and SLA policies loading, and look-ups."""

import json
from collections.abc import Collection
from datetime import date
from importlib import resources

import asyncpg
from pydantic import TypeAdapter

from i18n.names import NameBook
from schemas.domain import Code, JurisdictionKind, OrgKind, PartyRole
from schemas.policy import SlaPolicy
from schemas.registry import CaseContext, Category, CompoundParties, Jurisdiction, Organisation, Volunteer

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
    await connection.execute(
        """INSERT INTO sla_policies (name, definition) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()""",
        policy.name,
        policy.model_dump(mode="json"),
    )


async def load_demo(connection: asyncpg.Connection) -> None:
    """Load the demo district, its council parties, departments, categories and policies. Idempotent."""
    demo = demo_jurisdiction()
    district = demo["district"]["code"]
    jurisdictions = [(district, JurisdictionKind.DISTRICT, demo["district"]["name"], demo["district"]["name_en"], None)]
    centre = demo["district_centre"]
    organisations = [(centre["code"], OrgKind.DISTRICT_CENTRE, centre["name"], centre["name_en"], district, None)]
    parties: list[tuple[str, str, str, str]] = []
    volunteers: list[tuple[str, str, str, str | None, str]] = []
    for company in demo["property_companies"]:
        organisations.append(
            (company["code"], OrgKind.PROPERTY_COMPANY, company["name"], company["name_en"], district, None)
        )
    for dept in demo["departments"]:
        organisations.append(
            (dept["code"], OrgKind.DEPARTMENT, dept["name"], dept["name_en"], district, dept["duties"])
        )
    for street in demo["streets"]:
        jurisdictions.append((street["code"], JurisdictionKind.STREET, street["name"], street["name_en"], district))
        organisations.append(
            (
                street["code"],
                OrgKind.STREET_OFFICE,
                f"{street['name']}办事处",
                f"{street['name_en']} Office",
                street["code"],
                None,
            )
        )
        for community in street["communities"]:
            code, zh, en = community["code"], community["name"], community["name_en"]
            jurisdictions.append((code, JurisdictionKind.COMMUNITY, zh, en, street["code"]))
            organisations.append(
                (code, OrgKind.COMMUNITY_COMMITTEE, f"{zh}居委会", f"{en} Community Committee", code, None)
            )
            volunteers += [
                (v["code"], code, v["name"], v.get("name_en"), v["employer"]) for v in community["volunteers"]
            ]
            for compound in community["compounds"]:
                owners = f"OC-{compound['code']}"
                zh, en = compound["name"], compound["name_en"]
                jurisdictions.append((compound["code"], JurisdictionKind.COMPOUND, zh, en, code))
                organisations.append(
                    (owners, OrgKind.OWNERS_COMMITTEE, f"{zh}业委会", f"{en} Owners' Committee", compound["code"], None)
                )
                parties.append((compound["code"], code, owners, compound["property_company"]))
    async with connection.transaction():
        await connection.executemany(
            """INSERT INTO jurisdictions (code, kind, name, name_en, parent) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (code) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
                                                name_en = EXCLUDED.name_en, parent = EXCLUDED.parent""",
            jurisdictions,
        )
        await connection.executemany(
            """INSERT INTO organisations (code, kind, name, name_en, jurisdiction, duties)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (code) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, name_en = EXCLUDED.name_en,
                   jurisdiction = EXCLUDED.jurisdiction, duties = EXCLUDED.duties""",
            organisations,
        )
        await connection.executemany(
            """INSERT INTO compound_parties (compound, community_committee, owners_committee, property_company)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (compound) DO UPDATE SET community_committee = EXCLUDED.community_committee,
                   owners_committee = EXCLUDED.owners_committee, property_company = EXCLUDED.property_company""",
            parties,
        )
        await connection.executemany(
            """INSERT INTO volunteers (code, community, name, name_en, employer) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (code) DO UPDATE SET community = EXCLUDED.community, name = EXCLUDED.name,
                   name_en = EXCLUDED.name_en, employer = EXCLUDED.employer""",
            volunteers,
        )
        await connection.executemany(
            """INSERT INTO categories (code, definition) VALUES ($1, $2)
               ON CONFLICT (code) DO UPDATE SET definition = EXCLUDED.definition""",
            [(c["code"], Category.model_validate(c).model_dump(mode="json")) for c in demo["categories"]],
        )
        for policy in bundled_policies():
            await save_policy(connection, policy)


async def next_case_id(connection: asyncpg.Connection, day: date) -> str:
    """WH-<yyyymmdd>-<nnnnnn>: readable over the phone, unique across days."""
    number = await connection.fetchval("SELECT nextval('case_number')")
    return f"WH-{day:%Y%m%d}-{number % 1_000_000:06d}"


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


async def category(connection: asyncpg.Connection, code: Code) -> Category:
    row = await connection.fetchrow("SELECT definition FROM categories WHERE code = $1", code)
    if row is None:
        raise UnknownReference(f"unknown category {code!r}")
    return Category.model_validate(row["definition"])


async def categories(connection: asyncpg.Connection) -> list[Category]:
    rows = await connection.fetch("SELECT definition FROM categories ORDER BY code")
    return [Category.model_validate(row["definition"]) for row in rows]


async def policy(connection: asyncpg.Connection, name: Code) -> SlaPolicy:
    row = await connection.fetchrow("SELECT definition FROM sla_policies WHERE name = $1", name)
    if row is None:
        raise UnknownReference(f"unknown SLA policy {name!r}")
    return SlaPolicy.model_validate(row["definition"])


async def case_context(
    connection: asyncpg.Connection, compound: Code, category_code: Code, policy_name: Code
) -> CaseContext:
    """compound -> community -> street -> district, the council, the category and the policy in force."""
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
        "SELECT code FROM organisations WHERE kind = 'DEPARTMENT' AND jurisdiction = $1 ORDER BY code",
        row["district"],
    )
    return CaseContext(
        district=row["district"],
        street=row["street"],
        community=row["community"],
        compound=row["compound"],
        council={
            PartyRole.COMMUNITY_COMMITTEE: row["community_committee"],
            PartyRole.OWNERS_COMMITTEE: row["owners_committee"],
            PartyRole.PROPERTY_COMPANY: row["property_company"],
        },
        community_org=row["community"],
        street_org=row["street"],
        district_org=row["district_org"],
        departments=[r["code"] for r in departments],
        category=await category(connection, category_code),
        policy=await policy(connection, policy_name),
    )


async def jurisdictions(connection: asyncpg.Connection) -> list[Jurisdiction]:
    rows = await connection.fetch("SELECT code, kind, name, name_en, parent FROM jurisdictions ORDER BY code")
    return [Jurisdiction(**dict(row)) for row in rows]


async def organisations(connection: asyncpg.Connection) -> list[Organisation]:
    rows = await connection.fetch(
        "SELECT code, kind, name, name_en, jurisdiction, duties FROM organisations ORDER BY code"
    )
    return [Organisation(**dict(row)) for row in rows]


async def councils(connection: asyncpg.Connection) -> list[CompoundParties]:
    """Every compound's three-party council."""
    rows = await connection.fetch(
        """SELECT compound, community_committee, owners_committee, property_company
             FROM compound_parties ORDER BY compound"""
    )
    return [CompoundParties(**dict(row)) for row in rows]


async def name_book(connection: asyncpg.Connection, codes: Collection[str] | None = None) -> NameBook:
    """Every code a person may read, with its names: organisations, jurisdictions, categories, volunteers
    (only `codes`, if given: the few one message names)."""
    rows = await connection.fetch(
        """SELECT code, name, name_en FROM (
                  SELECT code, name, name_en FROM jurisdictions
        UNION ALL SELECT code, name, name_en FROM organisations
        UNION ALL SELECT code, name, name_en FROM volunteers
        UNION ALL SELECT code, definition->>'name', definition->>'name_en' FROM categories) named
            WHERE $1::text[] IS NULL OR code = ANY($1::text[])""",
        None if codes is None else list(codes),
    )
    return NameBook({row["code"]: (row["name"], row["name_en"]) for row in rows})
