"""Changing the registry: importing a city, an administrator's edits, retiring an organisation or a category.

Every change is planned against the registry in force (added, changed, unchanged), applied in one transaction
under the registry's lock, and recorded in `registry_changes` with who made it. An import only adds and
changes: what the registry holds beyond the file is kept, and the plan counts it. Running cases are not
touched: each keeps the context (council, routing, policy) it resolved when it started.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from activities.city_file import InvalidCity, Location, Problem, check, named
from activities.registry_rows import Row, Rows, city_of, read_rows, rows_of
from i18n.language import _
from i18n.names import name
from schemas.domain import Code, JurisdictionKind, OrgKind
from schemas.policy import SlaPolicy
from schemas.registry import (
    EDITABLE_KINDS,
    CategoryEdit,
    CategoryEntry,
    ChangeAction,
    ChangeVia,
    City,
    DepartmentEntry,
    DistrictEntry,
    DistrictRouting,
    NamedEntry,
    OrganisationEdit,
    RecordedChange,
    RegistryChange,
    RegistryPart,
    Routing,
)

_REGISTRY_LOCK = 0x5748_5247  # "WHRG": imports, edits and retirements one at a time
_DEPTH = {kind: depth for depth, kind in enumerate(JurisdictionKind)}  # parents are written before children
_WRITE_ORDER = (
    RegistryPart.JURISDICTION,
    RegistryPart.ORGANISATION,
    RegistryPart.CATEGORY,
    RegistryPart.POLICY,
    RegistryPart.COUNCIL,
    RegistryPart.VOLUNTEER,
    RegistryPart.ROUTING,
)
_UPSERT = {
    RegistryPart.JURISDICTION: """
        INSERT INTO jurisdictions (code, kind, name, name_en, parent, boundary) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (code) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, name_en = EXCLUDED.name_en,
            parent = EXCLUDED.parent, boundary = EXCLUDED.boundary""",
    RegistryPart.ORGANISATION: """
        INSERT INTO organisations (code, kind, name, name_en, jurisdiction, duties) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (code) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, name_en = EXCLUDED.name_en,
            jurisdiction = EXCLUDED.jurisdiction, duties = EXCLUDED.duties, retired_at = NULL""",
    RegistryPart.COUNCIL: """
        INSERT INTO compound_parties (compound, community_committee, owners_committee, property_company)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (compound) DO UPDATE SET community_committee = EXCLUDED.community_committee,
            owners_committee = EXCLUDED.owners_committee, property_company = EXCLUDED.property_company""",
    RegistryPart.VOLUNTEER: """
        INSERT INTO volunteers (code, community, name, name_en, employer) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (code) DO UPDATE SET community = EXCLUDED.community, name = EXCLUDED.name,
            name_en = EXCLUDED.name_en, employer = EXCLUDED.employer""",
    RegistryPart.CATEGORY: """
        INSERT INTO categories (code, definition) VALUES ($1, $2)
        ON CONFLICT (code) DO UPDATE SET definition = EXCLUDED.definition, retired_at = NULL""",
    RegistryPart.ROUTING: """
        INSERT INTO category_routing (category, district, lead, assist) VALUES ($1, $2, $3, $4)
        ON CONFLICT (category, district) DO UPDATE SET lead = EXCLUDED.lead, assist = EXCLUDED.assist""",
    RegistryPart.POLICY: """
        INSERT INTO sla_policies (name, definition) VALUES ($1, $2)
        ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()""",
}
_COLUMNS = {
    RegistryPart.JURISDICTION: ("kind", "name", "name_en", "parent", "boundary"),
    RegistryPart.ORGANISATION: ("kind", "name", "name_en", "jurisdiction", "duties"),
    RegistryPart.COUNCIL: ("community_committee", "owners_committee", "property_company"),
    RegistryPart.VOLUNTEER: ("community", "name", "name_en", "employer"),
    RegistryPart.ROUTING: ("lead", "assist"),
}


@dataclass(frozen=True)
class Actor:
    """Who changes the registry: an administrator's organisation and key, or the operator running an import."""

    name: str
    via: ChangeVia
    key_id: str | None = None


