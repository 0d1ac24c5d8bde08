"""The registry as rows, keyed by code in each part: what an import compares with PostgreSQL and writes, and what
an export turns back into a city. `rows_of` and `city_of` are inverses for every registry an import can write."""

from typing import Any

import asyncpg

from schemas.domain import JurisdictionKind, OrgKind
from schemas.policy import SlaPolicy
from schemas.registry import (
    Category,
    CategoryEntry,
    City,
    CommunityEntry,
    CompoundEntry,
    DepartmentEntry,
    DistrictEntry,
    NamedEntry,
    RegistryPart,
    Routing,
    StreetEntry,
    VolunteerEntry,
    owners_committee_code,
)

Row = dict[str, Any]
Rows = dict[RegistryPart, dict[str, Row]]


def empty() -> Rows:
    return {part: {} for part in RegistryPart}


def routing_key(category: str, district: str) -> str:
    return f"{category}@{district}"


def _area(kind: JurisdictionKind, entry: NamedEntry, parent: str | None, boundary: dict | None = None) -> Row:
    return {"kind": kind.value, "name": entry.name, "name_en": entry.name_en, "parent": parent, "boundary": boundary}


def _organisation(kind: OrgKind, entry: NamedEntry, jurisdiction: str, duties: str | None = None) -> Row:
    return {
        "kind": kind.value,
        "name": entry.name,
        "name_en": entry.name_en,
        "jurisdiction": jurisdiction,
        "duties": duties,
    }


def _office(kind: OrgKind, area: NamedEntry, zh: str, en: str) -> Row:
    """The office or committee of an area, named after it: 东风街道办事处 / Dongfeng Street Office."""
    name_en = en.format(area.name_en) if area.name_en else None
    return {
        "kind": kind.value,
        "name": zh.format(area.name),
        "name_en": name_en,
        "jurisdiction": area.code,
        "duties": None,
    }


def rows_of(city: City) -> Rows:
    rows = empty()
    areas, orgs = rows[RegistryPart.JURISDICTION], rows[RegistryPart.ORGANISATION]
    for district in city.districts:
        areas[district.code] = _area(JurisdictionKind.DISTRICT, district, None)
        orgs[district.centre.code] = _organisation(OrgKind.DISTRICT_CENTRE, district.centre, district.code)
        for department in district.departments:
            orgs[department.code] = _organisation(OrgKind.DEPARTMENT, department, district.code, department.duties)
        for company in district.property_companies:
            orgs[company.code] = _organisation(OrgKind.PROPERTY_COMPANY, company, district.code)
        for category, routing in district.routing.items():
            rows[RegistryPart.ROUTING][routing_key(category, district.code)] = {
                "category": category,
                "district": district.code,
                "lead": routing.lead,
                "assist": list(routing.assist),
            }
        for street in district.streets:
            areas[street.code] = _area(JurisdictionKind.STREET, street, district.code)
            orgs[street.code] = _office(OrgKind.STREET_OFFICE, street, "{}办事处", "{} Office")
            for community in street.communities:
                _community_rows(rows, community, street.code)
    for category in city.categories:
        rows[RegistryPart.CATEGORY][category.code] = category.model_dump(mode="json")
    for policy in city.policies:
        rows[RegistryPart.POLICY][policy.name] = policy.model_dump(mode="json")
    return rows


def _community_rows(rows: Rows, community: CommunityEntry, street: str) -> None:
    rows[RegistryPart.JURISDICTION][community.code] = _area(JurisdictionKind.COMMUNITY, community, street)
    rows[RegistryPart.ORGANISATION][community.code] = _office(
        OrgKind.COMMUNITY_COMMITTEE, community, "{}居委会", "{} Community Committee"
    )
    for compound in community.compounds:
        rows[RegistryPart.JURISDICTION][compound.code] = _area(
            JurisdictionKind.COMPOUND, compound, community.code, compound.boundary
        )
        owners = None
        if compound.owners_committee:
            owners = owners_committee_code(compound.code)
            rows[RegistryPart.ORGANISATION][owners] = _office(
                OrgKind.OWNERS_COMMITTEE, compound, "{}业委会", "{} Owners' Committee"
            )
        rows[RegistryPart.COUNCIL][compound.code] = {
            "community_committee": community.code,
            "owners_committee": owners,
            "property_company": compound.property_company,
        }
    for volunteer in community.volunteers:
        rows[RegistryPart.VOLUNTEER][volunteer.code] = {
            "community": community.code,
            "name": volunteer.name,
            "name_en": volunteer.name_en,
            "employer": volunteer.employer,
        }


