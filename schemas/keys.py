"""API keys: which organisation a bearer key speaks for, in which role, and what each role may do."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from schemas.domain import Channel, OrgKind


class Role(StrEnum):
    COUNCIL = "COUNCIL"  # a party of a compound's three-party council (property company, owners' committee …)
    COMMUNITY = "COMMUNITY"  # a community (residents') committee
    STREET = "STREET"  # a street office
    DEPARTMENT = "DEPARTMENT"  # a district department (成员单位)
    SUPERVISOR = "SUPERVISOR"  # the district command centre: owns DISTRICT, supervises (督办)
    INTAKE = "INTAKE"  # hotline, grid patrol, one-stop window or an Open311 client reporting for residents
    ADMIN = "ADMIN"  # keeps the city's registry: organisations, categories, routing, SLA policies


class Right(StrEnum):
    REPORT = "REPORT"  # report cases on behalf of residents
    HANDLE = "HANDLE"  # act on cases at one's level: accept, arrive, note, plan, resolve, whistle, extensions
    SIGNOFF = "SIGNOFF"  # sign off a council resolution
    DISPATCH = "DISPATCH"  # hand a case to a volunteer (社区派单)
    REROUTE = "REROUTE"  # send a returned case to other departments
    TASKS = "TASKS"  # work on one's own department tasks
    SUPERVISE = "SUPERVISE"  # list and view every case of the district, supervise, decide extensions
    ADMINISTER = "ADMINISTER"  # edit and retire what the registry holds; read its audit
    PERSONAL_DATA = "PERSONAL_DATA"  # read residents' names and phones: decrypt Temporal histories (codec server)


RIGHTS: dict[Role, frozenset[Right]] = {
    Role.COUNCIL: frozenset({Right.HANDLE, Right.SIGNOFF}),
    Role.COMMUNITY: frozenset({Right.HANDLE, Right.SIGNOFF, Right.DISPATCH}),  # also sits on every council
    Role.STREET: frozenset({Right.HANDLE, Right.REROUTE}),
    Role.DEPARTMENT: frozenset({Right.TASKS}),
    Role.SUPERVISOR: frozenset({Right.HANDLE, Right.SUPERVISE, Right.PERSONAL_DATA}),
    Role.INTAKE: frozenset({Right.REPORT}),
    Role.ADMIN: frozenset({Right.ADMINISTER}),
}

ORG_KINDS: dict[Role, frozenset[OrgKind]] = {
    Role.COUNCIL: frozenset({OrgKind.PROPERTY_COMPANY, OrgKind.OWNERS_COMMITTEE, OrgKind.COMMUNITY_COMMITTEE}),
    Role.COMMUNITY: frozenset({OrgKind.COMMUNITY_COMMITTEE}),
    Role.STREET: frozenset({OrgKind.STREET_OFFICE}),
    Role.DEPARTMENT: frozenset({OrgKind.DEPARTMENT}),
    Role.SUPERVISOR: frozenset({OrgKind.DISTRICT_CENTRE}),
    Role.ADMIN: frozenset({OrgKind.DISTRICT_CENTRE}),  # the registry is kept by a command centre's staff
}
"""The organisation kinds a role's key may be issued to; intake keys name their desk freely."""


class ApiKeyInfo(BaseModel):
    """A key as listed: never the secret."""

    key_id: str
    org: str
    role: Role
    channel: Channel | None = None
    label: str | None = None
    created_at: datetime
    revoked_at: datetime | None = None


class IssuedKey(BaseModel):
    """A new key: `key` is shown this once and stored only as a hash."""

    key: str
    info: ApiKeyInfo