@dataclass
class Plan:
    """What applying a city changes: every addition and change, how many entries stay as they are, and how
    many the registry holds that the city does not list (kept)."""

    changes: list[RegistryChange] = field(default_factory=list)
    unchanged: int = 0
    kept: int = 0

    def count(self, action: ChangeAction) -> int:
        return sum(1 for change in self.changes if change.action is action)


class EditRefused(ValueError):
    """An administrator's edit that the registry cannot take; the message says why."""


class RetireRefused(ValueError):
    """Retiring what open cases (or the registry itself) still reference."""

    def __init__(self, message: str, cases: list[str], references: list[str]) -> None:
        super().__init__(message)
        self.cases = cases
        self.references = references


def compare(before: Rows, after: Rows) -> Plan:
    plan = Plan()
    for part in RegistryPart:
        old, new = before[part], after[part]
        for key, row in new.items():
            if key not in old:
                plan.changes.append(RegistryChange(part=part, key=key, action=ChangeAction.ADDED, after=row))
            elif old[key] != row:
                plan.changes.append(
                    RegistryChange(part=part, key=key, action=ChangeAction.CHANGED, before=old[key], after=row)
                )
            else:
                plan.unchanged += 1
        plan.kept += len(old.keys() - new.keys())
    return plan


def _refuse_problems(before: Rows, after: Rows) -> None:
    """Raise InvalidCity unless the registry the rows make, with what they do not list kept, is whole: every
    district routes every category in force to its own departments, codes are unique, and no code changes
    its kind."""
    problems = _conflicts(before, after)
    whole = city_of({part: {**before[part], **after[part]} for part in RegistryPart})
    where = Location(_("the registry as it would be"))
    problems += [Problem(named(whole, path), message, where) for path, message in check(whole)]
    if problems:
        raise InvalidCity(problems)


def _conflicts(before: Rows, after: Rows) -> list[Problem]:
    """Codes the city gives another kind than the registry has: a department cannot become a property company,
    nor a street a community (keys, councils and cases know them as what they are)."""
    problems = []
    for part in (RegistryPart.JURISDICTION, RegistryPart.ORGANISATION):
        for code, row in after[part].items():
            old = before[part].get(code)
            if old is not None and old["kind"] != row["kind"]:
                message = _("%(code)s is a %(old)s in the registry and cannot become a %(new)s") % {
                    "code": code,
                    "old": _kind_name(part, old["kind"]),
                    "new": _kind_name(part, row["kind"]),
                }
                problems.append(Problem((), message))
    return problems


def _kind_name(part: RegistryPart, kind: str) -> str:
    return name(JurisdictionKind(kind) if part is RegistryPart.JURISDICTION else OrgKind(kind))


async def _write(connection: asyncpg.Connection, changes: list[RegistryChange]) -> None:
    by_part: dict[RegistryPart, dict[str, Row]] = {}
    for change in changes:
        by_part.setdefault(change.part, {})[change.key] = change.after
    for part in _WRITE_ORDER:
        await upsert(connection, part, by_part.get(part, {}))


async def upsert(connection: asyncpg.Connection, part: RegistryPart, rows: dict[str, Row]) -> None:
    """Write rows of one part as they are (no check, no audit: `import_city` and `amend` do both)."""
    keys = list(rows)
    if part is RegistryPart.JURISDICTION:
        keys.sort(key=lambda key: _DEPTH[JurisdictionKind(rows[key]["kind"])])
    if keys:
        await connection.executemany(_UPSERT[part], [_arguments(part, key, rows[key]) for key in keys])


def _arguments(part: RegistryPart, key: str, row: Row) -> tuple:
    if part in (RegistryPart.CATEGORY, RegistryPart.POLICY):
        return key, row
    if part is RegistryPart.ROUTING:
        return row["category"], row["district"], row["lead"], row["assist"]
    return key, *(row[column] for column in _COLUMNS[part])