def city_of(rows: Rows) -> City:
    """The city the rows hold (what `export` writes)."""
    areas, orgs = rows[RegistryPart.JURISDICTION], rows[RegistryPart.ORGANISATION]
    children: dict[str | None, list[str]] = {}
    for code in sorted(areas):
        children.setdefault(areas[code]["parent"], []).append(code)
    in_area: dict[tuple[str, OrgKind], list[str]] = {}
    for code in sorted(orgs):
        in_area.setdefault((orgs[code]["jurisdiction"], orgs[code]["kind"]), []).append(code)
    volunteers: dict[str, list[str]] = {}
    for code in sorted(rows[RegistryPart.VOLUNTEER]):
        volunteers.setdefault(rows[RegistryPart.VOLUNTEER][code]["community"], []).append(code)
    routing: dict[str, dict[str, Routing]] = {}
    for key in sorted(rows[RegistryPart.ROUTING]):
        row = rows[RegistryPart.ROUTING][key]
        routing.setdefault(row["district"], {})[row["category"]] = Routing(lead=row["lead"], assist=row["assist"])

    def named(code: str, row: Row, **more: Any) -> dict[str, Any]:
        return {"code": code, "name": row["name"], "name_en": row["name_en"], **more}

    def compound(code: str) -> CompoundEntry:
        council = rows[RegistryPart.COUNCIL].get(code, {})
        return CompoundEntry(
            **named(code, areas[code]),
            property_company=council.get("property_company"),
            owners_committee=council.get("owners_committee") is not None,
            boundary=areas[code]["boundary"],
        )

    def community(code: str) -> CommunityEntry:
        return CommunityEntry(
            **named(code, areas[code]),
            compounds=[compound(child) for child in children.get(code, [])],
            volunteers=[
                VolunteerEntry(
                    **named(v, rows[RegistryPart.VOLUNTEER][v], employer=rows[RegistryPart.VOLUNTEER][v]["employer"])
                )
                for v in volunteers.get(code, [])
            ],
        )

    def district(code: str) -> DistrictEntry:
        centre = in_area[(code, OrgKind.DISTRICT_CENTRE)][0]
        return DistrictEntry(
            **named(code, areas[code]),
            centre=NamedEntry(**named(centre, orgs[centre])),
            departments=[
                DepartmentEntry(**named(d, orgs[d], duties=orgs[d]["duties"]))
                for d in in_area.get((code, OrgKind.DEPARTMENT), [])
            ],
            property_companies=[
                NamedEntry(**named(c, orgs[c])) for c in in_area.get((code, OrgKind.PROPERTY_COMPANY), [])
            ],
            streets=[
                StreetEntry(**named(s, areas[s]), communities=[community(c) for c in children.get(s, [])])
                for s in children.get(code, [])
            ],
            routing=routing.get(code, {}),
        )

    return City(
        districts=[
            district(code) for code in children.get(None, []) if areas[code]["kind"] == JurisdictionKind.DISTRICT
        ],
        categories=[
            CategoryEntry.model_validate(rows[RegistryPart.CATEGORY][c]) for c in sorted(rows[RegistryPart.CATEGORY])
        ],
        policies=[SlaPolicy.model_validate(rows[RegistryPart.POLICY][p]) for p in sorted(rows[RegistryPart.POLICY])],
    )


async def read_rows(connection: asyncpg.Connection) -> Rows:
    """The registry in force (retired organisations and categories left out), rows as `rows_of` makes them."""
    rows = empty()
    for row in await connection.fetch("SELECT code, kind, name, name_en, parent, boundary FROM jurisdictions"):
        rows[RegistryPart.JURISDICTION][row["code"]] = _without_code(row)
    for row in await connection.fetch(
        "SELECT code, kind, name, name_en, jurisdiction, duties FROM organisations WHERE retired_at IS NULL"
    ):
        rows[RegistryPart.ORGANISATION][row["code"]] = _without_code(row)
    for row in await connection.fetch(
        "SELECT compound, community_committee, owners_committee, property_company FROM compound_parties"
    ):
        rows[RegistryPart.COUNCIL][row["compound"]] = {k: row[k] for k in row.keys() if k != "compound"}
    for row in await connection.fetch("SELECT code, community, name, name_en, employer FROM volunteers"):
        rows[RegistryPart.VOLUNTEER][row["code"]] = _without_code(row)
    for row in await connection.fetch("SELECT code, definition FROM categories WHERE retired_at IS NULL"):
        category = Category.model_validate(row["definition"])
        rows[RegistryPart.CATEGORY][row["code"]] = category.model_dump(mode="json", exclude={"routing"})
    for row in await connection.fetch(
        """SELECT r.category, r.district, r.lead, r.assist FROM category_routing r
             JOIN categories c ON c.code = r.category AND c.retired_at IS NULL"""
    ):
        rows[RegistryPart.ROUTING][routing_key(row["category"], row["district"])] = {
            **dict(row),
            "assist": list(row["assist"]),
        }
    for row in await connection.fetch("SELECT name, definition FROM sla_policies"):
        rows[RegistryPart.POLICY][row["name"]] = SlaPolicy.model_validate(row["definition"]).model_dump(mode="json")
    return rows


def _without_code(row: asyncpg.Record) -> Row:
    return {key: row[key] for key in row.keys() if key != "code"}
