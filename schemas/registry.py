"""Jurisdictions, organisations and the category catalogue, the context a case resolves at start, and the city
file an administrator imports and exports (`whistle registry import|export`)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.calendar import WorkCalendar
from schemas.domain import Code, JurisdictionKind, Name, OrgKind, PartyRole, Severity
from schemas.policy import SlaPolicy


class Jurisdiction(BaseModel):
    code: Code
    kind: JurisdictionKind
    name: Name  # Chinese
    name_en: Name | None = None
    parent: Code | None = None


class Organisation(BaseModel):
    code: Code
    kind: OrgKind
    name: Name  # Chinese
    name_en: Name | None = None
    jurisdiction: Code
    duties: str | None = None


class Volunteer(BaseModel):
    """An in-service party member registered with a community (双报到) who takes residents' orders."""

    code: Code
    community: Code
    name: Name
    name_en: Name | None = None
    employer: str | None = None
    points: int = 0


def council_owner(council: dict[PartyRole, Code]) -> Code:
    """Who answers for the council level: the property company, else (无物业) the community standing in."""
    return council.get(PartyRole.PROPERTY_COMPANY) or council[PartyRole.COMMUNITY_COMMITTEE]


class CompoundParties(BaseModel):
    """Who sits on a compound's council: the community committee always; the owners' committee and the property
    company where the compound has them (an old 三无 compound may have neither)."""

    compound: Code
    community_committee: Code
    owners_committee: Code | None = None
    property_company: Code | None = None


class Routing(BaseModel):
    """The departments a category summons at DISTRICT by default: one lead (主办), assistants (协办)."""

    model_config = ConfigDict(frozen=True)

    lead: Code
    assist: list[Code] = Field(default_factory=list, max_length=8)


class CategoryEntry(BaseModel):
    """A kind of issue in the city's catalogue, the same in every district."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    name: Name
    name_en: Name
    default_severity: Severity
    needs_arrival: bool
    anonymous_allowed: bool = True
    deduplicate: bool = True
    keywords: list[str] = Field(default_factory=list)


class Category(CategoryEntry):
    """A category as one district handles it: with the departments it summons there."""

    model_config = ConfigDict(extra="ignore")

    routing: Routing | None = None  # None: read for no district in particular


class CaseContext(BaseModel):
    """Everything a case needs from the registry, resolved once by the first activity and kept."""

    model_config = ConfigDict(frozen=True)

    district: Code
    street: Code
    community: Code
    compound: Code
    council: dict[PartyRole, Code]
    community_org: Code
    street_org: Code
    district_org: Code  # district command centre: owns DISTRICT, supervises
    departments: list[Code]  # the district's member units that can be summoned
    category: Category
    policy: SlaPolicy
    calendar: WorkCalendar | None = None  # the city's; None in cases started before calendars
    calendars: dict[Code, WorkCalendar] = Field(default_factory=dict)  # organisations that name their own

    def calendar_of(self, org: Code) -> WorkCalendar:
        """The calendar `org` counts working time by: its own, else the city's, else the plain working week."""
        return self.calendars.get(org) or self.calendar or WorkCalendar()

    @model_validator(mode="after")
    def routed(self):
        if self.category.routing is None:
            raise ValueError(f"category {self.category.code} has no routing in district {self.district}")
        return self

    @property
    def council_owner(self) -> Code:
        return council_owner(self.council)


class ContextRequest(BaseModel):
    compound: Code
    category: Code
    policy: Code = "default"


class VolunteerCredit(BaseModel):
    case_id: str
    volunteer: Code
    points: int


# ---- the city file ------------------------------------------------------------------------------------------


class NamedEntry(BaseModel):
    """A thing the city file names: its code, its Chinese name and its English name."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name  # Chinese
    name_en: Name | None = None


class DepartmentEntry(NamedEntry):
    """A district department (成员单位) that reports for duty when summoned."""

    duties: str | None = None


class VolunteerEntry(NamedEntry):
    employer: str | None = None


class CompoundEntry(NamedEntry):
    """A compound and its council: the community committee, the owners' committee unless `owners_committee` is
    false, and `property_company` unless it is absent (无物业: the community stands in at the council level).
    A community's service company that manages old compounds is listed as a property company."""

    property_company: Code | None = None
    owners_committee: bool = True  # its code is OC-<compound>
    boundary: dict[str, Any] | None = None  # GeoJSON geometry


class CommunityEntry(NamedEntry):
    compounds: list[CompoundEntry] = Field(default_factory=list)
    volunteers: list[VolunteerEntry] = Field(default_factory=list)


class StreetEntry(NamedEntry):
    communities: list[CommunityEntry] = Field(default_factory=list)


class DistrictEntry(NamedEntry):
    centre: NamedEntry  # the district command centre: owns DISTRICT, supervises (督办)
    departments: list[DepartmentEntry] = Field(default_factory=list)
    property_companies: list[NamedEntry] = Field(default_factory=list)
    routing: dict[Code, Routing] = Field(default_factory=dict)  # category code -> departments of this district
    streets: list[StreetEntry] = Field(default_factory=list)


class City(BaseModel):
    """A city's whole registry, as `whistle registry import` reads it and `export` writes it. Street offices,
    community committees and owners' committees are not listed: each area has one, named after it."""

    model_config = ConfigDict(extra="forbid")

    districts: list[DistrictEntry] = Field(min_length=1)
    categories: list[CategoryEntry] = Field(default_factory=list)
    policies: list[SlaPolicy] = Field(default_factory=list)


def owners_committee_code(compound: Code) -> str:
    return f"OC-{compound}"


# ---- edits and their audit ------------------------------------------------------------------------------------

EDITABLE_KINDS = (OrgKind.DEPARTMENT, OrgKind.PROPERTY_COMPANY, OrgKind.DISTRICT_CENTRE)
"""The organisations a district lists by name; the offices and committees of areas follow their area."""


class OrganisationEdit(BaseModel):
    """Add a department, property company or command centre to a district, or change its names or duties."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    kind: OrgKind
    district: Code
    name: Name
    name_en: Name | None = None
    duties: str | None = None  # departments only


class CategoryEdit(CategoryEntry):
    """Add or change a category; a new one says whom it summons in every district."""

    routing: dict[Code, Routing] = Field(default_factory=dict)  # district -> its departments


class DistrictRouting(Routing):
    """The departments a category summons in one district."""

    category: Code
    district: Code


class RegistryPart(StrEnum):
    """The parts of the registry an import compares and the audit records, each keyed by a code."""

    JURISDICTION = "JURISDICTION"
    ORGANISATION = "ORGANISATION"
    COUNCIL = "COUNCIL"
    VOLUNTEER = "VOLUNTEER"
    CATEGORY = "CATEGORY"
    ROUTING = "ROUTING"  # keyed <category>@<district>
    POLICY = "POLICY"


class ChangeAction(StrEnum):
    ADDED = "ADDED"
    CHANGED = "CHANGED"
    RETIRED = "RETIRED"


class ChangeVia(StrEnum):
    IMPORT = "IMPORT"
    API = "API"


class RegistryChange(BaseModel):
    part: RegistryPart
    key: str
    action: ChangeAction
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class RecordedChange(RegistryChange):
    """A change as the audit keeps it: when, by whom, through the import or the API."""

    id: int
    at: datetime
    actor: str  # the organisation whose key made it, or the operator who ran the import
    key_id: str | None = None
    via: ChangeVia