async def _record(connection: asyncpg.Connection, changes: list[RegistryChange], actor: Actor) -> None:
    await connection.executemany(
        """INSERT INTO registry_changes (actor, key_id, via, part, key, action, before, after)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        [(actor.name, actor.key_id, actor.via, c.part, c.key, c.action, c.before, c.after) for c in changes],
    )


async def _locked(connection: asyncpg.Connection) -> Rows:
    await connection.execute("SELECT pg_advisory_xact_lock($1)", _REGISTRY_LOCK)
    return await read_rows(connection)


async def import_city(connection: asyncpg.Connection, city: City, actor: Actor, *, dry_run: bool = False) -> Plan:
    """Add and change what the city lists, in one transaction (nothing when `dry_run`); the plan says what."""
    after = rows_of(city)
    async with connection.transaction():
        before = await _locked(connection)
        _refuse_problems(before, after)
        plan = compare(before, after)
        if not dry_run and plan.changes:
            await _write(connection, plan.changes)
            await _record(connection, plan.changes, actor)
    return plan


async def export_city(connection: asyncpg.Connection) -> City:
    return city_of(await read_rows(connection))


async def amend(connection: asyncpg.Connection, edit: Callable[[City], City], actor: Actor) -> list[RegistryChange]:
    """Apply an edit to the city in force: the edited city is checked whole, as an import would be."""
    async with connection.transaction():
        before = await _locked(connection)
        after = rows_of(edit(city_of(before)))
        _refuse_problems(before, after)
        changes = compare(before, after).changes
        await _write(connection, changes)
        await _record(connection, changes, actor)
    return changes


# ---- edits -------------------------------------------------------------------------------------------------------


def _district(city: City, code: Code) -> DistrictEntry:
    for district in city.districts:
        if district.code == code:
            return district
    raise EditRefused(_("unknown district %(code)s") % {"code": code})


def with_organisation(edit: OrganisationEdit) -> Callable[[City], City]:
    def apply(city: City) -> City:
        if edit.kind not in EDITABLE_KINDS:
            raise EditRefused(
                _("street offices and committees are named after their area: change the area by an import")
            )
        if edit.duties is not None and edit.kind is not OrgKind.DEPARTMENT:
            raise EditRefused(_("only departments have duties"))
        for district in city.districts:
            listed = {
                OrgKind.DISTRICT_CENTRE: [district.centre],
                OrgKind.DEPARTMENT: district.departments,
                OrgKind.PROPERTY_COMPANY: district.property_companies,
            }
            for kind, entries in listed.items():
                for entry in entries:
                    if entry.code != edit.code:
                        continue
                    if kind is not edit.kind or district.code != edit.district:
                        raise EditRefused(
                            _("%(code)s is a %(kind)s of district %(district)s; its kind and district stay")
                            % {"code": edit.code, "kind": name(kind), "district": district.code}
                        )
                    entry.name, entry.name_en = edit.name, edit.name_en
                    if isinstance(entry, DepartmentEntry):
                        entry.duties = edit.duties
                    return city
        district = _district(city, edit.district)
        if edit.kind is OrgKind.DISTRICT_CENTRE:
            raise EditRefused(
                _("district %(district)s has its command centre %(centre)s: change that one")
                % {"district": district.code, "centre": district.centre.code}
            )
        if edit.kind is OrgKind.DEPARTMENT:
            district.departments.append(
                DepartmentEntry(code=edit.code, name=edit.name, name_en=edit.name_en, duties=edit.duties)
            )
        else:
            district.property_companies.append(NamedEntry(code=edit.code, name=edit.name, name_en=edit.name_en))
        return city

    return apply


def with_category(edit: CategoryEdit) -> Callable[[City], City]:
    def apply(city: City) -> City:
        entry = CategoryEntry.model_validate(edit.model_dump(exclude={"routing"}))
        city.categories = [c for c in city.categories if c.code != entry.code] + [entry]
        for district_code, routing in edit.routing.items():
            _district(city, district_code).routing[entry.code] = routing
        return city

    return apply


def with_routing(edit: DistrictRouting) -> Callable[[City], City]:
    def apply(city: City) -> City:
        _district(city, edit.district).routing[edit.category] = Routing(lead=edit.lead, assist=edit.assist)
        return city

    return apply


def with_policy(policy: SlaPolicy) -> Callable[[City], City]:
    def apply(city: City) -> City:
        city.policies = [p for p in city.policies if p.name != policy.name] + [policy]
        return city

    return apply


# ---- retiring --------------------------------------------------------------------------------------------------

_RETIRABLE = (OrgKind.DEPARTMENT, OrgKind.PROPERTY_COMPANY)

# An open case references an organisation that owns its level, sits on its council, or has a task in it.
_OPEN_CASES_OF_ORGANISATION = """
SELECT c.case_id FROM cases c
 WHERE c.status <> 'CLOSED'
   AND (c.owner = $1
        OR EXISTS (SELECT 1 FROM department_tasks t WHERE t.case_id = c.case_id AND t.department = $1)
        OR EXISTS (SELECT 1 FROM case_views v, json_each_text(v.view->'council') AS party
                    WHERE v.case_id = c.case_id AND party.value = $1))
 ORDER BY c.case_id
"""
_OPEN_CASES_OF_CATEGORY = "SELECT case_id FROM cases WHERE status <> 'CLOSED' AND category = $1 ORDER BY case_id"


async def retire(connection: asyncpg.Connection, part: RegistryPart, code: Code, actor: Actor) -> RegistryChange:
    """Retire a department, property company or category nothing open references any more: new cases cannot use
    it, and a retired organisation's keys are revoked. Its name stays for the timelines of old cases."""
    async with connection.transaction():
        rows = await _locked(connection)
        before = rows[part].get(code) if part in (RegistryPart.ORGANISATION, RegistryPart.CATEGORY) else None
        if before is None:
            raise EditRefused(_("nothing in force to retire under %(code)s") % {"code": code})
        if part is RegistryPart.ORGANISATION:
            if OrgKind(before["kind"]) not in _RETIRABLE:
                raise EditRefused(
                    _("only departments and property companies are retired; %(code)s is a %(kind)s")
                    % {"code": code, "kind": name(OrgKind(before["kind"]))}
                )
            cases = [row["case_id"] for row in await connection.fetch(_OPEN_CASES_OF_ORGANISATION, code)]
            references = _organisation_references(rows, code)
        else:
            cases = [row["case_id"] for row in await connection.fetch(_OPEN_CASES_OF_CATEGORY, code)]
            references = []
        if cases or references:
            raise RetireRefused(_refusal(code, cases, references), cases, references)
        table = "organisations" if part is RegistryPart.ORGANISATION else "categories"
        await connection.execute(f"UPDATE {table} SET retired_at = now() WHERE code = $1", code)
        if part is RegistryPart.ORGANISATION:
            await connection.execute(
                "UPDATE api_keys SET revoked_at = now() WHERE org = $1 AND revoked_at IS NULL", code
            )
        change = RegistryChange(part=part, key=code, action=ChangeAction.RETIRED, before=before)
        await _record(connection, [change], actor)
    return change


def _organisation_references(rows: Rows, code: Code) -> list[str]:
    """Where the registry itself still names the organisation: categories' routing, compounds' councils."""
    found = []
    for row in rows[RegistryPart.ROUTING].values():
        if code == row["lead"] or code in row["assist"]:
            found.append(
                _("routing of %(category)s in %(district)s")
                % {"category": row["category"], "district": row["district"]}
            )
    for compound, council in rows[RegistryPart.COUNCIL].items():
        if code in council.values():
            found.append(_("council of compound %(compound)s") % {"compound": compound})
    return found


def _refusal(code: Code, cases: list[str], references: list[str]) -> str:
    parts = []
    if cases:
        parts.append(_("open cases reference it: %(cases)s") % {"cases": ", ".join(cases)})
    if references:
        parts.append(_("the registry still names it: %(references)s") % {"references": "; ".join(references)})
    return _("%(code)s cannot be retired: %(reasons)s") % {"code": code, "reasons": "; ".join(parts)}


async def changes(
    connection: asyncpg.Connection, *, part: RegistryPart | None = None, key: str | None = None, limit: int = 100
) -> list[RecordedChange]:
    """The audit, newest first."""
    rows = await connection.fetch(
        """SELECT * FROM registry_changes
            WHERE ($1::text IS NULL OR part = $1) AND ($2::text IS NULL OR key = $2)
            ORDER BY id DESC LIMIT $3""",
        part,
        key,
        limit,
    )
    return [RecordedChange(**dict(row)) for row in rows]
